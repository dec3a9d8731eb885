"""How `homeward serve` runs: worker processes that each accept their own share of connections.

Two things uvicorn's own multi-worker mode gets wrong for this service, both measured on the
hold benchmark:
- It binds one listening socket in the parent and every worker accepts from it, so whichever
  worker is awake takes the next connection. Clients that keep connections open (a reverse
  proxy's upstream pool, the benchmark's 16 clients) can end up mostly on one worker: one
  process at 0.7 of a core (its GIL's limit) while the other idles at 0.26. Here each worker
  binds its own socket with SO_REUSEPORT, and the kernel spreads new connections across them.
- Accepted sockets lack TCP_NODELAY (asyncio sets it only on sockets it created itself), so a
  response written in two pieces waits for the client's delayed ACK: ~40 ms on every
  keep-alive request. `NoDelayH11Protocol` sets it on each connection.
The parent imports the application once and forks the workers from it, so a worker starts in
milliseconds instead of importing it again (seconds of CPU each; issue 14). Before it forks, it
also loads the stored feeds' timetable from its disk cache (written at import; rebuilt here if
missing or stale), expands today's and builds the place index once (`prebuild`), and hands the
store to the workers (`logistics.travel.timetables.hand_to_workers`), so every worker starts
with them in memory, shared copy-on-write, and its first itinerary search waits for nothing
(issue 16: about 0.5 s to load and 2 s to expand on the national network). It builds with a
database engine of its own and disposes of it first: a connection inherited through a fork
would be shared by the parent and every worker (SQLite's file locks and PostgreSQL's protocol
state both go wrong). A worker builds its app before it binds, so the kernel never queues a
connection for a worker still starting.
Then the parent only supervises: it restarts a worker that dies, gives up if one cannot start
(it cannot build the app or bind the port: a configuration error, not a crash, told by its exit
status rather than by how long it lived, which on a loaded machine says nothing), and stops
them all on SIGTERM or SIGINT.

Workers exit when the supervisor dies, however it dies: each asks the kernel for SIGTERM on
its parent's death (Linux `prctl(PR_SET_PDEATHSIG)`) and then checks that the parent is still
the one that started it, which closes the window in which it died before the request. Without
this, a supervisor killed with SIGKILL left workers serving old code on the port for hours,
sharing its connections with any server started there next through SO_REUSEPORT.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("homeward.serve")

APP = "api.app:app_factory"
# Exit statuses of a worker that cannot start: uvicorn's own (app import or start-up failed)
# and ours (the port cannot be bound). The supervisor stops rather than restart it forever.
_STARTUP_FAILURE = 3
_CANNOT_BIND = 78  # EX_CONFIG
_PR_SET_PDEATHSIG = 1


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


@dataclass(frozen=True)
class Transport:
    """How clients reach the service: directly (TLS here, or plain on loopback), or through a
    reverse proxy that terminates TLS and says so in X-Forwarded-Proto/-For.

    Proxy headers are believed only from `forwarded_allow_ips` (uvicorn's check), so a client
    cannot claim HTTPS or another address by sending the headers itself.
    """

    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        return {"proxy_headers": self.proxy_headers,
                "forwarded_allow_ips": self.forwarded_allow_ips,
                "ssl_certfile": self.ssl_certfile, "ssl_keyfile": self.ssl_keyfile}


def _config(host: str, port: int, transport: Transport) -> uvicorn.Config:
    return uvicorn.Config(APP, factory=True, host=host, port=port, access_log=False,
                          log_config=None, http=NoDelayH11Protocol,
                          **transport.uvicorn_options())


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers may bind too; the kernel balances between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def exit_with_parent(parent_pid: int) -> None:
    """Have the kernel send SIGTERM to this process when its parent dies (Linux only).

    The signal follows the parent's death even by SIGKILL; the check after it catches a
    parent that died before the request was made (this process was then re-parented).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("no parent-death signal", extra={"errno": ctypes.get_errno()})
    if os.getppid() != parent_pid:
        os._exit(0)  # the supervisor is already gone: serve nothing


def _worker(host: str, port: int, parent_pid: int, transport: Transport) -> None:
    """One worker process: its own app, then its own socket, uvicorn's graceful shutdown."""
    for signum in (signal.SIGTERM, signal.SIGINT):  # not the supervisor's, inherited by fork
        signal.signal(signum, signal.SIG_DFL)
    exit_with_parent(parent_pid)
    config = _config(host, port, transport)
    config.load()  # exits with _STARTUP_FAILURE if the app cannot be imported or built
    try:
        sock = reuse_port_socket(host, port)
    except OSError as exc:
        log.error("cannot bind", extra={"host": host, "port": port, "error": str(exc)})
        sys.exit(_CANNOT_BIND)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(_STARTUP_FAILURE)


def prebuild() -> None:
    """Load the timetable, expand today's and build the place index in this process (the
    store is then handed to the workers forked after it), through a database engine
    that is disposed of before returning (no connection, nor the writer-turn lock file, is
    left open to be inherited by a fork). A failure only leaves the workers to build their own
    in the background, as a single-process server does."""
    from api.config import Settings
    from api.services import build_services
    from logistics.travel.search import warm
    from logistics.travel.timetables import hand_to_workers

    services = build_services(Settings.from_env())
    try:
        warm(services.db, services.timetables)
        hand_to_workers(services.timetables)
    except Exception:  # the workers' own warm-up is the fallback
        log.exception("no timetable built before forking the workers")
    finally:
        services.db.dispose()


def serve(*, host: str, port: int, workers: int, transport: Transport | None = None) -> int:
    """Serve until SIGTERM or SIGINT; the exit status."""
    transport = transport or Transport()
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, access_log=False, log_config=None,
                    http=NoDelayH11Protocol, **transport.uvicorn_options())
        return 0
    # Workers are forked from this process once it has imported the app, so they start in
    # milliseconds: spawned, each imported it again (two seconds of CPU per worker, twice
    # the wait on a busy two-core machine). Nothing here runs a Python thread or holds a
    # database connection (the CLI closed its engine, `prebuild` disposes of its own); each
    # worker opens its own.
    from api.config import Settings
    from api.observability import configure_logging

    configure_logging(Settings.from_env().log_level)
    # The collector is paused while the app is imported and the timetable built: both make
    # hundreds of thousands of objects and no garbage, and its passes over the growing heap
    # were a tenth of the start (issue 14).
    gc.disable()
    try:
        importlib.import_module(APP.split(":", 1)[0])
        prebuild()
    finally:
        # What the workers inherit is left out of the cyclic collector's scans, which would
        # write to every object's header and so copy each page of the timetable into every
        # worker.
        gc.freeze()
        gc.enable()
    fork = multiprocessing.get_context("fork")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start() -> BaseProcess:
        process = fork.Process(target=_worker, args=(host, port, os.getpid(), transport),
                               daemon=False)
        process.start()
        return process

    running = [start() for _ in range(workers)]
    status = 0
    while not stopping:
        wait([p.sentinel for p in running], timeout=0.5)
        for i, process in enumerate(running):
            if process.is_alive() or stopping:
                continue
            if process.exitcode in (_STARTUP_FAILURE, _CANNOT_BIND):
                log.error("a worker cannot start; stopping", extra={"exitcode": process.exitcode})
                stopping, status = True, 1
                break
            log.warning("a worker exited; starting another", extra={"exitcode": process.exitcode})
            running[i] = start()
    for process in running:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes requests in flight
    for process in running:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    return status
