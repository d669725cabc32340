"""PostgreSQL through psycopg 3 and psycopg2, on green threads, against a real server.

The drivers are made cooperative in this process with ``patch_psycopg()``/``patch_psycopg2()``
(what ``monkey_patch(psycopg=True)`` calls); the subprocess tests show the same through
``monkey_patch()`` itself, and that without it the same green threads run one at a time.
"""

from __future__ import annotations

import time
import types
from typing import Any

import pytest

import greenlane
from greenlane.green import psycopg as green_psycopg
from greenlane.greenthread import sleep, spawn
from tests._services import Postgres
from tests.integration._scripts import need, psycopg3_works_here, run_script

pytestmark = pytest.mark.slow

CONCURRENCY = 50
QUERY_SECONDS = 0.2


def _psycopg() -> Any:
    module = need("psycopg")
    broken = psycopg3_works_here()
    if broken:
        pytest.skip(broken)
    green_psycopg.patch_psycopg()
    return module


def _psycopg2() -> Any:
    module = need("psycopg2")
    green_psycopg.patch_psycopg2()
    return module


def _all_at_once(function: Any, count: int) -> tuple[list[Any], float]:
    start = time.monotonic()
    threads = [spawn(function, i) for i in range(count)]
    results = [gt.wait() for gt in threads]
    return results, time.monotonic() - start


# ----------------------------------------------------------------------------- psycopg 3
def test_psycopg3_concurrent_queries_overlap(postgres: Postgres) -> None:
    psycopg = _psycopg()

    def query(i: int) -> Any:
        with psycopg.connect(postgres.dsn) as conn:
            row = conn.execute("SELECT pg_sleep(%s), %s::int", (QUERY_SECONDS, i)).fetchone()
            return row[1]

    results, elapsed = _all_at_once(query, CONCURRENCY)
    assert results == list(range(CONCURRENCY))
    # One at a time would take 50 x 0.2 = 10 s.
    assert elapsed < 3.0, f"{CONCURRENCY} concurrent pg_sleep({QUERY_SECONDS}) took {elapsed:.2f}s"


def test_psycopg3_other_green_threads_run_during_a_query(postgres: Postgres) -> None:
    psycopg = _psycopg()
    ticks: list[float] = []

    def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            sleep(0.02)
    background = spawn(ticker)
    try:
        with psycopg.connect(postgres.dsn) as conn:
            sleep(0)
            before = len(ticks)
            conn.execute("SELECT pg_sleep(0.3)")
            assert len(ticks) - before >= 5
    finally:
        background.kill()


def test_psycopg3_errors_and_transactions(postgres: Postgres) -> None:
    psycopg = _psycopg()
    with psycopg.connect(postgres.dsn) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("SELEC 1")
        conn.rollback()
        conn.execute("CREATE TEMP TABLE t (n int)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s)", [(i,) for i in range(100)])
        conn.commit()
        assert conn.execute("SELECT sum(n) FROM t").fetchone() == (4950,)
        with conn.cursor() as cur:
            with cur.copy("COPY t TO STDOUT") as copy:
                assert sum(1 for _ in copy) == 100


def test_psycopg3_pipeline_mode(postgres: Postgres) -> None:
    # Pipelines wait for reading and writing at once (Wait.RW).
    psycopg = _psycopg()
    with psycopg.connect(postgres.dsn) as conn:
        with conn.pipeline():
            cursors = [conn.execute("SELECT %s::int * 2", (i,)) for i in range(50)]
        assert [cur.fetchone()[0] for cur in cursors] == [i * 2 for i in range(50)]


def test_psycopg3_notifies_between_green_threads(postgres: Postgres) -> None:
    psycopg = _psycopg()
    with psycopg.connect(postgres.dsn, autocommit=True) as listener:
        if not hasattr(listener, "notifies") or "timeout" not in \
                listener.notifies.__code__.co_varnames:
            pytest.skip("notifies(timeout=) needs psycopg 3.2")
        listener.execute("LISTEN greenlane")

        def notify() -> None:
            sleep(0.1)
            with psycopg.connect(postgres.dsn, autocommit=True) as sender:
                sender.execute("NOTIFY greenlane, 'hello'")
        gt = spawn(notify)
        got = list(listener.notifies(timeout=5, stop_after=1))
        gt.wait()
        assert [n.payload for n in got] == ["hello"]
        start = time.monotonic()
        assert list(listener.notifies(timeout=0.2)) == []
        assert 0.15 <= time.monotonic() - start < 2


def test_psycopg3_query_interrupted_by_timeout(postgres: Postgres) -> None:
    psycopg = _psycopg()
    conn = psycopg.connect(postgres.dsn)
    try:
        start = time.monotonic()
        with pytest.raises(greenlane.Timeout):
            with greenlane.Timeout(0.2):
                conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - start < 2
    finally:
        conn.close()
    # (the conftest checks that no listener or timer was left behind on the hub)


