"""PostgreSQL drivers on green threads: psycopg 3 and psycopg2 (``monkey_patch(psycopg=True)``).

Both drivers talk to the server through libpq, in C, on a socket that libpq owns, so green
sockets cannot help; but both let the program do the waiting:

* **psycopg 3** (``psycopg``, 3.0 to 3.3): its synchronous connections hand every wait for
  libpq's socket to ``psycopg.waiting.wait`` (queries, commits, COPY, pipelines, notifies) and
  ``psycopg.waiting.wait_conn`` (connecting, cancelling), which ``psycopg.Connection`` looks up
  in that module at each call. ``patch_psycopg()`` replaces both with functions that suspend
  only the calling green thread on the hub, with psycopg's own semantics for each version
  (3.0/3.1: ``timeout``; 3.2: ``interval``, waking to let the generator check its deadlines;
  3.3: ``interval`` and ``timeout``, raising psycopg's ``_WaitTimeout``). Any other signature
  is refused with an error naming the version, instead of guessing.
* **psycopg2**: ``patch_psycopg2()`` installs ``green_wait_callback`` with
  ``psycopg2.extensions.set_wait_callback``, the hook psycopg2 provides for coroutine libraries.
  psycopg2 then works in its "green" mode, with that mode's documented limits (no
  ``copy_from``/``copy_to``/``copy_expert`` and no large objects; use psycopg 3 for those).

``monkey_patch()`` patches the drivers that are installed, now if already imported, otherwise
the moment they are imported (``greenlane.patcher.after_import``), so patching costs nothing
for a driver the program never uses and imports neither. A driver that is not installed is
skipped silently, as eventlet does: ``monkey_patch()`` patches everything by default, and an
application without PostgreSQL must not be told about it. Calling ``patch_psycopg()`` or
``patch_psycopg2()`` directly raises ``ImportError`` when the driver is missing. If an
installed psycopg 3 has no seam greenlane knows, ``monkey_patch()`` warns (``RuntimeWarning``)
and leaves it blocking.

What stays blocking, because libpq does it in C inside one call: resolving a host *name* when
connecting (give an IP address, or ``hostaddr``, to avoid it) and ``cancel()`` (which opens a
connection of its own; psycopg 3's ``cancel_safe()`` with libpq 17 is cooperative). A query
interrupted by ``greenlane.Timeout`` leaves psycopg 3's connection busy (discard it, or
``cancel_safe()``; ``psycopg_pool`` discards it) and makes psycopg2 close the connection. Give
each green thread its own connection (or take one from a pool): one connection used by two
green threads at the same moment is not supported (the drivers guard a connection with locks
that are real OS locks unless ``thread`` is patched too, and psycopg2's is always in C).

Differences from eventlet: eventlet supports psycopg2 only (``make_psycopg_green``, offered
here under that name too) and imports it while patching.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any, Callable, Optional

from greenlet import getcurrent

from greenlane.hubs import READ, WRITE, get_hub

__all__ = ["green_wait_callback", "make_psycopg_green", "patch_psycopg", "patch_psycopg2"]

# Nothing in a stdlib module is replaced by name; the drivers are patched by __after_patch__.
__patches__: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

# psycopg's Wait and Ready bits (stable since 3.0: selectors' EVENT_READ and EVENT_WRITE).
_R, _W = 1, 2


class _TimedOut:
    __slots__ = ()


_TIMED_OUT = _TimedOut()


def _wait_ready(fileno: int, want: int, timeout: Optional[float]) -> int:
    """Park until ``fileno`` is readable (``want & 1``) or writable (``want & 2``).

    Returns the direction that woke it (1 or 2), or 0 when ``timeout`` (seconds, None for no
    limit) ran out first. Raises whatever is thrown into the green thread meanwhile.
    """
    hub = get_hub()
    current = getcurrent()
    listeners = []
    timer = None
    if timeout is not None:
        timer = hub.schedule_call_global(timeout, current.switch, _TIMED_OUT)
    try:
        if want == _R:
            listeners.append(hub.add(READ, fileno, current.switch, current.throw))
            return _R if hub.switch() is not _TIMED_OUT else 0
        if want == _W:
            listeners.append(hub.add(WRITE, fileno, current.switch, current.throw))
            return _W if hub.switch() is not _TIMED_OUT else 0

        def on_read(_fileno: int) -> None:
            current.switch(_R)

        def on_write(_fileno: int) -> None:
            current.switch(_W)
        listeners.append(hub.add(READ, fileno, on_read, current.throw))
        listeners.append(hub.add(WRITE, fileno, on_write, current.throw))
        woken = hub.switch()
        return 0 if woken is _TIMED_OUT else int(woken)
    finally:
        for listener in listeners:
            hub.remove(listener)
        if timer is not None:
            timer.cancel()


# ----------------------------------------------------------------------------- psycopg 3
def _version_of(module: ModuleType) -> str:
    return str(getattr(module, "__version__", "?"))


def _flavour(waiting: ModuleType, version: str) -> str:
    """Which of psycopg's wait signatures this version has: "3.1", "3.2" or "3.3"."""
    wait_conn = getattr(waiting, "wait_conn", None)
    if wait_conn is None or not hasattr(waiting, "wait") or not hasattr(waiting, "Ready"):
        raise RuntimeError(f"psycopg {version}: psycopg.waiting has no wait/wait_conn/Ready, "
                           "the functions greenlane replaces (it knows psycopg 3.0 to 3.3)")
    import inspect  # only here: it costs milliseconds to import, and patching must be quick

    try:
        params = list(inspect.signature(wait_conn).parameters)
    except (TypeError, ValueError):
        params = []
    if params == ["gen", "interval", "timeout"]:
        return "3.3"
    if params == ["gen", "interval"]:
        return "3.2"
    if params == ["gen", "timeout"]:
        return "3.1"
    raise RuntimeError(f"psycopg {version}: psycopg.waiting.wait_conn has the parameters "
                       f"{params}, which greenlane does not know (it knows psycopg 3.0 to 3.3)")


