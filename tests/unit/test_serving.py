"""Every accepted connection gets TCP_NODELAY, whatever process accepted it."""

from __future__ import annotations

import socket
from typing import Any
from unittest import mock

from uvicorn.config import Config

from api.serving import NoDelayH11Protocol


def test_connection_made_sets_tcp_nodelay() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        transport: Any = mock.MagicMock()
        transport.get_extra_info.side_effect = lambda name, default=None: {
            "socket": accepted, "peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2),
        }.get(name, default)
        config = Config(app=mock.MagicMock())
        config.load()
        protocol = NoDelayH11Protocol(config=config, server_state=mock.MagicMock(), app_state={},
                                      _loop=mock.MagicMock())
        protocol.connection_made(transport)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        for sock in (client, accepted, listener):
            sock.close()
