"""ML_PLATFORM_FEAST_ONLINE_STORE: SQLite by default, Redis by URL, credentials from the env."""

import dataclasses
import secrets

import pytest
from feast.infra.online_stores.redis import RedisOnlineStoreConfig

from ml_platform.lib.feature_store.online_store import PlatformSqliteOnlineStoreConfig
from ml_platform.lib.feature_store.store import (
    online_store_config,
    online_store_location,
    repo_config,
)
from ml_platform.settings import Settings


def test_sqlite_is_the_default(settings: Settings) -> None:
    config = repo_config(settings).online_store
    assert isinstance(config, PlatformSqliteOnlineStoreConfig)  # the project's SQLite store
    assert online_store_location(settings) == f"{settings.feast_dir}/online_store.db"


@pytest.mark.parametrize(
    ("url", "connection_string"),
    [
        ("redis://cache.internal", "cache.internal:6379"),
        ("redis://cache.internal:6380/2", "cache.internal:6380,db=2"),
        (
            "rediss://feast@cache.internal:6380/0",
            "cache.internal:6380,db=0,username=feast,ssl=true",
        ),
    ],
)
def test_a_redis_url_selects_redis(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, url: str, connection_string: str
) -> None:
    monkeypatch.delenv("ML_PLATFORM_FEAST_REDIS_PASSWORD", raising=False)
    settings = dataclasses.replace(settings, feast_online_store=url)
    config = online_store_config(settings)
    assert isinstance(config, RedisOnlineStoreConfig)
    assert config.connection_string == connection_string
    assert config.skip_dedup  # materialize_latest compares timestamps itself (>=)
    assert online_store_location(settings) == url


def test_the_redis_password_comes_from_the_environment_only(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_value = secrets.token_hex(8)  # made up at run time: no credential in the repository
    monkeypatch.setenv("ML_PLATFORM_FEAST_REDIS_PASSWORD", secret_value)
    settings = dataclasses.replace(settings, feast_online_store="redis://cache.internal:6379")
    assert online_store_config(settings).connection_string.endswith(f",password={secret_value}")
    assert secret_value not in online_store_location(settings)

    inline = f"redis://:{secrets.token_hex(4)}@cache.internal"
    with pytest.raises(ValueError, match="must not contain a password"):
        online_store_config(dataclasses.replace(settings, feast_online_store=inline))
    monkeypatch.setenv("ML_PLATFORM_FEAST_REDIS_PASSWORD", "a,b")
    with pytest.raises(ValueError, match="comma"):
        online_store_config(settings)


@pytest.mark.parametrize("value", ["postgres://db", "redis://", "dynamodb", ""])
def test_an_unknown_online_store_is_refused(settings: Settings, value: str) -> None:
    with pytest.raises(ValueError, match="ML_PLATFORM_FEAST_ONLINE_STORE"):
        online_store_config(dataclasses.replace(settings, feast_online_store=value))


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_PLATFORM_FEAST_ONLINE_STORE", "redis://cache.internal:6379/1")
    assert Settings.from_env().feast_online_store == "redis://cache.internal:6379/1"
    monkeypatch.delenv("ML_PLATFORM_FEAST_ONLINE_STORE")
    assert Settings.from_env().feast_online_store == "sqlite"
