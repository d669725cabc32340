"""A Celery worker with ``-P eventlet`` on greenlane, against a real Redis broker.

The worker is Celery's own command line, started with ``GREENLANE_EVENTLET_ALIAS=1`` and the
alias's ``.pth`` (``apps/celery_worker.py``), so ``-P eventlet`` monkey patches with greenlane
and runs tasks in greenlane's ``GreenPool``. 100 tasks each make an HTTP request (urllib, on
patched sockets) to a greenlane server that takes 0.2 s to answer; they must all come back
right and overlap: from the first start to the last end, far less than 100 x 0.2 s. The
broker is a throw-away ``redis-server`` (``tests._services``); the worker must log no error,
and stop cleanly on SIGTERM (Celery's warm shutdown).
"""

from __future__ import annotations

import re
import signal
import sys
import uuid
from pathlib import Path

import pytest

import greenlane.compat
from tests._services import Redis
from tests.ecosystem._procs import APPS, Proc, environment, need, run_json, start_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TASKS = 100
DELAY = 0.2


def test_worker_runs_green_tasks_concurrently(redis_server: Redis, tmp_path: Path) -> None:
    need("celery", "redis")
    slow, slow_port = start_server("slow_http.py")
    env = environment(CELERY_BROKER=redis_server.url, CELERY_QUEUE=f"e2e-{uuid.uuid4().hex}",
                      SLOW_URL=f"http://127.0.0.1:{slow_port}/")
    greenlane.compat.install_pth(tmp_path)
    worker = Proc([sys.executable, str(APPS / "celery_worker.py"), str(tmp_path),
                   "-A", "celery_tasks", "worker", "-P", "eventlet", "-c", str(TASKS),
                   "--without-mingle", "--without-gossip", "--without-heartbeat",
                   "--loglevel=INFO", "-n", f"e2e-{uuid.uuid4().hex[:8]}@%h"],
                  env={**env, "GREENLANE_EVENTLET_ALIAS": "1"}, cwd=APPS)
    try:
        worker.wait_for_output(" ready.", 60)
        assert "concurrency: 100 (eventlet)" in worker.output()
        facts = run_json([sys.executable, str(APPS / "celery_client.py"), str(TASKS), "60"],
                         timeout=150, env=env, cwd=APPS)
        worker.process.send_signal(signal.SIGTERM)
        status = worker.wait(30)
        log = worker.output()
    finally:
        worker.stop()
        slow.stop()
    problems = [line for line in log.splitlines()
                if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]
    assert not problems, "\n".join(problems[:20]) + "\n" + log[-4000:]
    assert facts["environment"] == {"eventlet": "greenlane", "socket_patched": True,
                                    "socket_class": facts["environment"]["socket_class"]}
    assert facts["environment"]["socket_class"].startswith("greenlane.")
    assert facts["failures"] == [] and facts["missing"] == 0, facts
    assert facts["correct"] == TASKS
    # They overlapped: from the first task's start to the last one's end took far less than
    # 100 x 0.2 s, the time one after the other.
    assert facts["max_overlap"] >= 10, facts
    assert facts["worker_span"] < TASKS * DELAY / 4, facts
    problems = [line for line in log.splitlines()
                if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]
    assert not problems, "\n".join(problems[:20]) + "\n" + log[-4000:]
    assert "Warm shutdown" in log
    assert status == 0, log[-4000:]
