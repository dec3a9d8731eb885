"""`homeward serve --workers N`: every worker takes connections, the parent supervises them.

Each worker binds its own SO_REUSEPORT socket, so the kernel spreads connections across the
workers instead of letting one accept them all. The parent restarts a worker that dies, stops
on a worker that cannot start, and leaves no worker behind when it is stopped, nor when it is
killed with SIGKILL, while its workers start or once they serve. It builds today's timetable
once before it forks, with no database connection left open, and its workers search with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from api.config import Settings
from api.deps import Services
from core.clock import utcnow
from core.models import Role
from core.principal import SYSTEM
from logistics.travel import feeds as transport_service
from tests.api.test_travel_api import STOP_INFO, query, small_feed
from tests.conftest import TEST_KEY
from tests.support import HOMEWARD, SAFETY_CAP_S, AccountFactory, served, wait_for

pytestmark = pytest.mark.servers  # the multi-process tier


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _supervisor(port: int) -> int:
    """The `homeward serve` process on `port`: its forked workers share its command line."""
    out = subprocess.run(["pgrep", "-f", f"serve --port {port} "], capture_output=True,
                         text=True).stdout
    pids = {int(p) for p in out.split()}
    (parent,) = {pid for pid in pids if _ppid(pid) not in pids}
    return parent


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


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
        parent = _supervisor(port)
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
    wait_for(lambda: not any(_alive(pid) for pid in workers), what="the workers to stop")


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
                                timeout=SAFETY_CAP_S)
    assert server.returncode != 0


def test_a_killed_worker_is_replaced(settings: Settings, tmp_path: Path) -> None:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        parent = _supervisor(int(base.rsplit(":", 1)[1]))
        victim = min(_workers(parent))
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            workers = {p for p in _workers(parent) if _alive(p)}
            return victim not in workers and len(workers) >= 2

        wait_for(replaced, what="a new worker", alive=lambda: _alive(parent))
        with httpx.Client(base_url=base, timeout=SAFETY_CAP_S) as http:
            assert all(http.get("/healthz").status_code == 200 for _ in range(20))


def _port_free(port: int) -> bool:
    """Whether a plain listener can take the port: no SO_REUSEPORT worker still holds it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def _group(pgid: int) -> set[int]:
    """Live (not zombie) processes of a process group: a supervisor and all it started."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _workers(parent: int) -> set[int]:
    """The supervisor's worker processes (not a multiprocessing helper, should one run)."""
    found = set()
    for pid in _children(parent):
        try:
            if b"multiprocessing" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
        except FileNotFoundError:
            pass
    return found


def _gone(pgid: int, port: int) -> bool:
    return not _group(pgid) and _port_free(port)


def test_killing_the_supervisor_while_workers_start_leaves_none(settings: Settings,
                                                               tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "HOMEWARD_DATABASE_URL": settings.database_url,
           "HOMEWARD_SECRET_KEY": TEST_KEY}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(HOMEWARD), "serve", "--port", str(port), "--workers", "2"],
                                  env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_for(lambda: len(_workers(server.pid)) >= 2, what="two workers to be started",
                 alive=lambda: server.poll() is None, log=log)
    finally:
        server.kill()
        server.wait()
    wait_for(lambda: _gone(server.pid, port), what="every worker to exit", log=log)


def test_killing_the_supervisor_while_it_serves_leaves_none(settings: Settings,
                                                           tmp_path: Path) -> None:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        port = int(base.rsplit(":", 1)[1])
        parent = _supervisor(port)
        assert len(_workers(parent)) >= 2 and not _port_free(port)
        os.kill(parent, signal.SIGKILL)
        wait_for(lambda: _gone(parent, port), what="every worker to exit")


def test_killing_the_server_stops_its_delivery_worker(settings: Settings,
                                                      tmp_path: Path) -> None:
    """`serve --with-worker`: a server killed outright used to leave its delivery worker
    running alone (parent pid 1), still claiming and sending messages, for hours."""
    env = {**os.environ, "HOMEWARD_DATABASE_URL": settings.database_url,
           "HOMEWARD_SECRET_KEY": TEST_KEY}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log = tmp_path / "server.log"

    def delivery_worker(parent: int) -> set[int]:
        return {pid for pid in _children(parent)
                if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()}

    with log.open("w") as out:
        server = subprocess.Popen([str(HOMEWARD), "serve", "--port", str(port),
                                   "--with-worker"], env=env, cwd=tmp_path, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "delivery worker" in log.read_text(), what="the delivery worker to run",
                 alive=lambda: server.poll() is None, log=log)
        (worker,) = delivery_worker(server.pid)
    finally:
        server.kill()
        server.wait()
    wait_for(lambda: not _alive(worker), what="the delivery worker to exit", log=log)
    wait_for(lambda: _gone(server.pid, port), what="nothing of the server to be left", log=log)


def _links(pid: int) -> list[str]:
    """What the open file descriptors of `pid` point at (files, "socket:[...]", pipes)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except FileNotFoundError:
            continue
    return found


# The small feed's services, running every day of any year the suite may run in.
_DAILY = ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
          "end_date\nD,1,1,1,1,1,1,1,20200101,20991231\n")


def test_workers_search_with_the_timetable_their_supervisor_built(
        settings: Settings, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    with services.db.write_session() as session:
        transport_service.import_feed(
            session, actor=SYSTEM, name="daily", source="test", kind="gtfs",
            files=transport_service.read_files(small_feed(tmp_path / "feed",
                                                          **{"calendar.txt": _DAILY})),
            stop_info=STOP_INFO)
    advocate = make.account(Role.ADVOCATE)
    day = utcnow().date()  # the supervisor builds the timetable of the day it starts on
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        port = int(base.rsplit(":", 1)[1])
        parent = _supervisor(port)
        workers = _workers(parent)
        # Forked workers must not share the supervisor's database connections: it holds none,
        # neither a socket (PostgreSQL) nor the SQLite file or its companions.
        database = str(settings.sqlite_path() or "no SQLite file")
        assert not [link for link in _links(parent)
                    if link.startswith(("socket:", database))], _links(parent)
        # 40 connections held open at once: the kernel spreads them over both workers (as in
        # the first test), and each searches once.
        clients = [httpx.Client(base_url=base, headers=advocate.headers, timeout=SAFETY_CAP_S)
                   for _ in range(40)]
        try:
            for http in clients:
                found = http.post("/v1/itineraries/search",
                                  json=query(depart_after=f"{day.isoformat()}T08:00:00+00:00"))
                assert found.status_code == 200, found.text
                assert found.json()["itineraries"]
            owners = _owners(port)
        finally:
            for http in clients:
                http.close()
        assert len(owners & workers) >= 2, (owners, workers)
    if utcnow().date() != day:
        pytest.skip("the UTC day changed during the test: the workers rightly built their own")
    # Logged before a search that builds answers, so every build is in the log by now.
    lines = (tmp_path / f"server-{port}.log").read_text().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    builds = [line["pid"] for line in logged if line["message"] == "timetable built"]
    assert builds == [parent]
