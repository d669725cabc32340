"""The ``_thread`` module on green threads: ``greenlane.green.thread``.

Every name of the stdlib ``_thread`` module is here; these are replaced:

* ``start_new_thread`` (and ``start_new``) starts a green thread and returns its identity;
  ``start_joinable_thread`` (CPython 3.13's) does the same with a joinable handle.
* ``allocate_lock``/``LockType`` make a green lock (``threading.Lock`` semantics: no owner,
  ``acquire(blocking, timeout)``, ``locked()``); ``RLock`` is a green reentrant lock owned by
  the green thread that took it. ``Lock``, eventlet's name (``_thread`` has none), is
  ``allocate_lock``.
* ``get_ident`` tells green threads apart: ``id()`` of the current greenlet, except that an OS
  thread's main greenlet keeps the real thread identity (so ``threading.main_thread()`` is
  still found in ``threading._active`` after patching, and real threads are told apart too).
* ``_local`` is ``greenlane.corolocal.local`` (attributes per green thread).
* ``_count`` counts the green threads started here that are still running; ``_set_sentinel``
  (up to 3.12), ``_ThreadHandle``, ``_make_thread_handle`` and ``_shutdown`` (3.13) are the
  pieces ``threading`` uses to join threads, on green threads.

``stack_size``, ``interrupt_main``, ``get_native_id``, ``exit``, ``error`` and ``TIMEOUT_MAX``
are the real ones (green threads share their OS thread's native id and stack settings).

Differences from eventlet's ``eventlet.green.thread``: ``get_ident()`` of a main greenlet is the
real thread identity (eventlet returns ``id()`` of every greenlet, which made the main thread a
"dummy" thread after patching), an exception escaping a green thread goes to
``sys.unraisablehook`` like a real thread's, and ``_count()`` is kept.

These primitives belong to the OS thread whose hub runs them: a green lock that a real thread
(``greenlane.tpool``) contends on is not safe. See docs/patching.md.
"""

from __future__ import annotations

import _thread as _stdthread
import signal as _signal
import sys
import threading as _stdthreading
from types import FrameType, ModuleType, TracebackType
from typing import Any, Callable, Optional

from greenlet import getcurrent, greenlet

from greenlane import _originals as real
from greenlane.corolocal import local as _green_local
from greenlane.greenthread import sleep as _green_sleep
from greenlane.hubs import WaitQueue, _context, get_hub
from greenlane.lock import Lock as _GreenLock
from greenlane.patcher import _saved

__all__ = sorted(
    {name for name in dir(_stdthread) if not name.startswith("__")}
    | {"Lock", "LockType", "RLock", "allocate_lock", "get_ident", "start_new_thread"}
)

# Every name of _thread, private ones too (``_excepthook``, ``_is_main_interpreter``, ...), so
# that this module can stand in for it; the green ones below replace some.
globals().update({name: value for name, value in vars(_stdthread).items()
                  if not name.startswith("__") and name not in globals()})
error: type[RuntimeError] = _stdthread.error
TIMEOUT_MAX: float = _stdthread.TIMEOUT_MAX
_real_get_ident = real.get_ident
# Captured at import, which the patcher does before it replaces anything in _thread.
_real_interrupt_main: Callable[..., None] = _stdthread.interrupt_main
_MAIN_IDENT = _stdthreading.main_thread().ident
_real_shutdown: Optional[Callable[[], None]] = getattr(_stdthread, "_shutdown", None)


def get_ident(gr: Optional[greenlet] = None) -> int:
    """A nonzero integer that identifies the current green thread (or greenlet ``gr``).

    It is ``id()`` of the greenlet, except for an OS thread's main greenlet, which keeps the
    real thread identity (``_thread.get_ident()``). A greenlet's identity may be reused once
    it has ended, as a thread's is.
    """
    g = getcurrent() if gr is None else gr
    if g.parent is None:
        return _real_get_ident()
    return id(g)


