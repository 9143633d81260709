"""Baselines the benchmarks compare our code against (never deployed)."""
