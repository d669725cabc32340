"""Outbound HTTP from many green threads: ``requests`` and ``urllib.request``, monkey patched.

The server is greenlane's WSGI server in a thread of the test process; each request sleeps
0.2 s there, so 100 requests made one at a time would take 20 s. The clients run in a
subprocess patched with ``monkey_patch()``, as an application would be, 100 green threads at
once. (``greenlane.green.urllib.request`` without patching: tests/green/test_http.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

import greenlane
from tests.integration._scripts import need, run_script
from tests.wsgi._wsgi_support import ServerThread

pytestmark = pytest.mark.slow

REQUESTS = 100
SERVER_SLEEP = 0.2


def _slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    greenlane.sleep(SERVER_SLEEP)
    body = environ.get("QUERY_STRING", "").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def slow_server() -> Iterator[ServerThread]:
    server = ServerThread(_slow_app, backlog=256)
    try:
        yield server
    finally:
        server.stop()


_CLIENTS = """
import json, sys, time
import greenlane
greenlane.monkey_patch()
library, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if library == "requests":
    import requests
    def fetch(i):
        reply = requests.get("%s/?n=%d" % (url, i), timeout=30)
        reply.raise_for_status()
        return reply.text
else:
    import urllib.request
    def fetch(i):
        with urllib.request.urlopen("%s/?n=%d" % (url, i), timeout=30) as reply:
            return reply.read().decode()
start = time.monotonic()
threads = [greenlane.spawn(fetch, i) for i in range(count)]
bodies = [gt.wait() for gt in threads]
print(json.dumps({"elapsed": time.monotonic() - start, "bodies": bodies}))
"""


@pytest.mark.parametrize("library", ["requests", "urllib"])
def test_many_green_threads_fetch_concurrently(slow_server: ServerThread, library: str) -> None:
    if library == "requests":
        need("requests")
    facts = run_script(_CLIENTS, library, slow_server.url, str(REQUESTS))
    assert facts["bodies"] == [f"n={i}" for i in range(REQUESTS)]
    # One at a time: 100 x 0.2 = 20 s.
    assert facts["elapsed"] < 4.0, f"{REQUESTS} requests took {facts['elapsed']:.2f}s"
