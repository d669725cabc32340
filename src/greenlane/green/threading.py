"""The ``threading`` module on green threads: ``greenlane.green.threading``.

``monkey_patch(thread=True)`` makes the stdlib ``threading`` module itself run on green threads
without replacing its classes: ``threading`` looks up its ``_thread`` primitives at call time
through a few module globals (``_start_new_thread``, ``_allocate_lock``, ``get_ident``, ...;
``_start_joinable_thread`` and ``_ThreadHandle`` on 3.13), and patching points those at
``greenlane.green.thread``. So ``Thread``, ``Timer``, ``Condition``, ``Event``, ``Semaphore``,
``Barrier``, ``local``, ``current_thread``, ``enumerate``, ``main_thread``, ``join`` with a
timeout, daemon threads and the wait for non-daemon threads at exit all work on green threads,
with the stdlib's own code. What patching also does, once:

* the main thread's join handle (its "thread state lock" up to 3.12) becomes green, so a green
  thread can ``join()`` the main thread;
* the import machinery keeps the real ``_thread`` (module import locks stay real locks);
* locks that exist already are made green where greenlane knows them (``logging``'s module
  lock and every handler's lock, ``concurrent.futures``' shutdown lock) or known to be
  harmless; any other real lock or condition found in a module's globals is reported once
  with a ``RuntimeWarning`` that names it (import that module after patching);
* in a child made by ``os.fork()``, the green threads that did not fork are marked finished.

``current_thread()`` (and its deprecated alias ``currentThread()``) once patched:

* in a green thread that ``threading`` did not start (``greenlane.spawn``, ``spawn_n``, a plain
  greenlet) it is that green thread's ``_GreenThread``, a ``threading.Thread`` made on first
  use and kept on the greenlet itself (the same object on every call, gone with the greenlet,
  never in ``threading._active`` nor listed by ``enumerate()``): ``name`` ``GreenThread-N``
  (settable; logging's ``%(threadName)s`` shows it), ``ident`` the green ``get_ident()``,
  daemonic, ``is_alive()``, and ``join(timeout)`` for a ``spawn``'s green thread;
* in a real OS thread, its ``Thread``: one started by ``threading`` or by
  ``patcher.original("threading")`` (found in that copy's registry), else the stdlib's dummy,
  as for any foreign thread;
* in a green thread started by ``_thread.start_new_thread``, the stdlib's dummy thread, as a
  foreign thread gets (listed by ``enumerate()``, kept after it ends up to CPython 3.12).

Imported without patching, this module is green as well: ``Lock``, ``RLock``, ``local``,
``get_ident`` and ``current_thread`` are green.thread's, and ``Thread``, ``Timer``,
``Condition``, ``Event``, ``Semaphore``, ``BoundedSemaphore`` and ``Barrier`` are subclasses
of the stdlib's classes running the stdlib's own method code against this module's green
names (python-engineio and Flask-SocketIO wait on ``eventlet.green.threading.Event`` without
patching).

Differences from eventlet: eventlet builds this module as a second, private copy of
``threading``; here ``threading``'s registry of threads is shared, so a green ``Thread`` is
listed by ``threading.enumerate()`` while it runs. ``current_thread()`` in a ``spawn_n`` green
thread or a plain greenlet is a ``_GreenThread`` of its own, like a ``spawn``'s (eventlet
returns the OS thread's ``Thread``, the main thread's, whose ``ident`` is not that green
thread's ``get_ident()``); such a one cannot be joined (``RuntimeError``). The
``_GreenThread`` is a real ``threading.Thread`` (eventlet's wrapper is not); its ``join()``
honours ``timeout`` and ``is_alive()`` turns false when the green thread ends (eventlet's
ignores the one and always says True). As under eventlet, the wrapper's
``getName``/``setName``/``isDaemon`` (and ``get_name``, ``set_name``, ``isAlive``,
``is_daemon``) give no DeprecationWarning; the stdlib's other ``Thread`` objects keep theirs.
``threading.currentThread()`` warns as the stdlib's does, unless the eventlet alias set
eventlet's defaults (``CurrentThreadAlias.warns``, a documented setting).
"""

