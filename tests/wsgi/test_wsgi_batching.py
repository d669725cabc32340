"""The per-request fast path: batching under load, and the response-header checks' fast path."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from greenlane.wsgi._response import HeaderPolicy

from ._wsgi_support import TIMEOUT, Client

StartResponse = Callable[..., Any]


def test_ready_connections_run_their_applications_before_their_responses(serve: Any) -> None:
    # Two requests that are ready at the same time: each connection yields once its
    # application has returned, so both applications run before either response goes out
    # (without that yield: app /a, sent /a, app /b, sent /b).
    events: list[str] = []
    entered = threading.Event()
    release = threading.Event()
    # after_request runs once the response is out, so the client can read it first.
    recorded = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/gate":
            entered.set()
            # Blocks the server's whole thread (not just this green thread), so that the two
            # clients below connect and send while nothing is read: the next poll sees both.
            release.wait(TIMEOUT)
        else:
            events.append(f"app {path}")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    def after_request(environ: dict[str, Any], status: str, headers: Any, body_bytes: int,
                      seconds: float) -> None:
        if environ["PATH_INFO"] != "/gate":
            events.append(f"sent {environ['PATH_INFO']}")
            if len(events) == 4:
                recorded.set()

    srv = serve(app, after_request=after_request)
    gate = Client(srv.port)
    gate.get("/gate")
    assert entered.wait(TIMEOUT)
    a, b = Client(srv.port), Client(srv.port)
    a.get("/a")
    b.get("/b")
    release.set()
    for client in (gate, a, b):
        response = client.read_response()
        assert response.status == 200 and response.body == b"ok"
        client.close()
    assert recorded.wait(TIMEOUT), events
    assert sorted(events[:2]) == ["app /a", "app /b"], events
    assert sorted(events[2:]) == ["sent /a", "sent /b"], events


def test_keep_alive_requests_after_the_yields(serve: Any) -> None:
    # Each request passes both yields; many in a row on one connection, pipelined or not.
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return iter([body])  # not a list: the iterable path

    srv = serve(app)
    client = Client(srv.port)
    for i in range(20):
        assert client.request(f"/{i}").body == f"/{i}".encode()
    client.send(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(5)))
    assert [client.read_response().body for _ in range(5)] == [f"/p{i}".encode()
                                                              for i in range(5)]
    client.close()


def test_header_policy_fast_path_checks_like_the_slow_one() -> None:
    policy = HeaderPolicy()
    given = [("Content-Type", "text/plain"), ("Content-Length", "2")]
    for _ in range(2):  # first through the slow path, then from the memo
        checked, has_length = policy.headers(given)
        assert checked is given and has_length
        checked, has_length = policy.headers([("Content-Type", "text/plain")])
        assert not has_length
        # A name that needs renaming is never taken as it is, memo or not.
        checked, _ = policy.headers([("Content-Type", "a"), ("content-type", "b")])
        assert checked == [("Content-Type", "a"), ("Content-Type", "b")]
        with pytest.raises(TypeError):
            policy.headers([("Content-Type", 5)])
        with pytest.raises(ValueError):
            policy.headers([("Content-Type", "a"), ("Keep-Alive", "5")])
        with pytest.raises(ValueError):
            policy.headers([("Bad Name", "a")])
    raw = HeaderPolicy(capitalize=False)
    for _ in range(2):
        checked, _ = raw.headers([("content-type", "a")])
        assert checked == [("content-type", "a")]
