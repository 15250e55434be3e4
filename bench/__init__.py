"""Benchmarks (not tests): `python -m bench [NAME ...] [--quick]`; results in bench/results/."""
