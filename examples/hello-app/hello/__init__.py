"""The example Flask application (app factory, as in Flask's deployment docs).

Its views show what green threads are for: ``/sleep`` and ``/whoami/<name>`` wait with
``time.sleep``, which ``wsgi.py`` turns into a green sleep with ``greenlane.monkey_patch()``,
so one process overlaps many such requests instead of serving them one after another.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator, Optional

from flask import Flask, Response, g, request


def create_app(sleep: Optional[Callable[[float], None]] = None) -> Flask:
    """Build the example app.

    Args:
        sleep: how views wait; by default ``time.sleep`` looked up at call time, so that it is
            the green one once ``greenlane.monkey_patch()`` has run.
    """
    app = Flask(__name__)

    def pause(seconds: float) -> None:
        (sleep or time.sleep)(seconds)

    @app.route("/")
    def index() -> str:
        return "Hello, World!"

    @app.route("/sleep")
    def slow() -> str:
        # Blocking-looking I/O: with the green time.sleep, other requests run meanwhile.
        seconds = min(float(request.args.get("seconds", "1")), 30.0)
        pause(seconds)
        return f"slept {seconds:g} s\n"

    @app.route("/whoami/<name>")
    def whoami(name: str) -> str:
        # Context locals (g, request) stay per request even though the view yields mid-way.
        g.name = name
        pause(float(request.args.get("seconds", "0.01")))
        return f"{g.name} {request.path} {request.args.get('tag', '')}"

    @app.route("/echo", methods=["POST"])
    def echo() -> Response:
        # Works for chunked uploads too: the server sets wsgi.input_terminated.
        data = request.get_data()
        return Response(data, mimetype=request.mimetype or "application/octet-stream")

    @app.route("/events")
    def events() -> Response:
        # Server-sent events: each one is sent as soon as it is produced.
        # Read the arguments now: the generator runs after the request context is gone.
        count = min(int(request.args.get("count", "3")), 100)
        interval = min(float(request.args.get("interval", "0.5")), 30.0)

        def stream() -> Iterator[str]:
            for i in range(count):
                yield f"data: event {i}\n\n"
                pause(interval)

        return Response(stream(), mimetype="text/event-stream")

    return app
