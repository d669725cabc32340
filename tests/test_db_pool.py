"""greenlane.db_pool: eventlet's database connection pools.

The pool mechanics (wrapping, cleanup, expiry, waiters, resizing) are checked with a small
stand-in DB-API module whose connections record what is done to them; what the pools are for
is checked against a real PostgreSQL through psycopg2: queries of several green threads
overlap, transactions left open are rolled back, idle connections are really closed on the
server, and a connect that hangs is cut off by ``connect_timeout``. ``RawConnectionPool`` runs
psycopg2 made green (``patch_psycopg2()``, what ``monkey_patch(psycopg=True)`` does);
``TpooledConnectionPool`` runs it in tpool's threads, with and without that patch.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

from greenlane import db_pool, tpool
from greenlane.event import Event
from greenlane.green import psycopg as green_psycopg
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from greenlane.timeout import Timeout
from tests._services import Postgres, postgres
from tests.integration._scripts import need

__all__ = ["postgres"]


# ----------------------------------------------------------------------------- stand-in driver
class FakeConnection:
    """Records what the pool does to it."""

    def __init__(self, number: int, kwargs: dict[str, Any]) -> None:
        self.number = number
        self.kwargs = kwargs
        self.rollbacks = 0
        self.closed = False
        self.entered = False
        self.isolation: Any = None

    def rollback(self) -> None:
        self.rollbacks += 1

    def close(self) -> None:
        self.closed = True

    def cursor(self) -> str:
        return f"cursor of {self.number}"

    def set_isolation_level(self, level: Any) -> None:
        self.isolation = level

    def __enter__(self) -> str:
        self.entered = True
        return "the connection's own context"

    def __exit__(self, *exc: Any) -> None:
        self.entered = False


class FakeModule:
    """A DB-API module whose ``connect`` makes FakeConnections (or fails, or hangs)."""

    def __init__(self) -> None:
        self.made: list[FakeConnection] = []
        self.fail: BaseException | None = None
        self.hang: Event | None = None

    def connect(self, *args: Any, **kwargs: Any) -> FakeConnection:
        if self.hang is not None:
            self.hang.wait()
        if self.fail is not None:
            raise self.fail
        conn = FakeConnection(len(self.made), kwargs)
        self.made.append(conn)
        return conn


def raw(module: FakeModule, **kw: Any) -> db_pool.RawConnectionPool:
    return db_pool.RawConnectionPool(module, **kw)


# ----------------------------------------------------------------------------- mechanics
def test_get_wraps_and_put_cleans_up_and_reuses() -> None:
    module = FakeModule()
    pool = raw(module, max_size=2, dsn="x")
    conn = pool.get()
    assert isinstance(conn, db_pool.PooledConnectionWrapper) and conn
    assert module.made[0].kwargs == {"dsn": "x"}
    assert conn.cursor() == "cursor of 0"
    pool.put(conn)
    assert module.made[0].rollbacks == 1  # the default cleanup
    assert not conn  # the wrapper is spent
    spent_cursor = conn.cursor  # eventlet's method names still exist on a spent wrapper...
    with pytest.raises(AttributeError, match="no connection any more"):
        spent_cursor()  # ... and raise when called
    with pytest.raises(AttributeError, match="no connection any more"):
        conn.number  # noqa: B018 - any other name raises at once
    again = pool.get()
    assert again._base is module.made[0] and len(module.made) == 1
    assert pool.free() == 1 and pool.current_size == 1
    pool.put(again)
    pool.clear()
    assert module.made[0].closed and pool.current_size == 0 and not pool.free_items


def test_close_gives_back_instead_of_closing() -> None:
    module = FakeModule()
    pool = raw(module, max_size=1)
    conn = pool.get()
    assert pool.free() == 0
    conn.close()
    assert pool.free() == 1 and not module.made[0].closed
    conn.close()  # a second close of a spent wrapper does nothing
    assert pool.free() == 1 and len(pool.free_items) == 1
    pool.clear()


def test_item_context_manager_and_cleanup_choice() -> None:
    module = FakeModule()
    seen: list[Any] = []
    pool = raw(module, cleanup=seen.append)
    with pool.item() as conn:
        base = conn._base
    assert seen == [base] and base.rollbacks == 0
    with pool.item(cleanup=None):
        pass
    assert seen == [base]  # cleanup=None: nothing runs
    with pool.item(cleanup=db_pool.cleanup_rollback):
        pass
    assert base.rollbacks == 1
    pool.clear()


def test_failing_cleanup_discards_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    module = FakeModule()

    def broken(conn: Any) -> None:
        raise RuntimeError("server went away")

    pool = raw(module, max_size=1, cleanup=broken)
    with caplog.at_level(logging.WARNING, logger="greenlane.db_pool"):
        pool.put(pool.get())
    assert "server went away" in caplog.text
    assert module.made[0].closed and pool.current_size == 0 and pool.free() == 1
    assert pool.get()._base is module.made[1]  # a new connection


def test_cleanup_raising_base_exception_propagates_and_frees_the_slot() -> None:
    module = FakeModule()

    def interrupted(conn: Any) -> None:
        raise KeyboardInterrupt

    pool = raw(module, max_size=1, cleanup=interrupted)
    conn = pool.get()
    with pytest.raises(KeyboardInterrupt):
        pool.put(conn)
    # eventlet lost the slot here; the pool must still be able to hand out a connection.
    assert pool.current_size == 0 and pool.free() == 1 and module.made[0].closed
    with Timeout(1):
        assert pool.get()._base is module.made[1]


def test_put_none_or_a_foreign_object_frees_a_slot_for_a_waiter() -> None:
    module = FakeModule()
    pool = raw(module, max_size=1)
    pool.get()  # never given back properly
    got: list[Any] = []
    waiter = spawn(lambda: got.append(pool.get()))
    sleep(0)
    assert pool.waiting() == 1
    pool.put(None)  # "that connection is dead": the waiter connects anew
    waiter.wait()
    assert got[0]._base is module.made[1] and pool.waiting() == 0 and pool.free() == 0
    pool.put(got[0])
    assert pool.free() == 1
    pool.clear()


def test_waiter_gets_the_connection_put_back() -> None:
    module = FakeModule()
    pool = raw(module, max_size=1)
    conn = pool.get()
    base = conn._base
    done = Event()
    spawn(lambda: done.send(pool.get()))
    sleep(0)
    assert pool.waiting() == 1 and pool.free() == 0
    pool.put(conn)
    with Timeout(1):
        handed = done.wait()
    assert handed._base is base and len(module.made) == 1 and pool.waiting() == 0
    pool.put(handed)
    pool.clear()


def test_connect_failure_frees_the_slot() -> None:
    module = FakeModule()
    module.fail = RuntimeError("refused")
    pool = raw(module, max_size=1)
    with pytest.raises(RuntimeError, match="refused"):
        pool.get()
    assert pool.free() == 1 and pool.current_size == 0


def test_connect_timeout_raises_connect_timeout_and_frees_the_slot() -> None:
    module = FakeModule()
    module.hang = Event()
    pool = raw(module, max_size=1, connect_timeout=0.05)
    start = time.monotonic()
    with pytest.raises(db_pool.ConnectTimeout):
        pool.get()
    assert time.monotonic() - start < 1
    assert pool.free() == 1 and pool.current_size == 0


def test_min_size_connects_up_front_and_clear_closes_them() -> None:
    module = FakeModule()
    pool = raw(module, min_size=3, max_size=5)
    assert len(module.made) == 3 and len(pool.free_items) == 3 and pool.free() == 5
    pool.clear()
    assert all(c.closed for c in module.made) and pool.current_size == 0


def test_zero_max_age_or_idle_closes_on_put() -> None:
    for limits in ({"max_age": 0}, {"max_idle": 0}):
        module = FakeModule()
        pool = raw(module, max_size=1, **limits)
        pool.put(pool.get())
        assert module.made[0].closed and not pool.free_items and pool.free() == 1
        assert get_hub().get_timers_count() == 0  # nothing to expire later


def test_too_old_connection_is_closed_when_put_back() -> None:
    module = FakeModule()
    pool = raw(module, max_size=1, max_age=0.05, max_idle=10)
    conn = pool.get()
    sleep(0.1)
    pool.put(conn)
    assert module.made[0].closed and pool.current_size == 0


def test_idle_connections_are_closed_by_the_pool_on_its_own() -> None:
    module = FakeModule()
    pool = raw(module, max_size=3, max_idle=0.1, max_age=60)
    a, b = pool.get(), pool.get()
    pool.put(a)
    sleep(0.06)
    pool.put(b)
    first, second = module.made
    # Nothing touches the pool from here: its own timer must close them as they expire.
    deadline = time.monotonic() + 2
    while not first.closed and time.monotonic() < deadline:
        sleep(0.01)
    assert first.closed and not second.closed and pool.current_size == 1
    while not second.closed and time.monotonic() < deadline:
        sleep(0.01)
    assert second.closed and pool.current_size == 0 and not pool.free_items
    assert get_hub().get_timers_count() == 0  # no timer is left once the pool is empty


def test_clear_disowns_the_expiry_timer() -> None:
    module = FakeModule()
    pool = raw(module, max_idle=0.05)
    pool.put(pool.get())
    assert get_hub().get_timers_count() == 1
    pool.clear()
    assert get_hub().get_timers_count() == 0
    # A pool used again after clear() arms a new timer, which clear() cancels again.
    pool.put(pool.get())
    pool.clear()
    assert get_hub().get_timers_count() == 0


def test_resize_smaller_closes_surplus_connections_as_they_come_back() -> None:
    module = FakeModule()
    pool = raw(module, max_size=3)
    conns = [pool.get() for _ in range(3)]
    pool.resize(1)
    pool.put(conns[0])
    pool.put(conns[1])
    assert module.made[0].closed and module.made[1].closed and pool.current_size == 1
    pool.put(conns[2])
    assert not module.made[2].closed and len(pool.free_items) == 1
    pool.clear()


def test_generic_wrapper_forwards_methods_attributes_and_context() -> None:
    base = FakeConnection(7, {})
    conn = db_pool.GenericConnectionWrapper(base)
    assert conn.cursor() == "cursor of 7"
    conn.set_isolation_level(3)
    assert base.isolation == 3
    assert conn.number == 7  # any attribute, not only the listed methods
    conn.isolation = "serializable"  # assignment reaches the connection
    assert base.isolation == "serializable" and "isolation" not in vars(conn)
    del conn.isolation
    assert not hasattr(base, "isolation")
    with conn as inner:
        assert inner == "the connection's own context" and base.entered
    assert not base.entered
    assert repr(conn) == repr(base)
    with pytest.raises(AttributeError):
        conn.no_such_attribute  # noqa: B018


def test_database_connector_keeps_one_pool_per_host_and_database() -> None:
    module = FakeModule()
    connector = db_pool.DatabaseConnector(
        module, {"db1.local": {"user": "alice"}, "default": {"user": "guest"}},
        conn_pool=db_pool.RawConnectionPool, max_size=2, charset="utf8")
    pool = connector.get("db1.local", "sales")
    assert connector.get("db1.local", "sales") is pool
    assert connector.get("db1.local", "hr") is not pool
    assert isinstance(pool, db_pool.RawConnectionPool) and pool.max_size == 2
    with pool.item():
        pass
    assert module.made[0].kwargs == {"charset": "utf8", "db": "sales", "host": "db1.local",
                                     "user": "alice"}
    other = connector.get("other.local", "x")
    with other.item():
        pass
    assert module.made[1].kwargs["user"] == "guest"
    pool.clear()
    other.clear()
    with pytest.raises(KeyError, match="nowhere"):
        db_pool.DatabaseConnector(module, {}).get("nowhere", "x")
    assert db_pool.ConnectionPool is db_pool.TpooledConnectionPool


def test_tpooled_pool_proxies_the_connection_and_its_cursors() -> None:
    module = FakeModule()
    pool = db_pool.TpooledConnectionPool(module, max_size=1)
    conn = pool.get()
    assert isinstance(conn._base, tpool.Proxy)
    assert conn.cursor() == "cursor of 0"
    pool.put(conn)
    assert module.made[0].rollbacks == 1
    pool.clear()
    assert module.made[0].closed


def test_a_database_module_is_required() -> None:
    with pytest.raises(ValueError, match="database module"):
        db_pool.RawConnectionPool(None)


# ----------------------------------------------------------------------------- PostgreSQL
POOLS = ["tpooled", "raw-green", "tpooled-green"]


def _pool(kind: str, pg: Postgres, **kw: Any) -> db_pool.BaseConnectionPool:
    psycopg2 = need("psycopg2")
    if kind.endswith("green"):
        green_psycopg.patch_psycopg2()  # as monkey_patch(psycopg=True) does
    else:
        psycopg2.extensions.set_wait_callback(None)
    cls = db_pool.RawConnectionPool if kind.startswith("raw") else db_pool.TpooledConnectionPool
    return cls(psycopg2, host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname, **kw)


@pytest.fixture(autouse=True)
def _unpatch_psycopg2() -> Any:
    yield
    try:
        import psycopg2.extensions
    except ImportError:
        return
    psycopg2.extensions.set_wait_callback(None)


def _fetch(conn: Any, sql: str, *args: Any) -> Any:
    cur = conn.cursor()
    try:
        cur.execute(sql, args or None)
        return cur.fetchall()
    finally:
        cur.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", POOLS)
def test_queries_of_several_green_threads_overlap(postgres: Postgres, kind: str) -> None:
    pool = _pool(kind, postgres, max_size=4)
    ticks: list[float] = []

    def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            sleep(0.02)

    def query(i: int) -> tuple[int, int]:
        with pool.item() as conn:
            rows = _fetch(conn, "SELECT pg_sleep(0.3), %s::int, pg_backend_pid()", i)
            return rows[0][1], rows[0][2]

    tick = spawn(ticker)
    try:
        start = time.monotonic()
        results = [gt.wait() for gt in [spawn(query, i) for i in range(8)]]
        elapsed = time.monotonic() - start
    finally:
        tick.kill()
        pool.clear()
    assert [r[0] for r in results] == list(range(8))
    # 8 queries of 0.3 s on 4 connections: two waves, not eight queries in a row.
    assert 0.55 < elapsed < 1.5, elapsed
    assert len({r[1] for r in results}) == 4  # at most max_size connections, each reused
    assert len(ticks) >= 20  # the hub kept running other green threads meanwhile


@pytest.mark.slow
@pytest.mark.parametrize("kind", POOLS)
def test_open_transaction_is_rolled_back_when_given_back(postgres: Postgres,
                                                        kind: str) -> None:
    pool = _pool(kind, postgres, max_size=1)
    try:
        with pool.item() as conn:
            _fetch(conn, "SELECT 1")
            cur = conn.cursor()
            cur.execute("CREATE TABLE IF NOT EXISTS db_pool_t (k text)")
            cur.execute("TRUNCATE db_pool_t")
            conn.commit()
            cur.execute("INSERT INTO db_pool_t VALUES ('uncommitted')")
            cur.close()
        with pool.item() as conn:
            # Attributes beyond eventlet's method list reach psycopg2's connection.
            conn.autocommit = True
            assert _fetch(conn, "SELECT count(*) FROM db_pool_t") == [(0,)]
            conn.cursor().execute("INSERT INTO db_pool_t VALUES ('autocommitted')")
            assert conn.autocommit is True and conn.closed == 0
        with pool.item() as conn:
            assert _fetch(conn, "SELECT k FROM db_pool_t") == [("autocommitted",)]
            conn.cursor().execute("DROP TABLE db_pool_t")
    finally:
        pool.clear()


@pytest.mark.slow
@pytest.mark.parametrize("kind", POOLS)
def test_idle_connection_is_closed_on_the_server(postgres: Postgres, kind: str) -> None:
    pool = _pool(kind, postgres, max_size=1, max_idle=0.2)
    observer = _pool(kind, postgres, max_size=1, max_idle=60)
    try:
        with pool.item() as conn:
            pid = _fetch(conn, "SELECT pg_backend_pid()")[0][0]

        def backend_alive() -> bool:
            with observer.item() as conn:
                rows = _fetch(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid)
            return bool(rows[0][0])

        assert backend_alive()
        deadline = time.monotonic() + 5
        while backend_alive() and time.monotonic() < deadline:
            sleep(0.05)  # polling the server: it has no event for "a backend exited"
        assert not backend_alive()
        assert pool.current_size == 0 and not pool.free_items
    finally:
        pool.clear()
        observer.clear()


@pytest.mark.slow
@pytest.mark.parametrize("kind", POOLS)
def test_connect_timeout_cuts_off_a_server_that_never_answers(postgres: Postgres,
                                                             kind: str) -> None:
    psycopg2 = need("psycopg2")
    with socket.socket() as silent:
        # Accepts connections (the kernel's backlog) and never says a word.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        if kind.endswith("green"):
            green_psycopg.patch_psycopg2()
        cls = (db_pool.RawConnectionPool if kind.startswith("raw")
               else db_pool.TpooledConnectionPool)
        # libpq's own connect_timeout bounds the thread a tpool connect leaves behind.
        pool = cls(psycopg2, max_size=1, connect_timeout=0.3, dsn=(
            f"host=127.0.0.1 port={port} user=nobody dbname=nothing connect_timeout=3"))
        ticks: list[int] = []

        def ticker() -> None:
            while True:
                ticks.append(1)
                sleep(0.02)

        tick = spawn(ticker)
        start = time.monotonic()
        try:
            with pytest.raises(db_pool.ConnectTimeout):
                pool.get()
        finally:
            tick.kill()
        elapsed = time.monotonic() - start
        assert 0.25 < elapsed < 1.5, elapsed
        assert len(ticks) >= 5  # the wait was cooperative
        assert pool.free() == 1 and pool.current_size == 0
