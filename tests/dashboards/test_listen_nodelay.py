"""The server's connections send small writes at once (TCP_NODELAY): with Nagle on, the body
of each API response waited for the client's delayed ACK of the headers (~40 ms a request)."""
from __future__ import annotations

import socket

from dashboards.api.app import listening_socket


def test_accepted_connections_have_nagle_off() -> None:
    listener = listening_socket("127.0.0.1", 0)
    try:
        with socket.create_connection(listener.getsockname()[:2], timeout=10):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
