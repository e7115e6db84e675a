"""No credentials in the repository's configuration; every server binds loopback by default."""

import re
import subprocess
from pathlib import Path

import pytest

from ml_platform.settings import PROJECT_ROOT

pytestmark = pytest.mark.reliability

CONFIG_SUFFIXES = {".yaml", ".yml", ".toml", ".ini", ".cfg", ".json", ".env", ".conf"}
CONFIG_NAMES = {"Makefile", "Dockerfile", ".env", ".dockerignore", "docker-compose.yml"}
# A value that only names where the secret comes from is not a secret.
_INDIRECT = r"(\$\{[^}]*\}|\$\([^)]*\)|\{\{[^}]*\}\}|\$[A-Z_][A-Z0-9_]*|<[^>]+>)"
SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(
        r"(?i)aws_secret_access_key\s*[:=]\s*[\"']?(?!" + _INDIRECT + r")[A-Za-z0-9/+]{20,}"
    ),
    "password in a URI": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:(?!" + _INDIRECT + r")[^@\s/\"']+@"
    ),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}


def config_files(root: Path) -> list[Path]:
    """Tracked and untracked (not ignored) configuration files of the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    paths = [root / name for name in listed]
    return sorted(
        path
        for path in paths
        if path.is_file()
        and (
            path.suffix in CONFIG_SUFFIXES
            or path.name in CONFIG_NAMES
            or path.name.startswith((".env", "Dockerfile"))
        )
    )


ASSIGNMENT = re.compile(
    r"(?i)(?P<key>[\w.-]*(password|passwd|secret|api[_-]?key|access[_-]?key|token)[\w.-]*)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<value>[^\s\"',}]+)"
)
# Keys that name where a secret lives (a variable, a Kubernetes Secret, a file), not the secret.
REFERENCE_KEY = re.compile(r"(?i)(env|var|variable|name|ref|file|path|key_id)$")
KUBERNETES_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")  # e.g. dagster-postgresql-secret
INDIRECT_VALUE = re.compile(r"^(\$\{|\$\(|\{\{|\$[A-Z_]|<|[A-Z][A-Z0-9_]*$)")
PLAIN_WORDS = {"true", "false", "null", "none", "required", "optional"}


def credentials_in(text: str) -> list[str]:
    """``kind: line`` for every line that looks like it holds a credential."""
    found = []
    for line in text.splitlines():
        for kind, pattern in SECRET_PATTERNS.items():
            if pattern.search(line):
                found.append(f"{kind}: {line.strip()[:120]}")
        for match in ASSIGNMENT.finditer(line):
            key, value = match.group("key"), match.group("value")
            if (
                len(value) >= 8
                and not REFERENCE_KEY.search(key)
                and not (key.lower().endswith("secret") and KUBERNETES_NAME.match(value))
                and not INDIRECT_VALUE.match(value)
                and value.lower() not in PLAIN_WORDS
            ):
                found.append(f"credential assignment: {line.strip()[:120]}")
    return found


@pytest.mark.parametrize(
    "line",
    [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "uri: postgresql://mlflow:hunter2secret@db:5432/mlflow",
        'export MLFLOW_TRACKING_URI="http://admin:s3cr3t@mlflow:5000"',
        "password: correct-horse-battery",
        'API_KEY="abcd1234efgh5678"',
        "github_token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        "-----BEGIN RSA PRIVATE KEY-----",
        "client_secret: Xy9fAbC1dE2fG3hJ",
    ],
)
def test_the_scanner_finds_credentials(line: str) -> None:
    assert credentials_in(line)


@pytest.mark.parametrize(
    "line",
    [
        "password: ${ML_PLATFORM_PG_PASSWORD}",
        "uri: postgresql://mlflow@db:5432/mlflow",
        "url: redis://redis:6379/0",
        "token: {{ .Values.token }}",
        "secretKeyRef:",
        "- name: PGPASSWORD",
        "password_env: PGPASSWORD",
        "postgres_password_secret: dagster-postgresql-secret",
        "postgresqlSecretName: dagster-postgresql-secret",
        "PASSWORD=${DB_PASSWORD}",
        "HOST ?= 127.0.0.1",
    ],
)
def test_the_scanner_ignores_references_to_secrets(line: str) -> None:
    assert credentials_in(line) == []


def test_no_credentials_in_configuration_files() -> None:
    files = config_files(PROJECT_ROOT)
    assert any(path.name == "pyproject.toml" for path in files)
    assert any(path.name == "Makefile" for path in files)
    found = {
        str(path.relative_to(PROJECT_ROOT)): hits
        for path in files
        if (hits := credentials_in(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert found == {}


def _make_recipe(target: str) -> str:
    """The recipe lines of a Makefile target, as written (variables not expanded)."""
    lines = (PROJECT_ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return "\n".join(recipe)


def _make_variable(name: str) -> str:
    text = (PROJECT_ROOT / "Makefile").read_text()
    match = re.search(rf"^{name}\s*\??=\s*(\S+)\s*$", text, re.MULTILINE)
    assert match, f"{name} has no default in the Makefile"
    return match.group(1)


SERVER_COMMAND = re.compile(
    r"(dagster(-webserver)? dev|dagster-webserver|mlflow (ui|server)|feast\b.*\bserve"
    r"|uvicorn|gunicorn|ml-platform serve|http\.server)"
)


def _server_targets() -> list[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE)
    return [t for t in targets if SERVER_COMMAND.search(_make_recipe(t))]


def test_every_server_the_makefile_starts_binds_loopback_by_default() -> None:
    targets = _server_targets()
    assert {"dev", "mlflow", "serve"} <= set(targets)
    for target in targets:
        recipe = _make_recipe(target)
        assert "0.0.0.0" not in recipe, target
        host = re.search(r"(?:-h|--host)[ =](\S+)", recipe)
        if host is None:
            assert target == "serve", f"make {target} starts a server without --host"
            continue
        value = host.group(1)
        if value.startswith("$("):
            value = _make_variable(value[2:-1])
        assert value == "127.0.0.1", f"make {target} binds {value}"


def test_the_scoring_service_binds_loopback_by_default() -> None:
    """``make serve`` passes no host: the service's own default decides."""
    from ml_platform.serving.config import ServingConfig

    assert ServingConfig.from_env(environ={}).host == "127.0.0.1"