from __future__ import annotations

import os as _os
import sys as _sys
import threading as _stdthreading
import types as _types
import weakref as _weakref
from typing import Any, Optional

from greenlet import getcurrent as _getcurrent

from greenlane import _originals as _real
from greenlane.green import thread as _green_thread
from greenlane.green.thread import (
    LockType,
    _after_fork_in_child,
    allocate_lock,
    get_ident,
    start_joinable_thread,
    start_new_thread,
)
from greenlane.green.thread import RLock as RLock
from greenlane.green.thread import _get_main_thread_ident as _get_main_thread_ident
from greenlane.green.thread import _local as local
from greenlane.green.thread import _make_thread_handle as _make_thread_handle
from greenlane.green.thread import _set_sentinel as _set_sentinel
from greenlane.green.thread import _ThreadHandle as _ThreadHandle
from greenlane.hubs import WaitQueue as _WaitQueue
from greenlane.patcher import _saved, report_once

__all__ = sorted(set(_stdthreading.__all__) | {"CurrentThreadAlias"})

# Every name of threading, so that this module can stand in for it; the green ones below
# replace some. The internals are reached through an untyped alias (typeshed has none).
globals().update({name: value for name, value in vars(_stdthreading).items()
                  if not name.startswith("__") and name not in globals()})
_st: Any = _stdthreading

# The threading internals this module relies on, per CPython version; checked at import so
# that a release that changes them fails here, with its name, and not in some green thread.
_COMMON = ("_active", "_active_limbo_lock", "_DummyThread", "_main_thread", "_allocate_lock",
           "_CRLock", "get_ident", "current_thread", "local", "Lock", "_newname")
_UP_TO_312 = ("_start_new_thread", "_set_sentinel", "_shutdown_locks", "_shutdown_locks_lock")
_FROM_313 = ("_start_joinable_thread", "_ThreadHandle", "_make_thread_handle",
             "_thread_shutdown", "_get_main_thread_ident", "_LockType")
_JOINABLE = hasattr(_stdthreading, "_start_joinable_thread")


def _check_internals() -> None:
    expected = _COMMON + (_FROM_313 if _JOINABLE else _UP_TO_312)
    missing = [name for name in expected if not hasattr(_stdthreading, name)]
    if missing:
        raise RuntimeError(
            f"greenlane cannot patch threading on {_sys.implementation.name} "
            f"{_sys.version.split()[0]}: threading has no {', '.join(missing)} (this Python "
            "changed the internals greenlane.green.threading relies on; please report it)")


_check_internals()

_real_get_ident = _real.get_ident
# The greenlets that _thread.start_new_thread (and threading, through it) runs.
_StartedGreenlet = _green_thread._GreenThread

# threading.Lock: before 3.13 threading's own is _thread.allocate_lock (the type cannot be
# called), from 3.13 the type itself; green.thread's allocate_lock is each, in the same way.
Lock = allocate_lock
_allocate_lock = allocate_lock
_CRLock = RLock
_LockType = LockType
_start_new_thread = start_new_thread
_start_joinable_thread = start_joinable_thread
_thread_shutdown = _green_thread._shutdown
_thread_local_info = local()
"""3.13 keeps each dummy thread's clean-up object here: per green thread once patched."""


