"""Pools of DB-API database connections for green threads: eventlet's ``db_pool``.

``ConnectionPool(db_module, min_size=0, max_size=4, max_idle=10, max_age=30, connect_timeout=5,
cleanup=cleanup_rollback, *args, **kwargs)`` keeps at most ``max_size`` connections made with
``db_module.connect(*args, **kwargs)``. ``get()`` returns one wrapped in a
``PooledConnectionWrapper`` (its ``close()`` gives it back to the pool), ``put(conn)`` gives it
back, ``with pool.item() as conn:`` does both. A connection given back is cleaned up first
(``cleanup``, by default ``rollback()``, so an unfinished transaction never leaks into the next
user); one idle for more than ``max_idle`` seconds or older than ``max_age`` seconds is closed.
A green thread that asks when all ``max_size`` connections are in use waits, first come first
served (``greenlane.pools.Pool``).

Two ways to talk to the database, as in eventlet:

* ``TpooledConnectionPool`` (also ``ConnectionPool``) connects in ``greenlane.tpool``'s threads
  and hands out ``tpool.Proxy`` objects whose methods, and those of the cursors they make, run
  in those threads: any blocking DB-API driver, and only the calling green thread waits.
* ``RawConnectionPool`` hands out the driver's own connections. Only a green driver keeps the
  other green threads running while it waits: psycopg2 or psycopg after
  ``monkey_patch(psycopg=True)`` (``greenlane.green.psycopg``), or a pure-Python driver on
  patched sockets. With a plain C driver every query blocks the whole OS thread.

``DatabaseConnector(module, credentials)`` keeps one pool per ``(host, database)``.

Where it differs from eventlet's ``db_pool``:

* Idle and age limits are measured on the monotonic clock, not ``time.time()``: setting the
  system clock neither expires every connection nor keeps stale ones.
* The timer that closes expired idle connections (in a green thread of its own, so closing a
  ``tpool`` connection can wait) is cancelled by ``clear()``, so a cleared pool leaves nothing
  on the hub.
* A connection given back while the pool holds more than ``max_size`` (after ``resize()``
  shrank it) is closed; ``greenlane.pools.Pool`` would only drop it.
* When ``cleanup`` raises a ``BaseException`` (``KeyboardInterrupt``, ``Timeout``), the
  connection is discarded and its slot freed before the exception propagates (eventlet lost
  the slot for good, so the pool shrank by one each time).
* Problems that eventlet printed on stdout (``close()`` or ``cleanup`` raising) are logged as
  warnings on the ``greenlane.db_pool`` logger.
* Wrappers forward every other attribute of the connection too (``conn.closed``,
  ``conn.set_session(...)``, ``conn.autocommit = True`` on psycopg2), not only the MySQLdb-era
  methods eventlet lists.
* A ``connect_timeout`` that fires while ``TpooledConnectionPool`` is connecting raises
  ``ConnectTimeout`` at once, as in eventlet; the connection the thread completes later is
  dropped, and the driver closes it when it is garbage collected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, NoReturn, Optional

from greenlane import _originals as real
from greenlane import tpool
from greenlane.greenthread import spawn_n
from greenlane.hubs import get_hub
from greenlane.hubs.timer import Timer
from greenlane.pools import Pool
from greenlane.timeout import Timeout

__all__ = [
    "BaseConnectionPool",
    "ConnectTimeout",
    "ConnectionPool",
    "DatabaseConnector",
    "GenericConnectionWrapper",
    "PooledConnectionWrapper",
    "RawConnectionPool",
    "TpooledConnectionPool",
    "cleanup_rollback",
]

_log = logging.getLogger("greenlane.db_pool")

# ``put(conn)`` without ``cleanup=``: use the pool's own cleanup (None means "no cleanup").
_MISSING: Any = object()

# What the pool keeps for a free connection: (last given back, created, the connection), the
# monotonic clock's readings. Kept as a tuple, as eventlet does: code that looks at
# ``pool.free_items`` sees the same shape.
Entry = tuple[float, float, Any]


class ConnectTimeout(Exception):
    """Connecting took longer than the pool's ``connect_timeout``; raised by ``get()``."""


def cleanup_rollback(conn: Any) -> None:
    """The default ``cleanup``: roll back whatever transaction ``conn`` left open."""
    conn.rollback()