def test_psycopg3_connect_timeout_to_a_silent_server() -> None:
    # A listening socket that never answers: connect_timeout must fire, without blocking.
    psycopg = _psycopg()
    from greenlane.green import socket as green_socket

    with green_socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        ticks: list[int] = []
        background = spawn(lambda: [(ticks.append(1), sleep(0.05)) for _ in range(100)])
        start = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"host=127.0.0.1 port={port} dbname=x connect_timeout=2")
        elapsed = time.monotonic() - start
        background.kill()
        assert 1.5 <= elapsed < 6
        assert len(ticks) >= 10


def test_psycopg3_unknown_seam_is_refused_clearly() -> None:
    waiting = types.ModuleType("psycopg.waiting")

    def wait_conn(gen: Any, deadline: Any) -> None:
        raise AssertionError("never called")
    waiting.wait = waiting.wait_conn = wait_conn  # type: ignore[attr-defined]
    waiting.Ready = object()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match=r"psycopg 9\.9.*\['gen', 'deadline'\].*3\.0 to 3\.3"):
        green_psycopg._flavour(waiting, "9.9")
    del waiting.wait_conn  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="psycopg 9.9: psycopg.waiting has no"):
        green_psycopg._flavour(waiting, "9.9")


def test_psycopg3_patch_is_idempotent_and_marked() -> None:
    _psycopg()
    waiting: Any = pytest.importorskip("psycopg.waiting")
    wait, wait_conn = waiting.wait, waiting.wait_conn
    green_psycopg.patch_psycopg()
    assert waiting.wait is wait and waiting.wait_conn is wait_conn
    assert wait.__greenlane__ and wait.__name__ == "wait"


# ----------------------------------------------------------------------------- psycopg2
def test_psycopg2_concurrent_queries_overlap(postgres: Postgres) -> None:
    psycopg2 = _psycopg2()

    def query(i: int) -> Any:
        conn = psycopg2.connect(postgres.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_sleep(%s), %s::int", (QUERY_SECONDS, i))
                return cur.fetchone()[1]
        finally:
            conn.close()

    results, elapsed = _all_at_once(query, CONCURRENCY)
    assert results == list(range(CONCURRENCY))
    assert elapsed < 3.0, f"{CONCURRENCY} concurrent pg_sleep({QUERY_SECONDS}) took {elapsed:.2f}s"


def test_psycopg2_errors_and_interruption(postgres: Postgres) -> None:
    psycopg2 = _psycopg2()
    assert psycopg2.extensions.get_wait_callback() is green_psycopg.green_wait_callback
    conn = psycopg2.connect(postgres.dsn)
    try:
        with conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.SyntaxError):
                cur.execute("SELEC 1")
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT %s || %s", ("green", "lane"))
            assert cur.fetchone() == ("greenlane",)
        start = time.monotonic()
        with pytest.raises(greenlane.Timeout):
            with greenlane.Timeout(0.2):
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - start < 2
        assert conn.closed  # psycopg2 gives up a connection whose wait callback failed
    finally:
        conn.close()


# ----------------------------------------------------------------------------- subprocesses
_SCRIPT = """
import importlib, json, sys, time
mode, driver, dsn, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import greenlane
facts = {}
if mode == "patched":
    greenlane.monkey_patch()
    # Patching imports no driver; the import below patches it.
    facts["imported_by_patching"] = driver in sys.modules
module = importlib.import_module(driver)
if mode == "late":
    greenlane.monkey_patch()  # the driver was imported first: patched at once
if mode != "plain" and driver == "psycopg":
    facts["green"] = bool(getattr(importlib.import_module("psycopg.waiting").wait,
                                  "__greenlane__", False))
if mode != "plain" and driver == "psycopg2":
    from greenlane.green.psycopg import green_wait_callback
    facts["green"] = module.extensions.get_wait_callback() is green_wait_callback

def query(i):
    conn = module.connect(dsn)
    cur = conn.cursor()
    cur.execute("SELECT pg_sleep(0.2)")
    cur.fetchall()
    conn.close()

start = time.monotonic()
threads = [greenlane.spawn(query, i) for i in range(count)]
for gt in threads:
    gt.wait()
facts["elapsed"] = time.monotonic() - start
print(json.dumps(facts))
"""


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_without_the_patch_queries_run_one_at_a_time(postgres: Postgres, driver: str) -> None:
    if driver == "psycopg":
        _psycopg()
    else:
        need(driver)
    count = 5
    facts = run_script(_SCRIPT, "plain", driver, postgres.dsn, str(count))
    assert facts["elapsed"] >= count * QUERY_SECONDS * 0.95, facts
    facts = run_script(_SCRIPT, "patched", driver, postgres.dsn, str(count))
    assert facts["imported_by_patching"] is False
    assert facts["green"] is True
    assert facts["elapsed"] < count * QUERY_SECONDS * 0.6, facts
    facts = run_script(_SCRIPT, "late", driver, postgres.dsn, str(count))
    assert facts["green"] is True
    assert facts["elapsed"] < count * QUERY_SECONDS * 0.6, facts