def current_thread() -> Any:
    """The ``Thread`` object of the calling thread or green thread.

    * Threads started by ``threading`` (green ones once patched) and the main thread: their
      ``Thread``, found in ``threading._active``.
    * A real OS thread: its ``Thread`` if ``threading`` or ``patcher.original("threading")``
      started it, else the stdlib's own dummy thread (a foreign thread).
    * A green thread started with ``_thread.start_new_thread``: a dummy thread, as a foreign
      thread gets (listed by ``enumerate()``; see the module docstring).
    * Any other green thread (``greenlane.spawn``, ``spawn_n``, a plain greenlet, the hub): its
      ``_GreenThread``, made on first use and kept on the greenlet itself, so it goes when the
      greenlet goes and is never listed in ``threading._active``.
    """
    g = _getcurrent()
    parent = g.parent
    if parent is None:
        # An OS thread's main greenlet: the real thread identity is its identity.
        ident = _real_get_ident()
        thread = _st._active.get(ident)
        if thread is not None:
            return thread
        copy: Any = _saved.copies.get("threading")
        thread = None if copy is None else copy._active.get(ident)
        return thread if thread is not None else _dummy_thread(g, None)
    thread = _st._active.get(id(g))
    mine: Any = getattr(g, "_greenlane_thread", None)
    if thread is not None and (not isinstance(thread, _st._DummyThread) or thread is mine):
        return thread
    # Not listed, or listed under an identity that an ended green thread had (a greenlet's
    # id() is reused at once): an object of our own.
    if isinstance(g, _StartedGreenlet):
        return _dummy_thread(g, thread)
    if mine is None:
        mine = g._greenlane_thread = _GreenThread(g)
    return mine


def _dummy_thread(g: Any, stale: Any) -> Any:
    # The stdlib's dummy, as a foreign thread gets: listed in threading._active.
    dummy: Any = getattr(g, "_greenlane_thread", None)
    if dummy is None or stale is not None:
        dummy = _st._DummyThread()
        g._greenlane_thread = dummy
        if _JOINABLE or not isinstance(g, _StartedGreenlet):
            dummy._greenlane_gone = _weakref.ref(
                g, _forget_dummy(dummy.ident, _weakref.ref(dummy)))
    return dummy


def _forget_dummy(ident: Any, dummy_ref: Any) -> Any:
    def greenlet_gone(_: Any) -> None:
        dummy = dummy_ref()
        if dummy is not None and _st._active.get(ident) is dummy:
            with _st._active_limbo_lock:
                _st._active.pop(ident, None)

    return greenlet_gone


class CurrentThreadAlias:
    """The setting of the patched ``threading.currentThread()`` (a documented process-wide
    setting, not a class to instantiate).

    Attributes:
        warns: whether it gives the stdlib's DeprecationWarning (default True, as the stdlib's
            does). The eventlet alias sets it False with eventlet's defaults
            (``greenlane.compat``): eventlet's patched ``currentThread()`` did not warn, and
            programs written for eventlet call it.
    """

    warns = True


def currentThread() -> Any:
    """The deprecated alias of ``current_thread()``; warns as the stdlib's does unless
    ``CurrentThreadAlias.warns`` is False (eventlet's defaults)."""
    if CurrentThreadAlias.warns:
        import warnings
        warnings.warn("currentThread() is deprecated, use current_thread() instead",
                      DeprecationWarning, stacklevel=2)
    return current_thread()


currentThread.__module__ = "threading"

current_thread.__module__ = "threading"  # it stands for threading's (see green.thread)


# ------------------------------------------------------------------- classes green unpatched
# threading's classes find Lock, Condition, Event, _allocate_lock, _start_new_thread, ... as
# globals of the threading module at call time. The classes below are subclasses whose methods
# are the very same code objects, bound to this module's globals instead, where those names
# are the green ones: green without patching, with the stdlib's behaviour (and its fixes) on
# every version, and ``isinstance(x, threading.Event)`` still true. Nothing is re-imported:
# the globals that are not overridden here are threading's own objects (its registry of
# threads, its excepthook).
def _rebound(value: Any, class_cells: list[Any]) -> Any:
    if isinstance(value, _types.FunctionType):
        closure = value.__closure__
        if "__class__" in value.__code__.co_freevars:
            # Zero-argument super() names the class through this cell: it must name the green
            # class, or super() would skip to the stdlib's base (3.13's BoundedSemaphore).
            cells = list(closure or ())
            cells[value.__code__.co_freevars.index("__class__")] = cell = _types.CellType()
            class_cells.append(cell)
            closure = tuple(cells)
        function = _types.FunctionType(value.__code__, globals(), value.__name__,
                                       value.__defaults__, closure)
        function.__kwdefaults__ = value.__kwdefaults__
        function.__qualname__ = value.__qualname__
        function.__doc__ = value.__doc__
        function.__dict__.update(value.__dict__)
        return function
    if isinstance(value, (classmethod, staticmethod)):
        return type(value)(_rebound(value.__func__, class_cells))
    if isinstance(value, property):
        return property(_rebound(value.fget, class_cells), _rebound(value.fset, class_cells),
                        _rebound(value.fdel, class_cells), value.__doc__)
    return value


