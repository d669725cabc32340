"""Send the end-to-end test's tasks to the worker and print what came back, as one JSON line.

Run as ``python celery_client.py COUNT TIMEOUT`` with the environment of ``celery_tasks``.
Results are read from the result backend's keys (``backend.get_task_meta``) rather than with
``AsyncResult.get()``, whose Redis pub/sub wait stalled for tens of seconds now and then in
this client on PyPy (with the worker long done): the test is about the worker.
"""

import json
import sys
import time

from celery_tasks import app, environment, fetch


def max_overlap(intervals):
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


def collect(ids, deadline):
    results = {}
    while len(results) < len(ids) and time.monotonic() < deadline:
        for task_id in ids:
            if task_id not in results:
                meta = app.backend.get_task_meta(task_id)
                if meta["status"] in ("SUCCESS", "FAILURE"):
                    results[task_id] = meta
        if len(results) < len(ids):
            time.sleep(0.05)  # polling the backend's keys: see the module docstring
    return [results.get(task_id) for task_id in ids]


def main():
    count, timeout = int(sys.argv[1]), float(sys.argv[2])
    deadline = time.monotonic() + timeout
    (env,) = collect([environment.delay().id], deadline)
    start = time.monotonic()
    ids = [fetch.delay(i).id for i in range(count)]
    metas = collect(ids, deadline)
    waited = time.monotonic() - start
    done = [m["result"] for m in metas if m and m["status"] == "SUCCESS"]
    print(json.dumps({
        "environment": env and env["result"],
        "failures": [str(m["result"]) for m in metas if m and m["status"] == "FAILURE"][:5],
        "missing": sum(1 for m in metas if m is None),
        "correct": sum(1 for i, m in enumerate(metas) if m and m["status"] == "SUCCESS"
                       and m["result"] == {**m["result"], "i": i, "body": f"echo:i={i}"}),
        "waited": waited,
        "worker_span": (max(r["end"] for r in done) - min(r["start"] for r in done)
                        if done else None),
        "max_overlap": max_overlap([(r["start"], r["end"]) for r in done]),
    }))


if __name__ == "__main__":
    main()
