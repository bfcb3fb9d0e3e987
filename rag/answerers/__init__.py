"""Answerers turn retrieved passages into a cited answer (see base.py)."""
