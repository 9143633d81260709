"""Specific-identity verification (SPEC §3): features, predictor, registry, workflow services."""
