"""hoi-dap-cds: cited answers to Vietnamese digital-transformation policy questions.

Pipeline, one module per stage: ingest → clean → chunking → embedders → index → retrieve →
answerers → pipeline (where the stages meet) → cli.
"""

__version__ = "0.1.0"
