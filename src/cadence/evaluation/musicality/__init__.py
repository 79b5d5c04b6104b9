"""Musicality benchmark: interpretable features of generated music against real music, by
distribution overlap and a classifier two-sample test (docs/musicality.md)."""
