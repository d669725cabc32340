"""The Celery app of the end-to-end test: tasks that do green I/O.

Configured from the environment: ``CELERY_BROKER`` (a redis:// URL, also the result backend),
``CELERY_QUEUE`` (one queue per test run) and ``SLOW_URL`` (``slow_http.py``).
"""

import os
import time
import urllib.request

from celery import Celery

app = Celery("celery_tasks", broker=os.environ["CELERY_BROKER"],
             backend=os.environ["CELERY_BROKER"])
app.conf.update(task_default_queue=os.environ["CELERY_QUEUE"],
                broker_connection_retry_on_startup=True,
                worker_prefetch_multiplier=4)


@app.task
def fetch(i):
    """An HTTP request to a server that takes 0.2 s to answer, through urllib."""
    start = time.time()
    with urllib.request.urlopen(f"{os.environ['SLOW_URL']}?i={i}", timeout=20) as response:
        body = response.read().decode()
    return {"i": i, "body": body, "start": start, "end": time.time()}


@app.task
def environment():
    """What the worker runs on: which eventlet, and whether sockets were patched."""
    import socket

    import eventlet
    import eventlet.patcher

    return {"eventlet": eventlet.__name__,
            "socket_patched": eventlet.patcher.is_monkey_patched("socket"),
            "socket_class": socket.socket.__module__}
