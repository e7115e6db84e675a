"""The shared tiny world the warehouse tests query."""

import pytest

from ml_platform_tests.warehouse_world import World, warehouse_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The pipeline run once over a tiny simulated world, warehouse included."""
    return warehouse_world(tmp_path_factory)