class BaseConnectionPool(Pool[Entry]):
    """A ``Pool`` of database connections; subclasses say how to connect (``create``).

    Args:
        db_module: the DB-API module (``psycopg2``, ``MySQLdb``, ...), or any object with a
            ``connect`` function.
        min_size: connections made up front.
        max_size: the most connections open at once, in use or free.
        max_idle: seconds a free connection may wait unused before it is closed; 0 closes
            every connection as it is given back (the pool then only limits concurrency).
        max_age: seconds a connection may live, however busy; 0 as for ``max_idle``.
        connect_timeout: seconds ``get()`` may spend connecting before it raises
            ``ConnectTimeout`` (None: no limit).
        cleanup: called with the connection each time it is given back (default: roll
            back); if it raises an ``Exception``, the connection is discarded.
        *args, **kwargs: passed to ``db_module.connect``.

    ``get()``, ``put()``, ``item()``, ``resize()``, ``free()`` and ``waiting()`` behave as in
    ``greenlane.pools.Pool``, with connections wrapped on the way out and checked, cleaned
    up and stamped on the way back.
    """

    def __init__(self, db_module: Any, min_size: int = 0, max_size: int = 4,
                 max_idle: float = 10, max_age: float = 30,
                 connect_timeout: Optional[float] = 5,
                 cleanup: Optional[Callable[[Any], Any]] = cleanup_rollback,
                 *args: Any, **kwargs: Any) -> None:
        if not db_module:
            raise ValueError(f"{type(self).__name__} needs a database module, got "
                             f"{db_module!r}")
        self._db_module = db_module
        self._args = args
        self._kwargs = kwargs
        self.max_idle = max_idle
        self.max_age = max_age
        self.connect_timeout = connect_timeout
        self.cleanup = cleanup
        self._expiration_timer: Optional[Timer] = None
        # Identifies the armed expiry: a green thread started by a timer that clear() has
        # disowned since finds another marker (or none) and does nothing.
        self._expiration_marker: Optional[object] = None
        super().__init__(min_size=min_size, max_size=max_size, order_as_stack=True)

    # ------------------------------------------------------------------ out and back
    def get(self) -> PooledConnectionWrapper:  # type: ignore[override]
        """A connection, wrapped: a free one, a new one, or the next one given back.

        Raises:
            ConnectTimeout: connecting took longer than ``connect_timeout``.
            Exception: whatever the driver's ``connect`` raised (the slot is freed).
        """
        entry = super().get()
        if isinstance(entry, tuple):
            _, created_at, conn = entry
        else:
            # A subclass whose create() returns the bare connection, as eventlet tolerated.
            conn, created_at = entry, real.monotonic()
        wrapped = PooledConnectionWrapper(conn, self)
        wrapped._db_pool_created_at = created_at
        return wrapped

    def put(self, conn: Any, cleanup: Any = _MISSING) -> None:
        """Give ``conn`` back (a wrapper from ``get()``; the wrapper is spent afterwards).

        An expired connection (older than ``max_age``, or anything that is not a live
        wrapper, ``None`` included) is closed and its slot freed, so a waiting ``get()``
        connects anew. Otherwise ``cleanup`` (default: the pool's; ``None`` for none) runs
        first; if it raises an ``Exception`` the connection is discarded, a
        ``BaseException`` discards it and propagates.
        """
        created_at = getattr(conn, "_db_pool_created_at", None)
        now = real.monotonic()
        base = self._unwrap_connection(conn)
        if self._is_expired(now, now, created_at):
            self._safe_close(base, quiet=False)
            base = None
        elif cleanup is not None and base is not None:
            if cleanup is _MISSING:
                cleanup = self.cleanup
            if cleanup is not None:
                try:
                    cleanup(base)
                except Exception as exc:  # noqa: BLE001 - a failed cleanup means a dead conn
                    _log.warning("cleanup %r raised %r: discarding the connection",
                                 cleanup, exc)
                    self._safe_close(base, quiet=True)
                    base = None
                except BaseException:
                    self._safe_close(base, quiet=True)
                    self._discard_slot()
                    raise
        if base is not None and self.current_size > self.max_size:
            self._safe_close(base, quiet=True)  # resize() shrank the pool below its size
            base = None
        if base is not None:
            assert created_at is not None  # else _is_expired
            super().put((now, created_at, base))
        else:
            self._discard_slot()
        self._schedule_expiration()

    @contextmanager
    def item(  # type: ignore[override]
            self, cleanup: Any = _MISSING) -> Iterator[PooledConnectionWrapper]:
        """``with pool.item() as conn:`` gets a connection and puts it back (with ``cleanup``)."""
        conn = self.get()
        try:
            yield conn
        finally:
            self.put(conn, cleanup=cleanup)

    def clear(self) -> None:
        """Close every free connection and forget it; stop the expiry timer.

        Connections in use are not touched; given back later, they are kept as usual.
        """
        timer, self._expiration_timer = self._expiration_timer, None
        self._expiration_marker = None
        if timer is not None:
            timer.cancel()
        while self.free_items:
            item = self.free_items.popleft()
            self.current_size -= 1
            self._safe_close(item[2] if isinstance(item, tuple) else item, quiet=True)

    def __del__(self) -> None:
        # A pool dropped with free connections closes them, as eventlet's does. A pending
        # expiry timer holds the pool, so none is left here.
        if getattr(self, "free_items", None):
            self.clear()

    # ------------------------------------------------------------------ expiry
    def _discard_slot(self) -> None:
        # A connection is gone: one fewer exists, and a waiting get() may connect anew.
        self.current_size -= 1
        self._serve_waiters()

    def _is_expired(self, now: float, last_used: float, created_at: Optional[float]) -> bool:
        return (created_at is None or self.max_idle <= 0 or self.max_age <= 0
                or now - last_used > self.max_idle or now - created_at > self.max_age)

    def _expire_old_connections(self, now: float) -> None:
        """Close the free connections idle longer than ``max_idle`` or older than ``max_age``."""
        keep = [item for item in self.free_items if not self._is_expired(now, item[0], item[1])]
        if len(keep) == len(self.free_items):
            return
        expired = [item for item in self.free_items if self._is_expired(now, item[0], item[1])]
        self.free_items.clear()
        self.free_items.extend(keep)
        self.current_size -= len(expired)
        for item in expired:
            self._safe_close(item[2], quiet=True)
        self._serve_waiters()

    def _schedule_expiration(self) -> None:
        """Expire what is due now, and arm one timer for the next free connection to expire.

        With ``max_idle`` or ``max_age`` 0 nothing waits in the pool, so no timer is needed.
        The timer starts a green thread rather than closing from the hub's greenlet: closing
        a ``tpool`` connection waits for a pool thread, which only a green thread may do.
        """
        if self.max_idle <= 0 or self.max_age <= 0 or self._expiration_timer is not None:
            return
        now = real.monotonic()
        self._expire_old_connections(now)
        if not self.free_items:
            return
        # Stack order: the connection given back longest ago is the last one.
        idle_due = self.free_items[-1][0] + self.max_idle
        age_due = min(item[1] for item in self.free_items) + self.max_age
        delay = max(0.0, min(idle_due, age_due) - now)
        marker = self._expiration_marker = object()
        self._expiration_timer = get_hub().schedule_call_global(
            delay, spawn_n, self._expiration_due, marker)

    def _expiration_due(self, marker: object) -> None:
        if marker is not self._expiration_marker:
            return  # clear() disowned this timer after it fired
        self._expiration_timer = self._expiration_marker = None
        self._schedule_expiration()

    # ------------------------------------------------------------------ helpers (eventlet's)
    def _unwrap_connection(self, conn: Any) -> Any:
        """The connection inside a live wrapper (spending the wrapper), else None."""
        base = None
        try:
            if conn:
                base = conn._base
                conn._destroy()
        except AttributeError:
            pass  # not a wrapper, or one without _destroy: what was found is returned
        return base

    def _safe_close(self, conn: Any, quiet: bool = False) -> None:
        """Close ``conn``; an ``Exception`` from ``close()`` is logged unless ``quiet``."""
        try:
            conn.close()
        except AttributeError:
            pass  # None, or not a connection
        except Exception as exc:  # noqa: BLE001 - the connection is being thrown away
            if not quiet:
                _log.warning("closing a pooled connection raised %r", exc)

    @classmethod
    def connect(cls, db_module: Any, connect_timeout: Optional[float], *args: Any,
                **kwargs: Any) -> Any:
        """Open one connection with ``db_module``; each subclass says how."""
        raise NotImplementedError("BaseConnectionPool subclasses define connect()")

    def create(self) -> Entry:
        """Open a new connection with ``connect`` and stamp it (called by ``get``)."""
        now = real.monotonic()
        return now, now, self.connect(self._db_module, self.connect_timeout, *self._args,
                                      **self._kwargs)


