"""Serving configuration from ML_PLATFORM_SERVING_* variables."""

import pytest

from ml_platform.serving.config import ServingConfig
from ml_platform.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.under(tmp_path)


def test_defaults_bind_loopback_with_shadow_and_logging_on(settings: Settings) -> None:
    config = ServingConfig.from_env({}, settings)
    assert (config.host, config.port) == ("127.0.0.1", 8000)
    assert config.shadow is True and config.log_requests is True
    assert config.model_poll_seconds == 30.0
    assert (config.log_batch_rows, config.log_flush_seconds) == (500, 5.0)
    assert config.max_batch_transactions == 1000
    assert config.settings is settings


def test_every_field_is_read_from_its_variable(settings: Settings) -> None:
    env = {
        "ML_PLATFORM_SERVING_HOST": "0.0.0.0",
        "ML_PLATFORM_SERVING_PORT": "9123",
        "ML_PLATFORM_SERVING_MODEL_POLL_SECONDS": "2.5",
        "ML_PLATFORM_SERVING_SHADOW": "off",
        "ML_PLATFORM_SERVING_LOG_BATCH_ROWS": "10",
        "ML_PLATFORM_SERVING_LOG_FLUSH_SECONDS": "0.5",
        "ML_PLATFORM_SERVING_LOG_QUEUE_ROWS": "99",
        "ML_PLATFORM_SERVING_LOG_REQUESTS": "FALSE",
        "ML_PLATFORM_SERVING_MAX_BATCH_TRANSACTIONS": "250",
        "ML_PLATFORM_SERVING_UNRELATED": "ignored",
    }
    config = ServingConfig.from_env(env, settings)
    assert config.host == "0.0.0.0" and config.port == 9123
    assert config.model_poll_seconds == 2.5
    assert config.shadow is False and config.log_requests is False
    assert (config.log_batch_rows, config.log_flush_seconds, config.log_queue_rows) == (10, 0.5, 99)
    assert config.max_batch_transactions == 250


def test_blank_values_keep_the_default(settings: Settings) -> None:
    config = ServingConfig.from_env({"ML_PLATFORM_SERVING_PORT": "  "}, settings)
    assert config.port == 8000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "ML_PLATFORM_SERVING_PORT='eighty': expected int"),
        ("PORT", "70000", "ML_PLATFORM_SERVING_PORT=70000"),
        ("SHADOW", "maybe", "ML_PLATFORM_SERVING_SHADOW='maybe': expected true/false"),
        ("MODEL_POLL_SECONDS", "0", "ML_PLATFORM_SERVING_MODEL_POLL_SECONDS must be > 0"),
        ("LOG_BATCH_ROWS", "-1", "ML_PLATFORM_SERVING_LOG_BATCH_ROWS must be > 0"),
        ("MAX_BATCH_TRANSACTIONS", "0", "ML_PLATFORM_SERVING_MAX_BATCH_TRANSACTIONS must be > 0"),
        ("MAX_BATCH_TRANSACTIONS", "1e3", "MAX_BATCH_TRANSACTIONS='1e3': expected int"),
    ],
)
def test_a_bad_value_names_its_variable(
    settings: Settings, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ServingConfig.from_env({f"ML_PLATFORM_SERVING_{name}": value}, settings)
