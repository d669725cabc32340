"""Real OS threads for calls that block: ``execute``, ``Proxy`` and the pool behind them.

Some calls cannot be made cooperative: a C library's blocking function (a database driver
without a wait callback, the system resolver), a slow filesystem, CPU-bound C code that
releases the GIL. ``execute(fn, *args)`` runs such a call in a pool of real OS threads and
suspends only the calling green thread until it returns; the hub goes on running every other
green thread meanwhile. ``Proxy(obj)`` wraps an object so that each of its method calls goes
through ``execute``.

How a result comes back: the worker stores it in the call and hands a callback to the caller's
hub with ``hub.call_threadsafe`` (an eventfd or pipe the hub polls), so a hub blocked in its
poller wakes up at once and resumes the waiting green thread. Nothing polls, and the hub never
blocks on the pool.

The pool is process-wide (one per process, shared by every OS thread and every hub): a lock,
a queue of calls and the parked workers. It is the module's one piece of mutable state, like
the hub thread-local; ``os.fork()`` gives the child an empty pool (the parent's threads do not
exist there). Pool threads are real threads: on Python 3.12+, ``os.fork()`` in a process that
has them warns that the child may deadlock (a ``DeprecationWarning``), as with any thread;
``killall()`` before forking ends them.

Settings: ``GREENLANE_THREADPOOL_SIZE`` (default 20, as eventlet) is the most threads the pool
starts; when it is unset or empty, eventlet's ``EVENTLET_THREADPOOL_SIZE`` is read instead.
``set_num_threads(n)`` changes it at run time; eventlet's private ``tpool._nthreads`` reads
the current size (read-only: assigning to it does not resize the pool). With 0, every call
runs inline in the caller's thread, blocking it, with a ``RuntimeWarning`` ("Zero threads in
tpool", as eventlet). A value that is not a whole number fails at import (``ValueError``); a
negative one fails each ``execute()`` and ``setup()`` with an error that is both a
``ValueError`` and the ``AssertionError`` eventlet raises.

Where it differs from eventlet's ``tpool``:

* No loopback TCP socket and no green thread reading it: results come back through the hub's
  thread-safe wake-up. ``execute`` works from any OS thread that runs green threads (each has
  its own hub; the result goes to the caller's), and from a plain thread.
* Threads are started on demand, up to the pool size, and reused; ``setup()`` starts them all at
  once (as eventlet's does). ``set_num_threads`` takes effect at once: the pool grows on the next
  call, surplus idle threads exit (eventlet waited for ``killall()``).
* Any exception crosses, ``BaseException`` included (``SystemExit`` in the function is raised in
  the caller; eventlet let it end the worker thread), with its traceback intact: the worker's
  frames are in it, locals included (eventlet cleared the frames' locals, and printed the
  traceback when its ``QUIET`` flag was turned off).
* The function runs in a copy of the caller's ``contextvars`` context (as ``asyncio.to_thread``),
  so context variables set by the caller are visible to it.
* A green thread that stops waiting (``Timeout``, ``kill``): a call a worker already started runs
  to completion in its thread and its result is dropped; a call still queued is never started.
* Calls run inline only from inside a worker (as eventlet) or with a pool size of 0; eventlet's
  "inline while the import lock is held" is gone, Python 3's imports use per-module locks.
* ``killall()`` called from a worker raises ``RuntimeError`` (it would wait for itself). At
  interpreter exit the pool is closed: queued calls are dropped, idle workers are joined, a
  worker busy in a call is not waited for (it is a daemon thread), and ``execute`` runs inline
  from then on (Python 3.12+ cannot start threads at exit).
* ``Proxy`` also forwards attribute assignment and deletion to the wrapped object, and wraps the
  results of ``autowrap_names`` methods with the same ``autowrap`` types.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import warnings
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from greenlet import getcurrent, greenlet

from greenlane import _originals as real
from greenlane.hubs import BaseHub, HubError, get_hub

__all__ = ["Proxy", "execute", "killall", "proxy_call", "set_num_threads", "setup"]

T = TypeVar("T")

DEFAULT_SIZE = 20
"""Threads in the pool when ``GREENLANE_THREADPOOL_SIZE`` is not set (eventlet's default)."""

# How long the exit hook waits for an idle worker to notice it must stop. Idle workers exit
# within microseconds; the bound only guards against a worker that was busy after all.
_EXIT_GRACE = 1.0


_SIZE_VARIABLES = ("GREENLANE_THREADPOOL_SIZE", "EVENTLET_THREADPOOL_SIZE")


class _NegativeSize(ValueError, AssertionError):
    """A negative pool size from the environment: a ``ValueError``, and the ``AssertionError``
    eventlet raises for it (``except AssertionError`` in eventlet code still catches it)."""


def _size_from_environment() -> tuple[int, str]:
    # The size and the variable it came from (named in warnings and errors). A value that is
    # not a number fails at import, as in eventlet; a negative one fails at the first call.
    for variable in _SIZE_VARIABLES:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            return int(raw), variable
        except ValueError:
            raise ValueError(f"{variable} must be a whole number of threads (0 runs calls "
                             f"inline), got {raw!r}") from None
    return DEFAULT_SIZE, ""


class _Call:
    """One ``execute``: what to run, where to deliver, and the outcome.

    ``greenlet`` is the waiting green thread while it waits; it is cleared when the result is
    delivered or when the waiter gives up, so a late delivery finds nobody and is dropped, and a
    worker skips a call whose waiter left before it started.
    """

    __slots__ = ("args", "context", "error", "fn", "greenlet", "hub", "kwargs", "value")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 hub: BaseHub, waiter: greenlet) -> None:
        self.fn: Optional[Callable[..., Any]] = fn
        self.args = args
        self.kwargs = kwargs
        self.context: Optional[contextvars.Context] = contextvars.copy_context()
        self.hub = hub
        self.greenlet: Optional[greenlet] = waiter
        self.value: Any = None
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        # In a worker thread: the call itself; deliver() sends the outcome.
        if self.greenlet is None:
            return  # the caller stopped waiting before the call started: nobody wants it
        fn, context = self.fn, self.context
        assert fn is not None and context is not None
        try:
            self.value = context.run(fn, *self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - raised again in the waiting green thread
            self.error = exc
        self.fn = self.context = None
        self.args = ()
        self.kwargs = {}

    def deliver(self) -> None:
        # In a worker thread, after run().
        if self.greenlet is None:
            return
        try:
            self.hub.call_threadsafe(self.resume)
        except HubError:
            pass  # the caller's thread has ended and closed its hub: nobody to tell

    def resume(self) -> None:
        # On the caller's hub.
        waiter = self.greenlet
        if waiter is not None:
            self.greenlet = None
            waiter.switch()


class _Worker:
    """A worker thread's handles: ``park`` (held while it waits for work), ``exited``."""

    __slots__ = ("exited", "park", "retiring")

    def __init__(self) -> None:
        self.park = real.allocate_lock()
        self.park.acquire()
        self.exited = real.allocate_lock()
        self.exited.acquire()
        self.retiring = False


class _Pool:
    """The process-wide pool. Every field is guarded by ``lock`` except ``idents``.

    Invariants: a worker is in ``idle`` exactly when it waits on its ``park`` lock and nobody
    has released that lock yet; ``count`` is the number of workers that have not begun to retire
    (those in ``workers``).
    """

    def __init__(self) -> None:
        self.size, self.source = _size_from_environment()
        self.warned = False
        self._reset()

    def _reset(self) -> None:
        self.lock = real.allocate_lock()
        self.calls: deque[_Call] = deque()
        self.idle: list[_Worker] = []
        self.workers: set[_Worker] = set()
        self.count = 0
        # Thread idents of live workers, read without the lock (set membership is atomic).
        self.idents: set[int] = set()
        self.closed = False

    def after_fork_in_child(self) -> None:
        self._reset()

    def submit(self, call: _Call) -> bool:
        """Queue ``call`` for a worker; False if no worker can run it (run it inline then)."""
        with self.lock:
            if self.closed or self.size <= 0:
                return False
            self.calls.append(call)
            if self.idle:
                self.idle.pop().park.release()
                return True
            if self.count >= self.size:
                return True  # a busy worker takes it next
            worker = self._enlist()
        if self._start(worker):
            return True
        with self.lock:
            if self.count == 0 and call in self.calls:
                self.calls.remove(call)
                return False
        return True

    def _enlist(self) -> _Worker:
        worker = _Worker()
        self.workers.add(worker)
        self.count += 1
        return worker

    def _start(self, worker: _Worker) -> bool:
        try:
            real.start_new_thread(self._main, (worker,))
        except RuntimeError:
            # "can't start new thread" (a resource limit), or Python 3.12+ finalizing.
            with self.lock:
                if worker in self.workers:
                    self.workers.discard(worker)
                    self.count -= 1
            return False
        return True

    def fill(self) -> None:
        """Start workers until there are ``size`` of them."""
        with self.lock:
            if self.closed:
                return
            new = [self._enlist() for _ in range(self.size - self.count)]
        for worker in new:
            self._start(worker)

    def _main(self, worker: _Worker) -> None:
        # The body of a worker thread: take calls until told to retire or no longer needed.
        # A finished call is delivered only after the worker has decided what to do next
        # (under the lock), right before it runs the next call or parks: the wake-up releases
        # the GIL, and the caller's hub takes it at once, so the worker should need as little
        # of it as possible afterwards (on CPython, each GIL hand-over costs a thread wake-up).
        ident = real.get_ident()
        self.idents.add(ident)
        lock = self.lock
        calls = self.calls
        park = worker.park
        done: Optional[_Call] = None
        try:
            while True:
                leave = False
                with lock:
                    if worker.retiring:
                        # killall(): finish what is queued, then go.
                        call = calls.popleft() if calls else None
                        leave = call is None
                    elif self.count > self.size and (self.count > 1 or not calls):
                        # The pool was made smaller: leave the work to the others (the last
                        # worker of a pool resized to 0 first runs the calls still queued).
                        self.workers.discard(worker)
                        self.count -= 1
                        call = None
                        leave = True
                    elif calls:
                        call = calls.popleft()
                    else:
                        self.idle.append(worker)
                        call = None
                if done is not None:
                    done.deliver()
                    done = None
                if call is not None:
                    call.run()
                    done = call
                    call = None
                elif leave:
                    return
                else:
                    park.acquire()
        finally:
            if done is not None:
                done.deliver()
            self.idents.discard(ident)
            worker.exited.release()

    def retire_all(self, drop_queued: bool) -> tuple[list[_Worker], list[_Worker]]:
        """Tell every worker to stop once the queue is empty; return (all of them, idle ones)."""
        with self.lock:
            if drop_queued:
                self.calls.clear()
            victims = list(self.workers)
            self.workers.clear()
            self.count = 0
            for worker in victims:
                worker.retiring = True
            idle, self.idle = self.idle, []
            for worker in idle:
                worker.park.release()
        return victims, idle

    def resize(self, size: int) -> None:
        with self.lock:
            self.size = size
            self.source = ""
            self.warned = False
            # Idle workers re-check whether they are still needed; surplus ones exit.
            idle, self.idle = self.idle, []
            for worker in idle:
                worker.park.release()

    def warn_inline(self) -> None:
        """Warn once that calls run inline (size 0); raise if the size is negative."""
        where = f"{self.source}={self.size}" if self.source else f"set_num_threads({self.size})"
        if self.size < 0:
            raise _NegativeSize(f"the thread pool cannot have a negative number of threads "
                                f"({where}); set it to 0 or more")
        if not self.warned:
            self.warned = True
            warnings.warn(f"Zero threads in tpool ({where}): tpool.execute() runs every call in "
                          "the calling thread, blocking it (check GREENLANE_THREADPOOL_SIZE, "
                          "EVENTLET_THREADPOOL_SIZE or set_num_threads())", RuntimeWarning,
                          stacklevel=3)


_pool = _Pool()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.after_fork_in_child)


