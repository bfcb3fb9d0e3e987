"""hoi-dap-cds: cited answers to Vietnamese digital-transformation policy questions.

One folder per stage — ingest → embedders → store → search → answerers — and `pipeline.py`,
the only place where they meet; `app/` (CLI, uploads) and `ui/` call the pipeline. See
docs/architecture.md.
"""

__version__ = "0.1.0"
