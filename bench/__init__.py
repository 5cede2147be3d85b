"""Benchmarks and quality evaluations, run from a checkout: `python -m bench.<name>`."""
