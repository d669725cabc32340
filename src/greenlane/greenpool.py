"""``GreenPool`` (bounded concurrency) and ``GreenPile`` (results in spawn order).

Same names and semantics as ``eventlet.greenpool``: ``spawn`` waits while the pool is full;
called from one of the pool's own green threads while the pool is full, it runs the function
right there instead (waiting could deadlock). Differences, all deliberate:

* Slots are handed to waiting ``spawn`` calls first come, first served, and growing the pool
  with ``resize`` starts waiting ``spawn`` calls at once (eventlet left them waiting for the
  next green thread to finish).
* ``waiting()`` counts the green threads actually waiting in ``spawn``; ``free()`` never counts
  a slot that is already on its way to one of them.
* ``waitall()`` called from one of the pool's own green threads, where it would never
  return, raises an error that is a ``RuntimeError`` as well as the ``AssertionError``
  eventlet raises (so it is not lost under ``python -O``, and ``except AssertionError``
  written for eventlet still catches it).
* A ``spawn`` run inline (see above) does not raise the function's ``Exception`` in the caller;
  it is kept in the returned ``GreenThread``, as for a normal spawn.
* ``imap``/``starmap``: an exception raised while iterating the *input* is raised by the
  consumer's ``next()`` (eventlet's mapping green thread died and the consumer hung), and an
  ``imap`` iterator dropped before the end stops its mapping green thread instead of leaving it
  blocked forever.
* ``spawn_n`` reports an exception of the function through the hub (``greenlane.debug``'s
  ``hub_exceptions``), not through a module-level ``DEBUG`` flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from greenlet import greenlet

from greenlane.greenthread import GreenThread, getcurrent, kill, spawn, spawn_n
from greenlane.hubs import HubError, WaitQueue, _context, get_hub
from greenlane.queue import LightQueue
from greenlane.semaphore import Semaphore

__all__ = ["GreenPile", "GreenPool"]

T = TypeVar("T")


class _WaitallFromInside(RuntimeError, AssertionError):
    """``waitall()`` from one of the pool's own green threads (see the module docstring)."""


def _as_tuple(*args: Any) -> tuple[Any, ...]:
    return args