def _green_class(cls: Any, *bases: Any) -> Any:
    class_cells: list[Any] = []
    namespace = {name: _rebound(value, class_cells) for name, value in vars(cls).items()
                 if name not in ("__dict__", "__weakref__", "__slots__")
                 and not isinstance(value, _types.MemberDescriptorType)}
    namespace["__module__"] = __name__
    namespace["__doc__"] = (f"threading.{cls.__name__} on green threads, usable without "
                            f"patching (same code as the stdlib's, see the module docstring).")
    green = type(cls.__name__, bases or (cls,), namespace)
    green.__qualname__ = cls.__qualname__
    for cell in class_cells:
        cell.cell_contents = green
    return green


Condition: Any = _green_class(_st.Condition)
Semaphore: Any = _green_class(_st.Semaphore)
BoundedSemaphore: Any = _green_class(_st.BoundedSemaphore, Semaphore, _st.BoundedSemaphore)
Event: Any = _green_class(_st.Event)
Barrier: Any = _green_class(_st.Barrier)
Thread: Any = _green_class(_st.Thread)
Timer: Any = _green_class(_st.Timer, Thread, _st.Timer)


class _GreenThread(Thread):  # type: ignore[misc]
    """What ``current_thread()`` returns in a green thread that ``threading`` did not start.

    One per green thread (``greenlane.spawn``, ``spawn_n``, a plain greenlet), made on its
    first ``current_thread()`` and kept on the greenlet, never in ``threading._active``: it
    goes away with the greenlet, and ``enumerate()`` does not list it (as under eventlet). A
    ``threading.Thread``, already started and daemonic: ``name`` is ``GreenThread-N`` (numbered
    with the stdlib's threads, settable), ``ident`` the green ``get_ident()``, ``native_id``
    the OS thread's, ``is_alive()`` true until the green thread ends, and ``join(timeout)``
    waits for its end (a ``spawn``'s; one from ``spawn_n`` or a plain greenlet cannot be
    waited for, so that refuses). eventlet's wrapper's names ``getName``/``get_name``,
    ``setName``/``set_name``, ``isAlive``, ``isDaemon``/``is_daemon`` are here too, without
    the stdlib's DeprecationWarnings: they are this wrapper's API under eventlet.
    """

    def __init__(self, g: Any) -> None:
        Thread.__init__(self, name=_st._newname("GreenThread-%d"), daemon=True)
        # A weak reference: the greenlet keeps this object, and a cycle would keep every
        # ended green thread's until the cycle collector runs.
        self._greenlane_greenlet = _weakref.ref(g)
        self._ident = id(g)
        if _st._HAVE_THREAD_NATIVE_ID:
            self._set_native_id()
        self._started.set()

    @property
    def _g(self) -> Any:
        # eventlet's wrapper's attribute for its green thread (None here once it is gone).
        return self._greenlane_greenlet()

    def __repr__(self) -> str:
        state = "started" if self.is_alive() else "stopped"
        return f"<{type(self).__name__}({self._name}, {state} daemon {self._ident})>"

    @property
    def name(self) -> str:
        """The name, ``GreenThread-N`` unless set."""
        return str(self._name)

    @name.setter
    def name(self, name: Any) -> None:
        self._name = str(name)

    def getName(self) -> str:
        """eventlet's name for ``name``."""
        return self.name

    get_name = getName

    def setName(self, name: Any) -> None:
        """eventlet's way to set ``name``."""
        self.name = name

    set_name = setName

    def is_alive(self) -> bool:
        """True until the green thread ends."""
        g = self._greenlane_greenlet()
        return g is not None and not g.dead

    isAlive = is_alive

    def isDaemon(self) -> bool:
        """Always True: nothing waits for a green thread at exit."""
        return bool(self._daemonic)

    is_daemon = isDaemon

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait until the green thread has ended, or ``timeout`` seconds have passed.

        Raises:
            RuntimeError: called from that very green thread, or the green thread is not one
                from ``spawn`` (``spawn_n`` and plain greenlets give no way to wait for them).
        """
        g = self._greenlane_greenlet()
        if g is None or g.dead:
            return
        if g is _getcurrent():
            raise RuntimeError("cannot join current thread")
        link = getattr(g, "link", None)
        if link is None:
            raise RuntimeError(
                f"cannot join {self._name}: its greenlet {g!r} gives no way to wait for its end "
                "(start it with greenlane.spawn, or threading.Thread, to join it)")
        if g.ready() or (timeout is not None and timeout <= 0):
            return
        waiters = _WaitQueue()

        def ended(_: Any) -> None:
            waiters.wake_all()

        link(ended)
        try:
            waiters.park(timeout)
        finally:
            g.unlink(ended)

_THREADING_NAMES = ("_allocate_lock", "Lock", "_CRLock", "get_ident", "local", "current_thread",
                    *(("currentThread",) if hasattr(_stdthreading, "currentThread") else ()))
_VERSIONED = (
    ("_LockType", "_start_joinable_thread", "_ThreadHandle", "_make_thread_handle",
     "_thread_shutdown", "_get_main_thread_ident", "_thread_local_info")
    if _JOINABLE else ("_start_new_thread", "_set_sentinel"))

# threading._PyRLock is the pure-Python RLock, which runs green once patched; it is the
# green RLock too, so that "the RLock class" means one thing after patching.
_PY_RLOCK = ("_PyRLock",) if hasattr(_stdthreading, "_PyRLock") else ()
_PyRLock = RLock

__patches__ = (
    ("thread", "threading",
     _THREADING_NAMES + _VERSIONED + _PY_RLOCK),
    # functools.cached_property holds an RLock while computing (3.10 and 3.11).
    *((("thread", "functools", ("RLock",)),)
      if hasattr(_sys.modules.get("functools"), "RLock") else ()),
)


# ----------------------------------------------------------------------------- after patching
# Module-level locks known to be held only around code that never switches green threads,
# so that staying real is harmless: (module, attribute) -> why.
_HARMLESS = {
    ("threading", "_active_limbo_lock"): "held around dict updates only",
    ("threading", "_shutdown_locks_lock"): "held around set updates only",
    ("_strptime", "_cache_lock"): "held around regex and locale work",
    ("tempfile", "_once_lock"): "held around the choice of the temporary directory",
    ("asyncio.events", "_lock"): "held while an event loop policy is created",
    ("asyncio.mixins", "_global_lock"): "held while a loop is bound to a primitive",
    ("grp", "_lock"): "PyPy: held around a getgr* call",
    ("pwd", "_lock"): "PyPy: held around a getpw* call",
}
_SKIP_PREFIXES = ("greenlane", "importlib", "_frozen_importlib", "__original_module_",
                  "__patched_module_")


def __after_patch__() -> None:
    """Green the main thread's join handle, known locks and fork handling; report the rest."""
    _green_main_thread()
    _green_logging()
    _green_futures()
    if hasattr(_os, "register_at_fork"):
        _os.register_at_fork(after_in_child=_after_fork)
    _report_real_locks()


