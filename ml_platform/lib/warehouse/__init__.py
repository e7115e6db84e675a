"""The analysts' DuckDB warehouse: catalog, build, atomic publication, and the SQL prompt."""
