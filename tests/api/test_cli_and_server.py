"""The `homeward` CLI and the real server: a CLI token reaches a protected route over HTTP.

The server test starts `homeward serve --workers 2` as a separate process on a free loopback
port, exactly as an operator would, and talks to it with an HTTP client like curl does.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from tests.conftest import TEST_KEY
from tests.support import SAFETY_CAP_S, answers, listening_sockets, wait_for

HOMEWARD = Path(sys.executable).with_name("homeward")


def _env(settings: Settings) -> dict[str, str]:
    return {"HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}


def test_users_add_prints_a_working_token(settings: Settings, client: TestClient) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "--name", "cli-user", "--role", "advocate",
                                 "--agency", "Hotline West"], env=_env(settings))
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("hw_")
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["name"] == "cli-user"
    again = runner.invoke(cli, ["users", "add", "--name", "cli-user", "--role", "advocate"],
                          env=_env(settings))
    assert again.exit_code == 1 and "already exists" in again.output


def test_db_current_and_bad_role(settings: Settings) -> None:
    runner = CliRunner()
    current = runner.invoke(cli, ["db", "current"], env=_env(settings))
    assert current.exit_code == 0 and "(current)" in current.output
    bad = runner.invoke(cli, ["users", "add", "--name", "x", "--role", "wizard"],
                        env=_env(settings))
    assert bad.exit_code != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.servers
@pytest.mark.skipif(not HOMEWARD.exists(), reason="homeward script not installed")
def test_served_by_two_workers_with_curl_like_client(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, **_env(settings)}
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(HOMEWARD), "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: listening_sockets(port) >= 2 and answers(f"{base}/readyz"),
                 what="both workers", alive=lambda: server.poll() is None, log=log_path)
        token = subprocess.run(
            [str(HOMEWARD), "users", "add", "--name", "served", "--role", "case_manager"],
            env=env, capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
        assert httpx.get(f"{base}/v1/me").status_code == 401
        for _ in range(6):  # several requests, so both workers answer
            me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["name"] == "served"
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    finally:
        server.terminate()
        server.wait(timeout=SAFETY_CAP_S)
    logged = log_path.read_text()
    assert token not in logged
    access = [json.loads(line) for line in logged.splitlines()
              if line.startswith("{") and '"homeward.access"' in line]
    assert any(entry["route"] == "/v1/me" and entry["status"] == 200 for entry in access)