def _green_main_thread() -> None:
    main = _st._main_thread
    if _JOINABLE:
        handle = getattr(main, "_handle", None)
        if handle is not None and not isinstance(handle, _ThreadHandle) \
                and not handle.is_done():
            main._handle = _make_thread_handle(main.ident)
        return
    tstate = getattr(main, "_tstate_lock", None)
    if tstate is not None and not isinstance(tstate, LockType) and tstate.locked():
        green = Lock()
        green.acquire()
        main._tstate_lock = green
        # _shutdown() waits for every lock in this set: the real one is released only when
        # the interpreter is nearly gone, so it must not stay there.
        with _st._shutdown_locks_lock:
            if tstate in _st._shutdown_locks:
                _st._shutdown_locks.discard(tstate)
                _st._shutdown_locks.add(green)


def _free(lock: Any) -> bool:
    # Whether a real lock can be swapped: nobody holds it (we cannot take one held elsewhere).
    if getattr(lock, "_is_owned", lambda: False)():
        return False
    if lock.acquire(False):
        lock.release()
        return True
    return False


def _green_logging() -> None:
    logging: Any = _sys.modules.get("logging")
    if logging is None:
        return
    module_lock = getattr(logging, "_lock", None)
    if module_lock is not None and not isinstance(module_lock, RLock):
        if _free(module_lock):
            logging._lock = RLock()
        else:
            report_once("logging._lock", _held_message("logging._lock"))
    for ref in list(getattr(logging, "_handlerList", ())):
        handler = ref()
        lock = getattr(handler, "lock", None)
        if handler is None or lock is None or isinstance(lock, RLock):
            continue
        if _free(lock):
            handler.createLock()
        else:
            report_once(f"handler-{id(handler)}",
                        _held_message(f"the lock of logging handler {handler!r}"))


