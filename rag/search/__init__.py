"""Query stage: question analysis, follow-up resolution, hybrid retrieval."""
