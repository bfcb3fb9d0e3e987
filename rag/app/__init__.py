"""Front ends over rag.pipeline: command line, UI launcher, uploads, feedback, LangChain adapter."""
