"""A worker for the parallel-first-use test, in its own light module.

``spawn`` children import the module of the function they run: keeping it out of the test
module spares each child the test package's conftest (Dagster, the simulator).
"""


def configure_experiment(uri: str, artifacts: str) -> str:
    """Configure the store in a fresh process; return the experiment id."""
    from ml_platform.lib.training.tracking import configure

    return configure(uri, artifacts).experiment_id