class GreenPool:
    """A pool of green threads that runs at most ``size`` functions at once.

    Args:
        size: the maximum number of green threads running at once (>= 0).

    Attributes:
        size: the current maximum.
        coroutines_running: the set of the pool's green threads that have not finished.
    """

    def __init__(self, size: int = 1000) -> None:
        try:
            size = int(size)
        except (TypeError, ValueError) as e:
            raise TypeError(f"GreenPool() expects an int size, got {type(size)}: {e}") from None
        if size < 0:
            raise ValueError(f"GreenPool() expects size >= 0, got {size!r}")
        self.size = size
        self.coroutines_running: set[greenlet] = set()
        self.sem = Semaphore(size)
        self._idle_waiters = WaitQueue()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} size={self.size} running={self.running()} "
                f"waiting={self.waiting()}>")

    def resize(self, new_size: int) -> None:
        """Change the maximum number of green threads running at once.

        Growing the pool starts waiting ``spawn`` calls right away. Shrinking it lets the
        running ones finish; new ones start once fewer than ``new_size`` run (until then
        ``free()`` is negative).
        """
        if new_size < 0:
            raise ValueError(f"GreenPool size must be >= 0, got {new_size!r}")
        delta = new_size - self.size
        self.size = new_size
        self.sem._adjust(delta)

    def running(self) -> int:
        """The number of the pool's green threads that have not finished."""
        return len(self.coroutines_running)

    def free(self) -> int:
        """How many more green threads could start now; zero or less means ``spawn`` waits."""
        # The semaphore never keeps a free unit while green threads wait for one.
        return self.sem.counter

    def waiting(self) -> int:
        """The number of green threads waiting in ``spawn``/``spawn_n`` for a free slot."""
        # A green thread handed a slot counts as waiting until it has resumed.
        waiters = self.sem._waiters
        return len(waiters) + waiters.handing

    def spawn(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> GreenThread[T]:
        """Run ``function(*args, **kwargs)`` in a new green thread of the pool.

        Waits for a free slot while the pool is full; from one of the pool's own green threads
        it then calls ``function`` right away instead (see the module docstring).

        Returns:
            the ``GreenThread``, whose ``wait()`` gives the result or raises the exception.
        """
        sem = self.sem
        # Semaphore.acquire's fast path, inline: the counter is positive only while nobody waits.
        if sem.counter > 0:
            sem.counter -= 1
        elif not self._wait_for_slot():
            return self._spawn_inline(getcurrent(), function, args, kwargs)
        gt = spawn(function, *args, **kwargs)
        self.coroutines_running.add(gt)
        gt.link(self._spawn_done)
        return gt

    @staticmethod
    def _spawn_inline(current: greenlet, function: Callable[..., T], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> GreenThread[T]:
        # A GreenThread that is never switched to, used only to record the outcome.
        gt: GreenThread[T] = GreenThread(current)
        try:
            gt.main(function, args, kwargs)
        except Exception:  # noqa: BLE001 - kept in gt; Timeout/GreenletExit propagate
            pass
        return gt

    def spawn_n(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Like ``spawn``, but cheaper and with no way to get the result.

        An exception raised by ``function`` is reported by the hub.
        """
        sem = self.sem
        if sem.counter > 0:  # as in spawn
            sem.counter -= 1
        elif not self._wait_for_slot():
            try:
                function(*args, **kwargs)
            except Exception:  # noqa: BLE001 - reported like any green thread's exception
                get_hub().report_exception("green thread", function)
            return
        g = spawn_n(self._run_n, function, args, kwargs)
        self.coroutines_running.add(g)

    def _run_n(self, function: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> None:
        try:
            function(*args, **kwargs)
        finally:
            self._spawn_done(getcurrent())

    def _wait_for_slot(self) -> bool:
        # The pool is full: wait for a slot, unless the caller is one of the pool's own green
        # threads (False: it must run the function itself, as waiting could deadlock).
        if getcurrent() in self.coroutines_running:
            return False
        try:
            self.sem.acquire()
        except BaseException:
            # Killed while waiting: if that was all the pool had to do, waitall() may return.
            self._check_idle()
            raise
        return True

    def _spawn_done(self, gt: greenlet) -> None:
        # Linked to each spawned green thread (also called when one is killed before it
        # started), and called by _run_n at the end of a spawn_n one.
        self.sem.release()
        running = self.coroutines_running
        running.discard(gt)
        if not running and self._idle_waiters:
            self._check_idle()

    def _check_idle(self) -> None:
        if not self.coroutines_running and not self.waiting():
            self._idle_waiters.wake_all()

    def waitall(self) -> None:
        """Wait until every green thread of the pool has finished and none waits to start.

        Raises:
            RuntimeError: when called from one of the pool's own green threads (also an
                ``AssertionError``, as eventlet's).
        """
        if getcurrent() in self.coroutines_running:
            raise _WaitallFromInside("Calling waitall() from within one of the GreenPool's "
                                     "green threads will never terminate.")
        if self.coroutines_running or self.waiting():
            self._idle_waiters.park()

    def starmap(self, function: Optional[Callable[..., T]],
                iterable: Iterable[Iterable[Any]]) -> Iterator[T]:
        """Like ``itertools.starmap``, running ``function(*args)`` in the pool's green threads.

        Results come in input order; an exception raised by ``function`` is raised by ``next``
        at its position, and iteration may go on after it. At most ``size`` results are kept
        waiting for the consumer. ``function=None`` yields the argument tuples.
        """
        if function is None:
            function = _as_tuple  # type: ignore[assignment]
        assert function is not None
        return GreenMap(self, function, iterable)

    def imap(self, function: Optional[Callable[..., T]], *iterables: Iterable[Any]
             ) -> Iterator[T]:
        """Like the builtin ``map``, running ``function`` in the pool's green threads.

        See ``starmap`` for ordering, exceptions and flow control.
        """
        return self.starmap(function, zip(*iterables))


class GreenPile(Generic[T]):
    """Spawn functions, then iterate to get their results in spawn order.

    ``next()`` returns the result of the oldest function not yet consumed (waiting for it) or
    raises its exception; iteration stops once every spawned result has been consumed. A
    pile can be refilled and iterated again.

    Args:
        size_or_pool: a ``GreenPool`` to spawn in, or the size of a new one.
    """

    def __init__(self, size_or_pool: Union[int, GreenPool] = 1000) -> None:
        if isinstance(size_or_pool, GreenPool):
            self.pool = size_or_pool
        else:
            self.pool = GreenPool(size_or_pool)
        self.waiters: LightQueue[GreenThread[T]] = LightQueue()
        self.counter = 0

    def spawn(self, func: Callable[..., T], *args: Any, **kw: Any) -> None:
        """Run ``func(*args, **kw)`` in the pool (waiting while it is full)."""
        self.counter += 1
        try:
            gt = self.pool.spawn(func, *args, **kw)
        except BaseException:
            self.counter -= 1
            raise
        self.waiters.put(gt)

    def __iter__(self) -> GreenPile[T]:
        return self

    def __next__(self) -> T:
        if self.counter == 0:
            raise StopIteration()
        gt = self.waiters.get()
        self.counter -= 1
        return gt.wait()

    next = __next__


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE: Any = object()


def _map_into(pool: GreenPool, function: Callable[..., Any], iterable: Iterable[Any],
              results: LightQueue[Any]) -> None:
    # The mapping green thread. It holds the results queue but not the GreenMap, so that
    # dropping the iterator lets GreenMap.__del__ stop it.
    try:
        for args in iterable:
            results.put(pool.spawn(function, *args))
    except Exception as e:  # noqa: BLE001 - handed to the consumer, raised by next()
        results.put(_Failure(e))
        return
    results.put(_DONE)


class GreenMap(Iterator[T]):
    """The iterator returned by ``GreenPool.imap``/``starmap`` (internal)."""

    def __init__(self, pool: GreenPool, function: Callable[..., T],
                 iterable: Iterable[Any]) -> None:
        self._results: LightQueue[Any] = LightQueue(pool.size)
        self._hub = get_hub()
        self._done = False
        self._mapper = spawn_n(_map_into, pool, function, iterable, self._results)

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        entry = self._results.get()
        if entry is _DONE:
            self._done = True
            raise StopIteration
        if isinstance(entry, _Failure):
            self._done = True
            raise entry.exc
        return entry.wait()  # type: ignore[no-any-return]

    # eventlet's GreenMap is a GreenPile, whose next() this is.
    next = __next__

    def __del__(self) -> None:
        mapper = getattr(self, "_mapper", None)
        if mapper is not None and not mapper.dead:
            # Never switch from __del__ (it may run anywhere: in the hub, in another OS thread
            # through the garbage collector): let the hub unwind the mapping green thread,
            # which takes itself off what it waits on.
            if _context.current.hub is self._hub:
                self._hub.push_ready((kill, (mapper,)))
                return
            try:
                self._hub.call_threadsafe(kill, mapper)
            except HubError:
                pass  # the hub (and its thread) is gone, and the green thread with it