def _deadline(timeout: Optional[float]) -> Optional[float]:
    return None if timeout is None else get_hub().clock() + timeout


def _until(interval: float, deadline: Optional[float]) -> float:
    # The wait before the next wake-up: the interval, but not past the deadline.
    if deadline is None:
        return interval
    return max(0.0, min(interval, deadline - get_hub().clock()))


def _expired(deadline: Optional[float]) -> bool:
    return deadline is not None and get_hub().clock() >= deadline


def _make_psycopg_waits(waiting: ModuleType, errors: ModuleType, flavour: str
                        ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Green ``wait`` and ``wait_conn`` with the signature and semantics of ``flavour``."""
    ready_of = {_R: waiting.Ready.R, _W: waiting.Ready.W}
    ready_none = getattr(waiting.Ready, "NONE", 0)
    wait_timeout = getattr(errors, "_WaitTimeout", None)
    connection_timeout = getattr(errors, "ConnectionTimeout", errors.OperationalError)
    check_closed = getattr(waiting, "_check_fd_closed", None)

    def finished(gen: Any, ready: int) -> Any:
        return gen.send(ready_of[ready])

    if flavour == "3.1":
        # wait(gen, fileno, timeout): `timeout` only paced psycopg's own loop (for Ctrl-C); it
        # waits until ready. wait_conn(gen, timeout): `timeout` is the connection timeout.
        def wait(gen: Any, fileno: int, timeout: Optional[float] = None) -> Any:
            try:
                state = next(gen)
                while True:
                    state = finished(gen, _wait_ready(fileno, state, None))
            except StopIteration as stop:
                return stop.args[0] if stop.args else None

        def wait_conn(gen: Any, timeout: Optional[float] = None) -> Any:
            try:
                fileno, state = next(gen)
                while True:
                    ready = _wait_ready(fileno, state, timeout or None)
                    if not ready:
                        raise connection_timeout("connection timeout expired")
                    fileno, state = finished(gen, ready)
            except StopIteration as stop:
                return stop.args[0] if stop.args else None

        return wait, wait_conn

    def wait_any(gen: Any, fileno: int, interval: float = 0.0,
                 timeout: Optional[float] = None) -> Any:
        # 3.2 and 3.3: wake every `interval` and tell the generator nothing happened (it
        # checks its own deadlines then); 3.3 also has an overall `timeout`.
        if interval is None:
            raise ValueError("indefinite wait not supported anymore")
        deadline = _deadline(timeout)
        try:
            state = next(gen)
            while True:
                ready = _wait_ready(fileno, state, _until(interval, deadline))
                if ready:
                    state = finished(gen, ready)
                else:
                    if check_closed is not None:
                        check_closed(fileno)
                    gen.send(ready_none)
                if _expired(deadline) and wait_timeout is not None:
                    raise wait_timeout("wait timeout expired")
        except StopIteration as stop:
            return stop.value

    def wait_conn_any(gen: Any, interval: float = 0.0, timeout: Optional[float] = None) -> Any:
        if interval is None:
            raise ValueError("indefinite wait not supported anymore")
        deadline = _deadline(timeout)
        try:
            fileno, state = next(gen)
            while True:
                ready = _wait_ready(fileno, state, _until(interval, deadline))
                if ready:
                    fileno, state = finished(gen, ready)
                else:
                    gen.send(ready_none)
                if _expired(deadline) and wait_timeout is not None:
                    raise wait_timeout("wait timeout expired")
        except StopIteration as stop:
            return stop.value

    if flavour == "3.2":
        def wait_32(gen: Any, fileno: int, interval: float = 0.0) -> Any:
            return wait_any(gen, fileno, interval)

        def wait_conn_32(gen: Any, interval: float = 0.0) -> Any:
            return wait_conn_any(gen, interval)

        return wait_32, wait_conn_32
    return wait_any, wait_conn_any


def _is_green(function: Any) -> bool:
    return bool(getattr(function, "__greenlane__", False))


def patch_psycopg() -> None:
    """Make psycopg 3's synchronous connections wait cooperatively (idempotent).

    Replaces ``psycopg.waiting.wait`` and ``psycopg.waiting.wait_conn``; see the module
    docstring. The async connections (asyncio) are not affected.

    Raises:
        ImportError: psycopg 3 is not installed.
        RuntimeError: this psycopg version waits in a way greenlane does not know.
    """
    psycopg = importlib.import_module("psycopg")
    waiting: Any = importlib.import_module("psycopg.waiting")
    if _is_green(waiting.wait) and _is_green(waiting.wait_conn):
        return
    version = _version_of(psycopg)
    flavour = _flavour(waiting, version)
    wait, wait_conn = _make_psycopg_waits(waiting, importlib.import_module("psycopg.errors"),
                                          flavour)
    for function, name in ((wait, "wait"), (wait_conn, "wait_conn")):
        function.__name__ = function.__qualname__ = name
        function.__doc__ = (f"greenlane's cooperative psycopg.waiting.{name} "
                            f"(psycopg {flavour} signature): waits on the hub")
        function.__greenlane__ = True  # type: ignore[attr-defined]
    waiting.wait = wait
    waiting.wait_conn = wait_conn


# ----------------------------------------------------------------------------- psycopg2
def green_wait_callback(conn: Any, timeout: Optional[float] = None) -> None:
    """psycopg2's wait callback for green threads: poll ``conn`` and park on the hub.

    Installed by ``patch_psycopg2()`` with ``psycopg2.extensions.set_wait_callback``; eventlet
    calls its own ``eventlet_wait_callback``. ``timeout`` (seconds) bounds each wait for the
    socket; psycopg2 itself never passes it.

    Raises:
        psycopg2.OperationalError: ``conn.poll()`` returned a state psycopg2 does not document,
            or a wait ran out of ``timeout``.
    """
    extensions = sys.modules["psycopg2.extensions"]
    poll_ok, poll_read, poll_write = (extensions.POLL_OK, extensions.POLL_READ,
                                      extensions.POLL_WRITE)
    while True:
        state = conn.poll()
        if state == poll_ok:
            return
        if state == poll_read:
            ready = _wait_ready(conn.fileno(), _R, timeout)
        elif state == poll_write:
            ready = _wait_ready(conn.fileno(), _W, timeout)
        else:
            raise extensions.OperationalError(f"bad result from poll(): {state!r}")
        if not ready:
            raise extensions.OperationalError(
                f"timed out after {timeout} s waiting for the PostgreSQL server")


def patch_psycopg2() -> None:
    """Make psycopg2 wait cooperatively: install ``green_wait_callback`` (idempotent).

    Raises:
        ImportError: psycopg2 is not installed.
    """
    extensions = importlib.import_module("psycopg2.extensions")
    if extensions.get_wait_callback() is not green_wait_callback:
        extensions.set_wait_callback(green_wait_callback)


def make_psycopg_green() -> None:
    """eventlet's name (``eventlet.support.psycopg2_patcher``) for ``patch_psycopg2()``."""
    patch_psycopg2()


# ----------------------------------------------------------------------------- patching
_PATCHERS: dict[str, Callable[[], None]] = {"psycopg": patch_psycopg, "psycopg2": patch_psycopg2}


def _patch_quietly(package: str) -> None:
    # From monkey_patch() or the import hook: a driver greenlane cannot patch must not break
    # the program (or its import); it is reported once and left as it is.
    try:
        _PATCHERS[package]()
    except RuntimeError as exc:
        from greenlane.patcher import report_once

        report_once(f"psycopg:{package}", f"greenlane: {exc}; it is left blocking")
    except ImportError as exc:
        warnings.warn(f"greenlane: could not patch {package}: {exc}", RuntimeWarning,
                      stacklevel=2)


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def __after_patch__() -> None:
    """``monkey_patch(psycopg=True)``: patch the installed drivers now or when imported."""
    from greenlane.patcher import after_import

    for package in _PATCHERS:
        if package in sys.modules or _installed(package):
            after_import(package, functools.partial(_patch_quietly, package))
