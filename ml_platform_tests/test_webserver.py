"""The real dagster-webserver loads the code location and exposes the whole graph."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ml_platform.settings import PROJECT_ROOT
from ml_platform_tests.test_definitions import (
    EXPECTED_ASSETS,
    EXPECTED_CHECKS,
    EXPECTED_JOBS,
    EXPECTED_SCHEDULES,
    EXPECTED_SENSORS,
)

pytestmark = pytest.mark.e2e

QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              assetNodes {
                assetKey { path } groupName description kinds
                owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
              }
              jobs { name description }
              sensors { name description }
              schedules { name description cronSchedule }
            }
          }
        }
      }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_webserver_serves_every_asset_check_job_sensor_and_schedule(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "webserver.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "ML_PLATFORM_DATA_DIR": str(tmp_path / "data"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),  # a file, not a pipe: a full pipe would stall the server
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-2000:]
                    raise AssertionError(f"webserver did not start: {tail}") from error
                time.sleep(0.5)
        [entry] = _graphql(port, QUERY)["data"]["workspaceOrError"]["locationEntries"]
        location = entry["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation", location.get("message")
        [repository] = location["repositories"]
        assets = {"/".join(n["assetKey"]["path"]): n for n in repository["assetNodes"]}
        assert {k: n["groupName"] for k, n in assets.items()} == EXPECTED_ASSETS
        for key, node in assets.items():
            assert node["description"] and node["kinds"], key
            assert node["owners"] == [{"team": "ml-platform"}], key
        # Dagster adds hidden `__ASSET_JOB…` jobs; every job of ours is there, described.
        jobs = {j["name"]: j for j in repository["jobs"] if not j["name"].startswith("__")}
        assert set(jobs) == set(EXPECTED_JOBS)
        assert all(j["description"] for j in jobs.values())
        sensors = {s["name"]: s for s in repository["sensors"]}
        assert set(sensors) == set(EXPECTED_SENSORS)
        assert all(s["description"] for s in sensors.values())
        schedules = {s["name"]: s for s in repository["schedules"]}
        assert {n: s["cronSchedule"] for n, s in schedules.items()} == {
            n: cron for n, (_, cron) in EXPECTED_SCHEDULES.items()
        }
        assert all(s["description"] for s in schedules.values())
        checks = _graphql(
            port,
            "{ assetNodes { assetKey { path } assetChecksOrError { "
            "... on AssetChecks { checks { name description blocking } } } } }",
        )["data"]["assetNodes"]
        served = {
            ("/".join(n["assetKey"]["path"]), c["name"]): c
            for n in checks
            for c in n["assetChecksOrError"].get("checks", [])
        }
        assert set(served) == EXPECTED_CHECKS
        for key, check in served.items():
            assert check["description"] and check["blocking"], key
    finally:
        server.terminate()
        server.wait(timeout=30)
