"""Adaptive verification (SPEC §4)."""
