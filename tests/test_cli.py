"""The ``saleor-journeys`` command as a user runs it: subprocesses, no test settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import deliveries

COMMAND = [sys.executable, "-m", "saleor_journeys.cli"]


def run(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    """A machine with no configuration: only a data directory of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "SALEOR_"))
    }
    env["SALEOR_JOURNEYS_DATA_DIR"] = str(tmp_path / "data")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def served(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=embedded_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"serve exited: {log.read_text()}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_runs_on_the_embedded_default_and_migrates_itself(
    served: str, embedded_env: dict[str, str]
) -> None:
    status, body = _get(f"{served}/api/manifest")

    assert status == 200
    manifest = json.loads(body)
    assert manifest["tokenTargetUrl"] == f"{served}/api/register"
    assert (Path(embedded_env["SALEOR_JOURNEYS_DATA_DIR"]) / "db.sqlite3").exists()
    assert json.loads(_get(f"{served}/healthz")[1])["status"] == "ok"


def test_replay_stores_the_recorded_deliveries_and_lists_contacts(
    embedded_env: dict[str, str],
) -> None:
    result = run("replay", str(deliveries.HERE / "deliveries"), env=embedded_env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Replayed 153 deliveries:")
    assert any(line.startswith("jane.doe@example.org") for line in lines)
    again = run("replay", str(deliveries.HERE / "deliveries"), env=embedded_env)
    assert "0 stored" in again.stdout.splitlines()[0]


def test_production_without_a_secret_key_refuses_to_start(
    embedded_env: dict[str, str],
) -> None:
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    env = {**embedded_env, "DATABASE_URL": database}

    result = run("serve", "--port", str(_free_port()), env=env, timeout=60)

    assert result.returncode != 0
    assert "saleor_journeys.E010" in result.stderr


def test_worker_without_a_broker_explains_why_it_is_not_needed(
    embedded_env: dict[str, str],
) -> None:
    result = run("worker", env=embedded_env)

    assert result.returncode != 0
    assert "CELERY_BROKER_URL is not set" in result.stderr


def test_createapikey_for_a_shop_that_never_installed_is_a_clear_error(
    embedded_env: dict[str, str],
) -> None:
    result = run("createapikey", "--saleor-api-url", "https://x.example/graphql/", env=embedded_env)

    assert result.returncode != 0
    assert "No Saleor at https://x.example/graphql/ has installed the app" in result.stderr
