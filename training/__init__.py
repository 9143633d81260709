"""Training pipeline of the identity prediction models (SPEC §3): ``python -m training --seed 7``."""
