"""Baselines: what the project's hot paths are compared with, implemented independently.

None of these import the project's computation code: each is the straightforward way to get
the same result with another tool (DuckDB SQL, pandas, bare Polars + deltalake, sqlite3), so
the comparison says what the project's design buys. Equivalence with the project's values is
asserted by the benchmark on every run (``benchmarks.compare``).
"""
