"""Time the sans-IO HTTP/1.1 layer on a typical keep-alive request/response cycle.

One cycle = receive a wrk-like GET (6 header fields), parse it into a Request and its
EndOfMessage, encode a 200 response head with two application headers plus its body and
end-of-message, and start the next cycle: everything the WSGI server asks of ``_http1`` per
request. Also times a chunked POST, and compares with h11 (same steps) if it is installed.

Run: ``python benchmarks/bench_http1.py`` (add ``src`` to PYTHONPATH when not installed).
Prints µs per cycle: best of several rounds of CPU time (process_time), so that other load on
the machine inflates the figures as little as possible.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from greenlane._http1 import PAUSED, Request, ServerConnection

GET = (
    b"GET /plaintext HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) wrk/4.2\r\n"
    b"Accept: text/plain,text/html;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Encoding: gzip, deflate\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=0123456789abcdef\r\n"
    b"\r\n"
)
POST = (
    b"POST /upload HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"User-Agent: bench\r\n"
    b"Content-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"d\r\n{\"a\": [1, 2]}\r\n"
    b"0\r\n\r\n"
)
BODY = b"Hello, World!"
RESPONSE_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def greenlane_cycle(request_bytes: bytes, n: int) -> float:
    conn = ServerConnection()
    headers = RESPONSE_HEADERS
    t0 = time.process_time()
    for _ in range(n):
        conn.receive_data(request_bytes)
        req = conn.next_event()
        assert type(req) is Request
        body = conn.read_body()
        while body:
            body = conn.read_body()
        out = conn.send_response(200, "OK", headers) + conn.send_data(BODY) + conn.send_eom()
        conn.start_next_cycle()
    t1 = time.process_time()
    assert out.endswith(BODY)
    assert conn.next_event() is not PAUSED
    return (t1 - t0) / n


def greenlane_events_cycle(request_bytes: bytes, n: int) -> float:
    """Same as greenlane_cycle but reading the body through next_event()."""
    conn = ServerConnection()
    headers = RESPONSE_HEADERS
    t0 = time.process_time()
    for _ in range(n):
        conn.receive_data(request_bytes)
        req = conn.next_event()
        assert type(req) is Request
        while conn.next_event() is not PAUSED:
            pass
        out = conn.send_response(200, "OK", headers) + conn.send_data(BODY) + conn.send_eom()
        conn.start_next_cycle()
    t1 = time.process_time()
    assert out.endswith(BODY)
    return (t1 - t0) / n


def h11_cycle(request_bytes: bytes, n: int) -> float:
    import h11

    conn = h11.Connection(h11.SERVER)
    headers = [(k.encode(), v.encode()) for k, v in RESPONSE_HEADERS]
    t0 = time.process_time()
    for _ in range(n):
        conn.receive_data(request_bytes)
        while True:
            ev = conn.next_event()
            if type(ev) is h11.EndOfMessage:
                break
        out = (
            conn.send(h11.Response(status_code=200, reason=b"OK", headers=headers))
            + conn.send(h11.Data(data=BODY))
            + conn.send(h11.EndOfMessage())
        )
        conn.start_next_cycle()
    t1 = time.process_time()
    assert out is not None and out.endswith(BODY)
    return (t1 - t0) / n


def best(fn: Callable[[bytes, int], float], request_bytes: bytes, n: int, rounds: int) -> float:
    return min(fn(request_bytes, n) for _ in range(rounds)) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = 5
    try:
        import h11  # noqa: F401

        have_h11 = True
    except ImportError:
        have_h11 = False
    rows = [
        ("GET, read_body()", greenlane_cycle, GET),
        ("GET, events", greenlane_events_cycle, GET),
        ("chunked POST, read_body()", greenlane_cycle, POST),
        ("chunked POST, events", greenlane_events_cycle, POST),
    ]
    print(f"{sys.implementation.name} {sys.version.split()[0]}, {n} cycles x {rounds} rounds")
    for label, fn, data in rows:
        print(f"  greenlane {label:28s} {best(fn, data, n, rounds):6.2f} µs/request")
    if have_h11:
        for label, data in (("GET", GET), ("chunked POST", POST)):
            print(f"  h11       {label:28s} {best(h11_cycle, data, n, rounds):6.2f} µs/request")
    else:
        print("  (h11 not installed: no comparison)")


if __name__ == "__main__":
    main()
