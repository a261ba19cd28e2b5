"""Copied as `sitecustomize.py` onto a crawl subprocess's PYTHONPATH by the leak test.

Appends to $TRAWL_NET_LEAK_LOG one line per name lookup ("dns <name>") and per outgoing
connection ("connect <host> <port>") the process makes, whatever library makes it, and
provides `RecordingResolver` for Scrapy's DNS_RESOLVER setting ("resolver <name>").
"""
from __future__ import annotations

import os
import socket
from typing import Any

_LOG = os.environ.get("TRAWL_NET_LEAK_LOG")


def _record(line: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _name(host: Any) -> str:
    return host.decode() if isinstance(host, bytes) else str(host)


if _LOG:
    _getaddrinfo = socket.getaddrinfo
    _gethostbyname = socket.gethostbyname
    _gethostbyname_ex = socket.gethostbyname_ex
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        _record(f"dns {_name(host)}")
        return _getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        _record(f"dns {host}")
        return _gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        _record(f"dns {host}")
        return _gethostbyname_ex(host)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record(f"connect {address[0]} {address[1]}")
        return _connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record(f"connect {address[0]} {address[1]}")
        return _connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


try:
    from scrapy.resolver import CachingThreadedResolver

    class RecordingResolver(CachingThreadedResolver):
        def getHostByName(self, name: str, timeout: Any = ()) -> Any:
            _record(f"resolver {name}")
            return super().getHostByName(name, timeout)

except ImportError:  # pragma: no cover - scrapy is always installed in the venv
    pass