def _green_futures() -> None:
    futures: Any = _sys.modules.get("concurrent.futures.thread")
    lock = getattr(futures, "_global_shutdown_lock", None)
    if lock is None or isinstance(lock, LockType):
        return
    # submit() holds it while a new worker thread starts (a green wait): it must be green.
    if _free(lock):
        futures._global_shutdown_lock = Lock()
    else:
        report_once("concurrent.futures.thread._global_shutdown_lock",
                    _held_message("concurrent.futures.thread._global_shutdown_lock"))


def _held_message(what: str) -> str:
    return (f"greenlane.monkey_patch(): {what} is a real lock held while patching, so it was not "
            "replaced by a green one; call monkey_patch() earlier (before logging or threads "
            "start)")


def _real_lock_kind(value: Any) -> Optional[str]:
    # The kinds of real lock that can exist before patching, with their inner real lock.
    kind = type(value)
    if kind is _real.LockType:
        return "threading.Lock"
    if kind is _REAL_RLOCK:
        return "threading.RLock"
    inner = None
    if kind is _stdthreading.Condition:
        inner = value._lock
    elif kind in (_stdthreading.Event, _stdthreading.Semaphore,
                  _stdthreading.BoundedSemaphore, _stdthreading.Barrier):
        inner = getattr(getattr(value, "_cond", None), "_lock", None)
    if inner is not None and type(inner) in (_real.LockType, _REAL_RLOCK):
        return f"threading.{kind.__name__}"
    return None


_REAL_RLOCK: Any = type(_real.RLock())


def _report_real_locks() -> None:
    for modname, module in list(_sys.modules.items()):
        if modname.startswith(_SKIP_PREFIXES):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            kind = _real_lock_kind(value)
            if kind is None or (modname, attr) in _HARMLESS:
                continue
            report_once(f"{modname}.{attr}", (
                f"greenlane.monkey_patch(): {modname}.{attr} is a real {kind} made before "
                "patching; a green thread that blocks while holding it blocks its whole OS "
                "thread (and a second green thread that waits for it deadlocks). Import "
                f"{modname} after monkey_patch(), or make the lock when it is first needed."))


def _after_fork() -> None:
    # Runs in a forked child, after threading's own _after_fork (registered earlier).
    _after_fork_in_child()
    if _JOINABLE:
        return
    main = _st._main_thread
    g = _getcurrent()
    if main.ident == get_ident() and g.parent is not None \
            and getattr(g, "sentinel", None) is not main._tstate_lock:
        # A green thread that threading did not start forked: it became the main thread,
        # whose state lock nothing will release; the exit must not wait for it.
        with _st._shutdown_locks_lock:
            _st._shutdown_locks.discard(main._tstate_lock)
