"""Scoring a question set against the pipeline, and the score history."""
