"""Emitters: formula IR -> source text, one module per output language."""
