"""Feast definitions and an applied Feast store, all under the tmp ``settings``."""

import pytest
from feast import FeatureStore

from ml_platform.lib.feature_store.definitions import FeatureRepo
from ml_platform.lib.feature_store.store import feature_repo, feature_store
from ml_platform.settings import Settings


@pytest.fixture
def repo(settings: Settings) -> FeatureRepo:
    """The Feast definitions reading the exports under ``settings.feast_dir``."""
    return feature_repo(settings)


@pytest.fixture
def store(settings: Settings, repo: FeatureRepo) -> FeatureStore:
    """A Feast store under ``settings.feast_dir`` with the definitions applied."""
    fs = feature_store(settings)
    fs.apply(repo.objects())
    return fs
