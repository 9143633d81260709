"""Benchmarks (not tests): each prints its figures and a ratio to a baseline measured in the same run.

Convention: every ``bench/bench_*.py`` module has ``main() -> None``; ``python -m bench`` runs them
all, ``python -m bench NAME`` (e.g. ``cold_start``) runs one.
"""
