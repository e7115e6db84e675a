"""Feast's registry in a real PostgreSQL: shared by processes that share no folder."""

from pathlib import Path

import pytest

from ml_platform.lib.feature_store.store import (
    REGISTRY_FILE,
    apply_if_changed,
    feature_repo,
    feature_store,
    registry_url,
)
from ml_platform.settings import Settings
from ml_platform_tests.local_servers import Postgres


def test_two_hosts_share_one_registry_in_postgres(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.create_database("feast")
    monkeypatch.setenv("PGPASSWORD", postgres.password)  # not in the URL: the UI shows it
    url = postgres.sqlalchemy_uri("feast").replace("postgresql://", "postgresql+psycopg://", 1)
    first = Settings.under(tmp_path / "pod-a", feast_registry=url)
    second = Settings.under(tmp_path / "pod-b", feast_registry=url)

    repo = feature_repo(first)
    applied = apply_if_changed(feature_store(first), repo)
    assert {t.view_name for t in repo.tables} <= set(applied)
    assert not (Path(first.feast_dir) / REGISTRY_FILE).exists()

    # Another "pod", with a folder of its own, sees every object the first one applied.
    other = feature_store(second)
    assert {v.name for v in other.list_feature_views()} == {t.view_name for t in repo.tables}
    assert other.get_feature_service("fraud_detection").name == "fraud_detection"
    with postgres.connect("feast") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM feature_views")
        assert cursor.fetchone() == (len(repo.tables),)
    # Applying the same definitions again changes nothing.
    assert apply_if_changed(feature_store(first), feature_repo(first)) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"postgresql+psycopg://feast:{'x' * 12}@db:5432/feast", "password"),
        ("registry.db", "database URL"),
        ("sqlite", None),
    ],
)
def test_registry_setting_is_checked(tmp_path: Path, value: str, message: str | None) -> None:
    settings = Settings.under(tmp_path, feast_registry=value)
    if message is None:
        assert registry_url(settings) == f"sqlite:///{tmp_path.absolute()}/feast/{REGISTRY_FILE}"
        return
    with pytest.raises(ValueError, match=message):
        registry_url(settings)
