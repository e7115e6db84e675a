"""Reliability matrix (issue 8): bad landing names, faults, concurrency, hostile input, security.

One module per theme; every test is marked ``reliability`` and works under ``tmp_path`` only.
"""