def execute(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in a pool thread; suspend only the calling green thread.

    Returns what ``fn`` returns, or raises what it raised, with its traceback (the worker's
    frames included). Runs ``fn`` inline when called from a pool thread (so nested calls
    cannot deadlock the pool) and when the pool has 0 threads. If the calling green thread stops
    waiting (``Timeout``, ``kill``), a call already running finishes in its thread and its
    result is dropped; a call not yet started is never started.

    Raises:
        RuntimeError: called from the hub's own greenlet (a hub callback), which cannot wait.
        ValueError: the pool size from the environment is negative (also an
            ``AssertionError``, as eventlet's).
    """
    pool = _pool
    if real.get_ident() in pool.idents:
        return fn(*args, **kwargs)
    hub = get_hub()
    current = getcurrent()
    if current is hub.greenlet:
        raise RuntimeError(f"tpool.execute({fn!r}) was called from the hub's own greenlet (a hub "
                           "callback), which cannot wait: spawn a green thread for it")
    call = _Call(fn, args, kwargs, hub, current)
    if not pool.submit(call):
        if pool.size <= 0:
            pool.warn_inline()
        return fn(*args, **kwargs)
    try:
        # resume() clears call.greenlet before switching back; any other return to here (the
        # loop ending under a waiting main greenlet) is not the answer, so wait again.
        while call.greenlet is not None:
            hub.switch()
    except BaseException:
        call.greenlet = None  # a late result is dropped; a queued call is skipped
        raise
    error = call.error
    if error is not None:
        call.error = None  # the traceback refers to the worker's frame, which refers to call
        try:
            raise error
        finally:
            del error
    return call.value  # type: ignore[no-any-return]


def setup() -> None:
    """Start the pool's threads now rather than on first use (eventlet name).

    Optional: ``execute`` starts threads as it needs them. Warns (``RuntimeWarning``) when the
    pool size is 0.

    Raises:
        ValueError: the pool size from the environment is negative (also an
            ``AssertionError``, as eventlet's).
    """
    if _pool.size <= 0:
        _pool.warn_inline()
        return
    _pool.fill()


def set_num_threads(nthreads: int) -> None:
    """Set the most threads the pool runs (``GREENLANE_THREADPOOL_SIZE`` at start-up).

    Takes effect at once: more threads are started as calls need them, and idle threads beyond
    the new size exit. 0 makes ``execute`` run calls inline, in the caller's thread.

    Raises:
        TypeError: ``nthreads`` is not an int.
        ValueError: ``nthreads`` is negative.
    """
    if not isinstance(nthreads, int) or isinstance(nthreads, bool):
        raise TypeError(f"set_num_threads() needs an int, got {nthreads!r}")
    if nthreads < 0:
        raise ValueError(f"set_num_threads() needs a count >= 0, got {nthreads}")
    _pool.resize(nthreads)


if not TYPE_CHECKING:
    # Hidden from type checkers: a module __getattr__ would make every misspelt name valid.
    def __getattr__(name: str) -> Any:
        # eventlet kept the pool size in a module global, ``_nthreads``, which its tests and
        # some callers read; here it is the pool's size, read live.
        if name == "_nthreads":
            return _pool.size
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def killall() -> None:
    """Stop every pool thread and wait until each has exited (eventlet name).

    Calls already queued still run first, and their results are delivered. Blocks the calling
    OS thread (its hub included) until the workers are gone, as eventlet does, so a worker stuck
    in a call that never returns makes it wait for ever. The pool starts new threads on the next
    ``execute``.

    Raises:
        RuntimeError: called from a pool thread (it would wait for itself).
    """
    if real.get_ident() in _pool.idents:
        raise RuntimeError("tpool.killall() was called from a tpool worker thread, which it "
                           "would wait for")
    victims, _ = _pool.retire_all(drop_queued=False)
    for worker in victims:
        worker.exited.acquire()


def _close_at_exit() -> None:
    # Nothing will ever take a result any more: drop queued calls, let idle workers go, and do
    # not wait for one busy in a call (it may never return); later calls run inline.
    with _pool.lock:
        _pool.closed = True
    _, idle = _pool.retire_all(drop_queued=True)
    for worker in idle:
        worker.exited.acquire(timeout=_EXIT_GRACE)


atexit.register(_close_at_exit)


def proxy_call(autowrap: tuple[type, ...], f: Callable[..., Any], *args: Any,
               **kwargs: Any) -> Any:
    """Call ``f`` through ``execute`` and wrap the result in ``Proxy`` if it is an ``autowrap``.

    A keyword ``nonblocking=True`` (removed before the call) calls ``f`` directly instead, as in
    eventlet.
    """
    if kwargs.pop("nonblocking", False):
        value = f(*args, **kwargs)
    else:
        value = execute(f, *args, **kwargs)
    if autowrap and isinstance(value, autowrap):
        return Proxy(value, autowrap)
    return value


_OWN = frozenset({"_obj", "_autowrap", "_autowrap_names"})


class Proxy:
    """Wrap ``obj`` so that calling its methods runs them in the thread pool.

    Attribute reads are forwarded: a callable comes back as a function that calls it through
    ``execute``; other values come back as they are, or wrapped in a ``Proxy`` when they are
    instances of the ``autowrap`` types or named in ``autowrap_names``. Results of calls are
    wrapped the same way (a method named in ``autowrap_names`` always has its result wrapped).
    Calling the proxy, ``with``, ``[]`` (get and set), ``next()`` and ``copy`` go through the
    pool; ``len``, ``bool``, ``==``, ``hash``, ``repr``, ``str`` and ``iter`` are called
    directly (they are frequent and rarely block). Pass ``nonblocking=True`` to a method to call
    it directly.

    Differs from eventlet: assigning or deleting an attribute on the proxy does it on ``obj``
    (eventlet set it on the proxy, where it shadowed ``obj``'s), and wrapped results keep the
    proxy's ``autowrap`` types.
    """

    def __init__(self, obj: Any, autowrap: tuple[type, ...] = (),
                 autowrap_names: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_autowrap", tuple(autowrap))
        object.__setattr__(self, "_autowrap_names", tuple(autowrap_names))

    def __wrap(self, value: Any, name: str) -> Any:
        # Name-mangled (``_Proxy__wrap``), so that it cannot shadow an attribute of ``obj``.
        if isinstance(value, Proxy):
            return value
        if name in self._autowrap_names or (self._autowrap and isinstance(value, self._autowrap)):
            return Proxy(value, self._autowrap)
        return value

    def __getattr__(self, name: str) -> Any:
        if name in _OWN:
            # Only reached before __init__ ran (copy and pickle make bare instances).
            raise AttributeError(name)
        value = getattr(self._obj, name)
        if not callable(value):
            return self.__wrap(value, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.__wrap(proxy_call(self._autowrap, value, *args, **kwargs), name)

        call.__name__ = getattr(value, "__name__", name)
        call.__qualname__ = getattr(value, "__qualname__", name)
        call.__doc__ = getattr(value, "__doc__", None)
        call.__wrapped__ = value  # type: ignore[attr-defined]
        return call

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._obj, name, value)

    def __delattr__(self, name: str) -> None:
        if name in _OWN:
            object.__delattr__(self, name)
        else:
            delattr(self._obj, name)

    def __dir__(self) -> list[str]:
        return dir(self._obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrap(proxy_call(self._autowrap, self._obj, *args, **kwargs), "__call__")

    def __enter__(self) -> Any:
        return proxy_call(self._autowrap, self._obj.__enter__)

    def __exit__(self, *exc: Any) -> Any:
        return proxy_call(self._autowrap, self._obj.__exit__, *exc)

    def __getitem__(self, key: Any) -> Any:
        return proxy_call(self._autowrap, self._obj.__getitem__, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        proxy_call(self._autowrap, self._obj.__setitem__, key, value)

    # copy is imported here, not at the top: only copy.copy() and copy.deepcopy() call these,
    # so it is loaded by then, and monkey_patch() (which imports this module) need not load it.
    def __copy__(self) -> Any:
        import copy

        return proxy_call(self._autowrap, copy.copy, self._obj)

    def __deepcopy__(self, memo: Optional[dict[int, Any]] = None) -> Any:
        import copy

        return proxy_call(self._autowrap, copy.deepcopy, self._obj, memo)

    def __next__(self) -> Any:
        return proxy_call(self._autowrap, next, self._obj)

    def __iter__(self) -> Any:
        it = iter(self._obj)
        return self if it is self._obj else Proxy(it, self._autowrap)

    def __eq__(self, other: object) -> bool:
        return bool(self._obj == other)

    def __ne__(self, other: object) -> bool:
        return bool(self._obj != other)

    def __hash__(self) -> int:
        return hash(self._obj)

    def __repr__(self) -> str:
        return repr(self._obj)

    def __str__(self) -> str:
        return str(self._obj)

    def __len__(self) -> int:
        return len(self._obj)

    def __bool__(self) -> bool:
        return bool(self._obj)
