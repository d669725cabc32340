"""End-to-end tests with the libraries eventlet's users run, on greenlane through the alias.

Each scenario runs the library as its users do, in processes of its own: a Flask-SocketIO app
started with ``socketio.run()``, a python-engineio server under ``eventlet.wsgi.server``, a
Celery worker started with ``-P eventlet``; ``import eventlet`` in them is greenlane (the
alias: an import in the app script, or ``GREENLANE_EVENTLET_ALIAS=1`` with the ``.pth``). The
clients run in other processes (or in this one, when they are plain threads). Loopback only;
every wait is bounded. A missing library or server fails the test when ``CI=true`` and skips it
otherwise (``tests._support.unavailable``).
"""

from __future__ import annotations

from tests._services import redis_server

__all__ = ["redis_server"]
