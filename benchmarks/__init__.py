"""Benchmarks of the platform's hot paths against baselines measured in the same run.

Entry point: ``python -m benchmarks.run`` (``BENCH_SCALE=small|medium|large``); see
BENCHMARKS.md for the figures and the design choices behind them.
"""