# CPython 3.13 made the lock type callable (``_thread.lock()``); before, only allocate_lock()
# made locks, and the type refused to be called.
_CALLABLE_LOCK_TYPE = sys.version_info >= (3, 13)
_object_new = object.__new__
_clock = real.monotonic
_switch_interval = sys.getswitchinterval
# LockType reads the clock every _SAMPLE acquires: a polling loop makes hundreds per
# millisecond, so the switch interval (5 ms by default) is still kept to within a few percent.
_SAMPLE = 32


def _let_others_run() -> bool:
    # LockType's turn-taking: yield once if this green thread may, and say whether it did.
    hub = _context.current.hub
    if hub is None or getcurrent() is hub.greenlet or _importing():
        return False
    _green_sleep(0)
    return True


def _importing() -> bool:
    # Whether the import system is on the stack (CPython's and PyPy's frozen importlib): a
    # switch there would let another green thread import a module half-initialised, since
    # module import locks are real and so reentrant within the OS thread.
    frame: Optional[FrameType] = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<") and "importlib._bootstrap" in name:
            return True
        frame = frame.f_back
    return False


def _check_acquire(blocking: bool, timeout: float) -> Optional[float]:
    # The checks and messages of the C lock's acquire(), so code written against it sees the
    # same errors; returns the timeout in greenlane's form (None: wait for ever).
    if timeout == -1:
        return None if blocking else 0.0
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    if timeout > TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return timeout


