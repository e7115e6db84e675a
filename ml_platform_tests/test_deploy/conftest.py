"""Production deployment files under ``deploy/production`` and the servers they point at."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.local_servers import Postgres, postgres_server

PRODUCTION = PROJECT_ROOT / "deploy" / "production"


@pytest.fixture(scope="session")
def production_dir() -> Path:
    """``deploy/production`` in the checkout (read only)."""
    return PRODUCTION


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL on 127.0.0.1 for this module, password required over TCP."""
    with postgres_server() as server:
        yield server