class TpooledConnectionPool(BaseConnectionPool):
    """Connections made and used in ``greenlane.tpool``'s threads, for any blocking driver.

    What ``get()`` returns wraps a ``tpool.Proxy`` of the connection; its methods, and those
    of the cursors ``cursor()`` returns (proxied too), run in a pool thread while only the
    calling green thread waits.
    """

    @classmethod
    def connect(cls, db_module: Any, connect_timeout: Optional[float], *args: Any,
                **kwargs: Any) -> Any:
        """``db_module.connect(*args, **kwargs)`` in a pool thread, within ``connect_timeout``."""
        with Timeout(connect_timeout, ConnectTimeout()):
            conn = tpool.execute(db_module.connect, *args, **kwargs)
        return tpool.Proxy(conn, autowrap_names=("cursor",))


class RawConnectionPool(BaseConnectionPool):
    """The driver's own connections, for green drivers (see the module docstring)."""

    @classmethod
    def connect(cls, db_module: Any, connect_timeout: Optional[float], *args: Any,
                **kwargs: Any) -> Any:
        """``db_module.connect(*args, **kwargs)`` in this green thread, within ``connect_timeout``.

        The timeout can only interrupt a driver that waits cooperatively.
        """
        with Timeout(connect_timeout, ConnectTimeout()):
            return db_module.connect(*args, **kwargs)