class LockType(_GreenLock):
    """A green ``threading.Lock``: what ``allocate_lock()`` returns once patched.

    Same API as the C lock: ``acquire(blocking=True, timeout=-1)``, ``release()``,
    ``locked()``, the context manager, and the old ``acquire_lock``/``release_lock``/
    ``locked_lock`` names. A green thread that waits suspends only itself; waiters are served
    first come, first served (the C lock makes no promise). Unlike ``greenlane.lock.Lock``,
    ``timeout=None`` is refused, as the C lock refuses it. Like the C type (``_thread.lock``,
    its name here too), it cannot be subclassed, and before CPython 3.13 not called either:
    ``allocate_lock()`` makes the locks.

    Taking turns: a lock taken over and over without pause (dozens of times or more per
    ``sys.getswitchinterval()``) for longer than that interval lets the other green threads
    run once (a ``sleep(0)``) before it is taken again. Real threads get this from the GIL,
    which switches threads every interval; without it, a green thread that polls (a loop of
    ``queue.get(block=False)`` waiting for another thread's ``shutdown()``, a
    ``lock.acquire(False)`` spin) would never let the thread it waits for run. Not from the
    hub's greenlet, a thread without a hub, or while a module is being imported (another
    green thread could see it half-initialised).
    """

    __slots__ = ("__weakref__", "_run_last", "_run_start", "_taken")

    def __init__(self) -> None:
        super().__init__()
        # Turn-taking: acquires so far, and the run of back-to-back acquires in progress
        # (when it started, when it was last seen to go on; 0.0: no run yet).
        self._taken = 0
        self._run_start = 0.0
        self._run_last = 0.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("type '_thread.lock' is not an acceptable base type")

    if not _CALLABLE_LOCK_TYPE:
        def __new__(cls, *args: Any, **kwargs: Any) -> LockType:
            raise TypeError(f"cannot create '{cls.__module__}.{cls.__name__}' instances")

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:  # type: ignore[override]
        """Take the lock, waiting up to ``timeout`` seconds (-1: for ever) if it is held.

        Returns:
            True if the lock was taken, False if not (non-blocking, or on timeout).

        Raises:
            ValueError: a timeout with ``blocking=False``, or a negative one other than -1.
            OverflowError: a timeout above ``TIMEOUT_MAX``.
        """
        wait = None if timeout == -1 and blocking else _check_acquire(blocking, timeout)
        # The clock is read once per _SAMPLE acquires: the check costs that much less.
        taken = self._taken = self._taken + 1
        if not taken % _SAMPLE:
            self._take_turns()
        if self.counter > 0:
            self.counter -= 1
            return True
        if wait is not None and wait <= 0:
            return False
        return _GreenLock.acquire(self, True, wait)

    def _take_turns(self) -> None:
        # Called every _SAMPLE acquires. Samples closer together than the switch interval
        # extend the run of back-to-back acquires; one that has lasted longer than the
        # interval lets the other green threads run first.
        now = _clock()
        interval = _switch_interval()
        if now - self._run_last > interval:
            self._run_start = now
        elif now - self._run_start > interval and _let_others_run():
            now = self._run_start = _clock()
        self._run_last = now

    def __enter__(self) -> bool:  # type: ignore[override]
        return self.acquire()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    acquire_lock = acquire
    release_lock = _GreenLock.release
    locked_lock = _GreenLock.locked

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        kind = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{state} {kind} object at {id(self):#x}>"


LockType.__name__ = LockType.__qualname__ = "lock"  # the C type's name, for reprs and errors
lock = LockType  # CPython 3.13's name for the type
_new_lock: Callable[[], LockType]


class _Allocate:
    # allocate_lock where the lock type cannot be called (before CPython 3.13). An instance,
    # not a function: code keeps allocate_lock as a class attribute (``locktype =
    # _thread.allocate_lock``), where a function would become a method and a builtin does not.
    __slots__ = ()
    __name__ = __qualname__ = "allocate_lock"
    __module__ = "_thread"
    __doc__ = "Make a new green lock (``threading.Lock`` semantics)."

    def __call__(self) -> LockType:
        new: LockType = _object_new(LockType)
        LockType.__init__(new)
        return new

    def __repr__(self) -> str:
        return "<greenlane green function _thread.allocate_lock>"

    def __reduce__(self) -> str:
        return "allocate_lock"


if _CALLABLE_LOCK_TYPE:
    # The type itself, as CPython 3.13's _thread.allocate_lock makes the same objects.
    allocate_lock: Any = LockType
    _new_lock = LockType
else:
    allocate_lock = _new_lock = _Allocate()
allocate = allocate_lock
# eventlet's green _thread offers Lock (its green lock class); _thread itself has no Lock, so
# it is not patched in.
Lock = allocate_lock


# The owner of an RLock taken while the interpreter finalizes: greenlet refuses getcurrent()
# then, yet weakref callbacks still take locks (logging's _removeHandlerRef). Nothing switches
# green threads any more at that point, so one stand-in owner is exact.
_FINALIZING: Any = object()


class RLock:
    """A green reentrant lock: held by one green thread, which may take it several times.

    The API of ``threading.RLock`` (and of the private methods ``threading.Condition`` uses),
    owned by the green thread rather than the OS thread: the C ``RLock`` would let every green
    thread of an OS thread in at once.
    """

    __slots__ = ("__weakref__", "_block", "_count", "_owner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Arguments are ignored, as the C RLock ignores them (CPython 3.13's threading.RLock
        # passes them on, with a DeprecationWarning of its own).
        self._block = _new_lock()
        self._owner: Optional[greenlet] = None
        self._count = 0

    def __repr__(self) -> str:
        owner = self._owner
        ident = None if owner is None else get_ident(owner)
        state = "locked" if self._block.locked() else "unlocked"
        return (f"<{state} {type(self).__module__}.{type(self).__qualname__} object "
                f"owner={ident!r} count={self._count} at {id(self):#x}>")

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock, or take it once more if the current green thread holds it already.

        Returns:
            True if taken, False if not (non-blocking, or on timeout).
        """
        try:
            me = getcurrent()
        except RuntimeError:
            me = _FINALIZING
        if self._owner is me:
            self._count += 1
            return True
        if self._block.acquire(blocking, timeout):
            self._owner = me
            self._count = 1
            return True
        return False

    def __enter__(self) -> bool:
        return self.acquire()

    def release(self) -> None:
        """Release once; the lock is free when released as many times as it was taken.

        Raises:
            RuntimeError: the current green thread does not hold the lock.
        """
        try:
            me = getcurrent()
        except RuntimeError:
            me = _FINALIZING
        if self._owner is not me:
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            self._block.release()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def locked(self) -> bool:
        """True if some green thread holds the lock."""
        return self._block.locked()

    def _is_owned(self) -> bool:
        return self._owner is getcurrent()

    def _recursion_count(self) -> int:
        return self._count if self._owner is getcurrent() else 0

    def _release_save(self) -> tuple[int, Optional[greenlet]]:
        # threading.Condition.wait: let go entirely, remember how deep we were.
        if self._count == 0:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Optional[greenlet]]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0


class _local(_green_local):
    """``threading.local`` once patched: attributes private to each green thread."""

    __slots__ = ()


def interrupt_main(signum: int = _signal.SIGINT) -> None:
    """Simulate ``signum`` arriving in the main thread, which is the main *greenlet*.

    A real ``interrupt_main`` raises ``KeyboardInterrupt`` in whichever greenlet runs next
    (often the green thread that called it). Called from a green thread of the main OS thread
    while the default SIGINT handler is installed, this raises it in the main greenlet at
    once, and the calling green thread resumes when the main greenlet waits again; otherwise
    it is the real ``interrupt_main``.
    """
    g = getcurrent()
    if signum == _signal.SIGINT and g.parent is not None and _real_get_ident() == _MAIN_IDENT \
            and _signal.getsignal(signum) is _signal.default_int_handler:
        root = g
        while root.parent is not None:
            root = root.parent
        # Raise it in the main greenlet now (as the real one does at the main thread's next
        # instruction), and let the hub resume us once the main greenlet waits again.
        get_hub().push_ready((g.switch, ()))
        root.throw(KeyboardInterrupt)
        return
    if signum == _signal.SIGINT:
        _real_interrupt_main()
    else:
        _real_interrupt_main(signum)


# ----------------------------------------------------------------------------- green threads
class _ThreadHandle:
    """What CPython 3.13's ``threading.Thread`` joins: the end of one green thread.

    ``ident`` is the green thread's identity, ``is_done()`` tells whether it has ended,
    ``join(timeout)`` waits for that, and ``threading._shutdown`` marks the main thread's
    handle done with ``_set_done()``.
    """

    __slots__ = ("__weakref__", "_done", "_greenlet", "_ident", "_waiters")

    def __init__(self) -> None:
        # None until started (or made for a running thread by _make_thread_handle).
        self._ident: Optional[int] = None
        self._done = False
        self._greenlet: Optional[greenlet] = None
        self._waiters: Optional[WaitQueue] = None

    def __repr__(self) -> str:
        state = "done" if self._done else ("running" if self._ident is not None else "new")
        return f"<greenlane _ThreadHandle ident={self._ident} {state}>"

    @property
    def ident(self) -> Optional[int]:
        """The identity of the green thread (None before it was started)."""
        return self._ident

    def is_done(self) -> bool:
        """True once the green thread has ended."""
        return self._done

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait until the green thread has ended, or ``timeout`` seconds have passed.

        Raises:
            RuntimeError: called from the very green thread this handle is for.
        """
        if self._done:
            return
        if self._ident is None:
            raise RuntimeError("thread not started")
        if self._greenlet is getcurrent() or (
                self._greenlet is None and self._ident == get_ident()):
            raise RuntimeError("Cannot join current thread")
        if timeout is not None and timeout < 0:
            timeout = 0
        if timeout == 0:
            return
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = WaitQueue()
        waiters.park(timeout)

    def _set_done(self) -> None:
        if self._ident is None:
            raise RuntimeError("thread not started")
        if self._done:
            return
        self._done = True
        self._greenlet = None
        _saved.thread_handles.discard(self)
        waiters, self._waiters = self._waiters, None
        if waiters is not None:
            waiters.wake_all()


def _make_thread_handle(ident: int) -> _ThreadHandle:
    """A handle for a thread that is already running (the main thread, a dummy thread)."""
    handle = _ThreadHandle()
    handle._ident = ident
    return handle


class _UnraisableArgs:
    # What sys.unraisablehook receives; the C type cannot be built from Python.
    __slots__ = ("err_msg", "exc_traceback", "exc_type", "exc_value", "object")

    def __init__(self, exc: BaseException, err_msg: str, obj: Any) -> None:
        self.exc_type = type(exc)
        self.exc_value = exc
        self.exc_traceback = exc.__traceback__
        self.err_msg = err_msg
        self.object = obj


def _report_unraisable(exc: BaseException, function: Any) -> None:
    # A real thread's uncaught exception goes to sys.unraisablehook, with the function as the
    # object up to 3.12 and in the message from 3.13 on; PyPy names the thread too.
    if sys.version_info >= (3, 13):
        err_msg, obj = f"Exception ignored in thread started by {function!r}", None
    elif sys.implementation.name == "pypy":
        err_msg, obj = f"Exception ignored in thread {get_ident()} started by ", function
    else:
        err_msg, obj = "Exception ignored in thread started by", function
    hook = getattr(sys, "unraisablehook", None)
    if hook is not None and hook is not getattr(sys, "__unraisablehook__", None):
        hook(_UnraisableArgs(exc, err_msg, obj))
        return
    stderr = sys.stderr
    if stderr is None:
        return
    import traceback

    stderr.write(f"{err_msg}: {obj!r}\n" if obj is not None else f"{err_msg}:\n")
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=stderr)
    stderr.flush()


class _GreenThread(greenlet):  # type: ignore[misc]
    # A green thread started by start_new_thread / start_joinable_thread. The sentinel lock
    # (threading up to 3.12) and the handle (3.13) are released when the function returns,
    # after threading's own clean-up in it, as the C runtime does when a thread state ends.
    sentinel: Optional[LockType] = None
    handle: Optional[_ThreadHandle] = None

    def run(self, function: Callable[..., Any], args: tuple[Any, ...],
            kwargs: Optional[dict[str, Any]]) -> None:
        try:
            if kwargs:
                function(*args, **kwargs)
            else:
                function(*args)
        except SystemExit:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported as CPython reports it
            _report_unraisable(exc, function)
        finally:
            _saved.thread_count -= 1
            sentinel = self.sentinel
            if sentinel is not None:
                self.sentinel = None
                if sentinel.locked():
                    sentinel.release()
            handle = self.handle
            if handle is not None:
                handle._set_done()


def _start(function: Callable[..., Any], args: tuple[Any, ...],
           kwargs: Optional[dict[str, Any]], handle: Optional[_ThreadHandle]) -> _GreenThread:
    if not callable(function):
        raise TypeError("first arg must be callable")
    hub = get_hub()
    g = _GreenThread(None, hub.greenlet)
    if handle is not None:
        g.handle = handle
        handle._greenlet = g
        handle._ident = id(g)
    _saved.thread_count += 1
    hub.push_ready((g.switch, (function, args, kwargs)))
    return g


def start_new_thread(function: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: Optional[dict[str, Any]] = None) -> int:
    """Run ``function(*args, **kwargs)`` in a new green thread; return its identity.

    It starts on the hub's next turn. ``SystemExit`` ends it quietly; any other exception is
    reported through ``sys.unraisablehook``, as for a real thread.
    """
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    return id(_start(function, args, kwargs, None))


start_new = start_new_thread


def start_joinable_thread(function: Callable[[], Any], handle: Optional[_ThreadHandle] = None,
                          daemon: bool = True) -> _ThreadHandle:
    """CPython 3.13's joinable start: run ``function()`` in a green thread, return its handle.

    A thread that is not ``daemon`` is waited for by ``_shutdown()`` at interpreter exit.
    """
    if handle is None:
        handle = _ThreadHandle()
    elif not isinstance(handle, _ThreadHandle):
        raise TypeError(f"'handle' must be a _ThreadHandle, not {type(handle).__name__}")
    if handle._ident is not None:
        raise RuntimeError("thread already started")
    _start(function, (), None, handle)
    _saved.thread_handles.add(handle)
    if not daemon:
        _saved.non_daemon_handles.add(handle)
    return handle


def _set_sentinel() -> LockType:
    """threading's "thread state lock" (up to 3.12): released when this green thread ends."""
    sentinel = _new_lock()
    g = getcurrent()
    if isinstance(g, _GreenThread):
        g.sentinel = sentinel
    return sentinel


def _count() -> int:
    """How many green threads started by this module are still running."""
    return _saved.thread_count


def _shutdown() -> None:
    """Wait for every non-daemon green thread, then for real non-daemon threads (3.13)."""
    pending = _saved.non_daemon_handles
    while pending:
        handle = pending.pop()
        if get_ident() != handle._ident:
            handle.join()
    if _real_shutdown is not None:
        _real_shutdown()


def _get_main_thread_ident() -> int:
    """The identity of the thread ``threading`` treats as main (3.13).

    threading asks only when it builds a new main thread after ``os.fork()``: the green
    thread that forked becomes the main thread of the child, as the forking OS thread does.
    """
    return get_ident()


def _after_fork_in_child() -> None:
    # Only the green thread that forked goes on in the child: every other one has ended.
    current = getcurrent()
    for handle in list(_saved.thread_handles):
        if handle._greenlet is not current:
            handle._waiters = None
            handle._set_done()
    _saved.non_daemon_handles.intersection_update(_saved.thread_handles)
    _saved.thread_count = 1 if isinstance(current, _GreenThread) else 0


def _real_thread_module() -> ModuleType:
    # A namespace with the real _thread functions (the saved originals), for importlib.
    namespace = ModuleType("_thread", "the real _thread, kept for the import machinery")
    namespace.__dict__.update(vars(_stdthread))
    namespace.__dict__.update(_saved.originals.get("_thread", {}))
    return namespace


def __after_patch__() -> None:
    """Give the import machinery the real ``_thread`` back: module import locks stay real.

    A green import lock would make an import in the hub's greenlet (a callback) fail, and
    importing must work from anywhere; eventlet and gevent differ here (gevent greens them).
    """
    bootstrap = sys.modules.get("_frozen_importlib")
    if bootstrap is not None and getattr(bootstrap, "_thread", None) is _stdthread:
        bootstrap._thread = _real_thread_module()  # type: ignore[attr-defined]
    elif bootstrap is None or not hasattr(bootstrap, "_thread"):
        # A Python whose import system does not reach _thread that way: its module locks may
        # be green now, and an import made from a hub callback could fail.
        from greenlane.patcher import _version, report_once

        report_once("importlib._thread", (
            f"greenlane.monkey_patch(): the import system of {_version()} has no "
            "_frozen_importlib._thread, so greenlane could not keep its module locks real; "
            "please report this"))


# The patch: names threading looks up in _thread (only those this CPython has), plus the green
# lock, RLock and local types under their _thread names.
_NAMES = ("LockType", "RLock", "allocate", "allocate_lock", "get_ident", "start_new",
          "start_new_thread", "_count", "_local", "interrupt_main")
_VERSIONED = ("_set_sentinel", "lock", "start_joinable_thread", "_ThreadHandle",
              "_make_thread_handle", "_shutdown")

# Patched in, these stand for _thread's own objects: they carry its module name, so that
# introspection (and pickling by reference) finds them under the stdlib name.
for _obj in (LockType, RLock, _local, _ThreadHandle, get_ident, start_new_thread,
             start_joinable_thread, _count, _set_sentinel, _make_thread_handle, _shutdown,
             interrupt_main):
    _obj.__module__ = "_thread"
del _obj

__patches__ = (
    ("thread", "_thread",
     _NAMES + tuple(name for name in _VERSIONED if hasattr(_stdthread, name))),
)
