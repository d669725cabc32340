"""A python-engineio server on its eventlet driver, served by ``eventlet.wsgi.server``.

Run as ``python engineio_app.py PORT``. The first import installs the eventlet alias
(``greenlane.compat.install()``), so ``engineio.Server(async_mode="eventlet")`` runs on
greenlane's green threads, queues and WebSocketWSGI, and ``eventlet.wsgi.server`` is greenlane's
WSGI server. Messages are echoed; ``"ticks N"`` makes the server push N messages from a
background task; ``/stats`` (a plain WSGI app behind ``engineio.WSGIApp``) reports the
connects and disconnects seen, with each connection's transport.
"""

import greenlane.compat

greenlane.compat.install()

import json  # noqa: E402
import sys  # noqa: E402

import engineio  # noqa: E402
import eventlet  # noqa: E402
import eventlet.wsgi  # noqa: E402

eio = engineio.Server(async_mode="eventlet")
events = {"connect": 0, "disconnect": 0}


@eio.on("connect")
def connect(sid, environ):
    events["connect"] += 1


@eio.on("disconnect")
def disconnect(sid, reason=None):
    events["disconnect"] += 1


@eio.on("message")
def message(sid, data):
    if isinstance(data, str) and data.startswith("ticks "):
        eio.start_background_task(ticks, sid, int(data.split()[1]))
    else:
        eio.send(sid, data)


def ticks(sid, count):
    for i in range(count):
        eio.sleep(0.02)
        eio.send(sid, f"tick {i}")


def stats(environ, start_response):
    body = json.dumps({"events": events, "async_mode": eio.async_mode,
                       "eventlet": eventlet.__name__}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    app = engineio.WSGIApp(eio, stats)
    eventlet.wsgi.server(eventlet.listen(("127.0.0.1", int(sys.argv[1]))), app,
                         log_output=False)
