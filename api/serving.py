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
The parent only supervises: it restarts a worker that dies, gives up if one dies right after
starting (a configuration error, not a crash), and stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("homeward.serve")

APP = "api.app:app_factory"
_EARLY_DEATH_S = 5.0


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def _config(host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(APP, factory=True, host=host, port=port, access_log=False,
                          log_config=None, proxy_headers=False, http=NoDelayH11Protocol)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers may bind too; the kernel balances between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int) -> None:
    """One worker process: its own socket, its own app, uvicorn's graceful shutdown."""
    uvicorn.Server(_config(host, port)).run(sockets=[reuse_port_socket(host, port)])


def serve(*, host: str, port: int, workers: int) -> int:
    """Serve until SIGTERM or SIGINT; the exit status."""
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, access_log=False, log_config=None,
                    proxy_headers=False, http=NoDelayH11Protocol)
        return 0
    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start() -> tuple[BaseProcess, float]:
        process = spawn.Process(target=_worker, args=(host, port), daemon=False)
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    status = 0
    while not stopping:
        wait([p.sentinel for p, _ in running], timeout=0.5)
        for i, (process, started) in enumerate(running):
            if process.is_alive() or stopping:
                continue
            if time.monotonic() - started < _EARLY_DEATH_S:
                log.error("a worker exited right after starting; stopping",
                          extra={"exitcode": process.exitcode})
                stopping, status = True, 1
                break
            log.warning("a worker exited; starting another", extra={"exitcode": process.exitcode})
            running[i] = start()
    for process, _ in running:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes requests in flight
    for process, _ in running:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    return status
