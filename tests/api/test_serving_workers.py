"""`homeward serve --workers N`: every worker takes connections, the parent supervises them.

Each worker binds its own SO_REUSEPORT socket, so the kernel spreads connections across the
workers instead of letting one accept them all. The parent restarts a worker that dies, stops
on a worker that cannot start, and leaves no worker behind when it is stopped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from api.config import Settings
from tests.conftest import TEST_KEY
from tests.support import HOMEWARD, served


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _owners(port: int) -> set[int]:
    """The processes holding the server side of established connections to `port`."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", out)}


def test_connections_reach_every_worker_and_stopping_leaves_none(settings: Settings,
                                                                 tmp_path: Path) -> None:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        port = int(base.rsplit(":", 1)[1])
        parent = int(subprocess.run(["pgrep", "-f", f"serve --port {port}"],
                                    capture_output=True, text=True).stdout.split()[0])
        workers = _children(parent)
        # 40 connections held open at once: the kernel's SO_REUSEPORT hash spreads them, so
        # each worker owns some (all on one would have odds of 2 in 2**40).
        clients = [httpx.Client(base_url=base) for _ in range(40)]
        try:
            for http in clients:
                assert http.get("/healthz").status_code == 200
            owners = _owners(port)
        finally:
            for http in clients:
                http.close()
        assert len(owners & workers) >= 2, (owners, workers)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def test_a_worker_that_cannot_start_stops_the_server(settings: Settings,
                                                     tmp_path: Path) -> None:
    with socket.socket() as taken:  # a plain socket holds the port: workers cannot bind it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "HOMEWARD_DATABASE_URL": settings.database_url,
               "HOMEWARD_SECRET_KEY": TEST_KEY}
        server = subprocess.run([str(HOMEWARD), "serve", "--port", str(port), "--workers", "2"],
                                env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=60)
    assert server.returncode != 0


def test_a_killed_worker_is_replaced(settings: Settings, tmp_path: Path) -> None:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        parent = int(subprocess.run(["pgrep", "-f", f"serve --port {base.rsplit(':', 1)[1]}"],
                                    capture_output=True, text=True).stdout.split()[0])
        time.sleep(5.5)  # past the start-up window in which a death means misconfiguration
        victim = min(_children(parent))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = {p for p in _children(parent) if _alive(p)}
            if victim not in workers and len(workers) >= 2:
                break
            time.sleep(0.2)
        assert victim not in workers and len(workers) >= 2
        with httpx.Client(base_url=base) as http:
            assert all(http.get("/healthz").status_code == 200 for _ in range(20))
