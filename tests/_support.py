"""Small helpers shared by test modules of several layers."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any, NoReturn

import pytest


def recv_exactly(sock: Any, n: int) -> bytes:
    """Receive exactly ``n`` bytes with ``recv_into``; fail if the peer closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        assert k, "peer closed early"
        got += k
    return bytes(buf)


def has_ipv6_loopback() -> bool:
    """Whether ``::1`` can be bound here (containers often have no IPv6)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose tool or package is missing here; fail it instead when ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required when CI=true: {reason}")
    pytest.skip(reason)


def write_apps(tmp_path_factory: pytest.TempPathFactory, apps: Mapping[str, str],
               name: str) -> str:
    """Write test application modules (file name -> source) into a fresh directory; its path
    is what ``--app-dir``/``--chdir`` of a server process gets."""
    directory = tmp_path_factory.mktemp(name)
    for filename, text in apps.items():
        (directory / filename).write_text(text)
    return str(directory)
