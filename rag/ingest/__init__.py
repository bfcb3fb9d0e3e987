"""Files → Document → Chunk: readers per format, cleaning, legal headers, chunking, dedup."""
