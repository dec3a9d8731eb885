"""The HTTP protocol the server runs: uvicorn's h11 protocol with TCP_NODELAY on every socket.

With several worker processes uvicorn binds the listening socket in the parent, and the
sockets the workers accept from it do not get TCP_NODELAY (asyncio sets it only on sockets it
created itself). Responses written in two pieces then wait for the client's delayed ACK:
about 40 ms on every keep-alive request. Setting the option on each connection removes that.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