ConnectionPool = TpooledConnectionPool
"""The default pool: ``TpooledConnectionPool`` (as in eventlet)."""


class _Forwarded:
    """A method name eventlet's wrapper forwards: the connection's own attribute.

    On a spent wrapper the name still exists (code written for eventlet may look it up
    before calling it) and is a function that raises ``AttributeError`` when called.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        try:
            base = instance.__dict__["_base"]
        except KeyError:
            name = self.name

            def spent(*args: Any, **kwargs: Any) -> NoReturn:
                _spent(instance, name)

            spent.__name__ = spent.__qualname__ = name
            return spent
        return getattr(base, self.name)


def _spent(wrapper: Any, name: str) -> NoReturn:
    raise AttributeError(f"this {type(wrapper).__name__} has no connection any more (it was "
                         f"closed or given back to its pool): no {name!r}")


# The wrapper's own attributes; any other name is the connection's.
_OWN = frozenset({"_base", "_pool", "_db_pool_created_at"})


class GenericConnectionWrapper:
    """Stands for a DB-API connection (``_base``): calls and attributes go to it.

    Every attribute is read from, written to and deleted on the connection, so a
    psycopg2 ``conn.autocommit`` is its boolean (eventlet forwarded only a list of MySQLdb-era
    method names, as methods). Those names still exist on a spent wrapper (one whose
    connection was closed or given back), as functions that raise ``AttributeError`` when
    called; any other name raises at once. ``with conn:`` is the connection's own context
    manager.
    """

    _base: Any

    def __init__(self, baseconn: Any) -> None:
        self._base = baseconn

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: the wrapper's own names are never forwarded
        # (a spent wrapper has no _base and says so).
        if (name in _OWN and name != "_base") or (name.startswith("__")
                                                   and name.endswith("__")):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        try:
            base = self.__dict__["_base"]
        except KeyError:
            _spent(self, name)
        return getattr(base, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._base, name, value)

    def __delattr__(self, name: str) -> None:
        if name in _OWN:
            object.__delattr__(self, name)
        else:
            delattr(self._base, name)

    def __enter__(self) -> Any:
        return self._base.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        return self._base.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return repr(self._base)

    affected_rows = _Forwarded("affected_rows")
    autocommit = _Forwarded("autocommit")
    begin = _Forwarded("begin")
    change_user = _Forwarded("change_user")
    character_set_name = _Forwarded("character_set_name")
    close = _Forwarded("close")
    commit = _Forwarded("commit")
    cursor = _Forwarded("cursor")
    dump_debug_info = _Forwarded("dump_debug_info")
    errno = _Forwarded("errno")
    error = _Forwarded("error")
    errorhandler = _Forwarded("errorhandler")
    get_server_info = _Forwarded("get_server_info")
    insert_id = _Forwarded("insert_id")
    literal = _Forwarded("literal")
    ping = _Forwarded("ping")
    query = _Forwarded("query")
    rollback = _Forwarded("rollback")
    select_db = _Forwarded("select_db")
    server_capabilities = _Forwarded("server_capabilities")
    set_character_set = _Forwarded("set_character_set")
    set_isolation_level = _Forwarded("set_isolation_level")
    set_server_option = _Forwarded("set_server_option")
    set_sql_mode = _Forwarded("set_sql_mode")
    show_warnings = _Forwarded("show_warnings")
    shutdown = _Forwarded("shutdown")
    sqlstate = _Forwarded("sqlstate")
    stat = _Forwarded("stat")
    store_result = _Forwarded("store_result")
    string_literal = _Forwarded("string_literal")
    thread_id = _Forwarded("thread_id")
    use_result = _Forwarded("use_result")
    warning_count = _Forwarded("warning_count")


class PooledConnectionWrapper(GenericConnectionWrapper):
    """What ``get()`` returns: ``close()`` gives the connection back to its pool.

    True while it holds a live connection, false once closed or given back (it is spent
    then: using it raises ``AttributeError``). Garbage collection does not give it back (as
    in eventlet): ``put()`` or ``close()`` it, or use ``pool.item()``.
    """

    _pool: Optional[BaseConnectionPool]
    _db_pool_created_at: Optional[float]

    def __init__(self, baseconn: Any, pool: BaseConnectionPool) -> None:
        super().__init__(baseconn)
        self._pool = pool

    def __bool__(self) -> bool:
        return "_base" in self.__dict__ and bool(self._base)

    def _destroy(self) -> None:
        self._pool = None
        self.__dict__.pop("_base", None)

    def close(self) -> None:
        """Give the connection back to the pool; this wrapper is spent afterwards."""
        pool = self._pool
        if self and pool is not None:
            pool.put(self)
        self._destroy()


class DatabaseConnector:
    """One connection pool per ``(host, database)``, made on first use.

    Args:
        module: the DB-API module every pool connects with.
        credentials: host name -> keyword arguments for ``connect`` (user, password, ...);
            the entry ``"default"`` serves hosts not listed.
        conn_pool: the pool class (default ``ConnectionPool``).
        *args, **kwargs: passed to every pool, then to ``connect``.

    ``get(host, dbname)`` connects with ``host=host, db=dbname`` on top of ``kwargs`` and the
    host's credentials: MySQLdb's keyword names, as in eventlet. A driver that spells the
    database differently (psycopg2's ``dbname``) needs a ``conn_pool`` whose ``connect``
    renames it.
    """

    def __init__(self, module: Any, credentials: dict[str, dict[str, Any]],
                 conn_pool: Optional[type[BaseConnectionPool]] = None, *args: Any,
                 **kwargs: Any) -> None:
        if not module:
            raise ValueError(f"DatabaseConnector needs a database module, got {module!r}")
        self._module = module
        self._conn_pool_class = ConnectionPool if conn_pool is None else conn_pool
        self._credentials = credentials
        self._args = args
        self._kwargs = kwargs
        self._databases: dict[tuple[str, str], BaseConnectionPool] = {}

    def credentials_for(self, host: str) -> Optional[dict[str, Any]]:
        """The connect arguments for ``host``: its own, else ``"default"``'s, else None."""
        if host in self._credentials:
            return self._credentials[host]
        return self._credentials.get("default")

    def get(self, host: str, dbname: str) -> BaseConnectionPool:
        """The pool for ``dbname`` on ``host``, made the first time it is asked for.

        Raises:
            KeyError: no credentials for ``host`` and no ``"default"`` entry.
        """
        key = (host, dbname)
        pool = self._databases.get(key)
        if pool is None:
            credentials = self.credentials_for(host)
            if credentials is None:
                raise KeyError(f"DatabaseConnector has no credentials for host {host!r} and "
                               f"no 'default' entry")
            kwargs = {**self._kwargs, "db": dbname, "host": host, **credentials}
            pool = self._databases[key] = self._conn_pool_class(self._module, *self._args,
                                                                **kwargs)
        return pool
