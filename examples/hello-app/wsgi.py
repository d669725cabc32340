"""Serve the example app: ``python wsgi.py`` (or ``make run`` from the repository root).

The seed's eventlet deployment with eventlet replaced by greenlane. Ctrl-C or SIGTERM stop it
gracefully: it stops accepting, lets requests in flight finish, then exits. It listens on
127.0.0.1 only; put a reverse proxy in front rather than binding 0.0.0.0, and do not run it as
root. ``PORT`` in the environment changes the port (the tests use it).
"""

import os

import greenlane

# Patch before anything else imports socket or time: time.sleep and sockets become green.
greenlane.monkey_patch()

from hello import create_app  # noqa: E402

from greenlane import wsgi  # noqa: E402

app = create_app()
wsgi.server(greenlane.listen(("127.0.0.1", int(os.environ.get("PORT", "8000")))), app)
