"""BaseHub: the one run loop of an OS thread, its ready queue, timers and fd listeners.

The hub runs in its own greenlet (``hub.greenlet``). A green thread that must wait registers a
way to be woken (a listener on an fd, a timer, or an entry in a primitive's wait queue) and
switches to the hub; the hub switches back when the wait is over. Every blocking call in greenlane
goes through that one protocol, so a ``Timeout`` or ``kill`` thrown into a parked green thread
always unwinds through the code that registered the wake-up and unregisters it (``finally``).

How it differs from eventlet's hub, and why:

* Zero-delay work (``spawn``, ``sleep(0)``, wake-ups) goes through a FIFO ready queue, not the
  timer heap: no Timer object and no heap push for the commonest operations.
* The timer heap orders equal deadlines FIFO (a sequence number breaks ties, not ``id()``), and
  cancel is O(1): a timer cancelled while its entry is still the heap's last one (a timeout
  around an operation that finished in time) is dropped at once; any other entry is flagged
  and the heap compacted in a batch once cancelled entries are the majority (and past
  ``COMPACT_THRESHOLD``), or when the hub is about to block on its next timer: then cancelled
  entries on top are dropped (they would wake it for nothing), and all of them once they are
  the majority.
* ``get_timers_count()`` counts the timers still pending; eventlet's also counts the cancelled
  entries awaiting compaction (those are ``timers_canceled`` in both).
* The poller backend keeps an fd registered while it is in use instead of adding and removing it
  around every wait (eventlet pays two ``epoll_ctl`` calls per blocking wait); see ``epolls.py``.
* Listeners woken by one poll are collected first and fired after, each only if still current,
  so an fd number closed and reused by an earlier wake-up in the same batch never receives the
  old descriptor's event.
* An exception escaping a green thread or a timer callback is reported and the loop goes on;
  ``SystemExit`` and ``KeyboardInterrupt`` are re-raised in the thread's main greenlet.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import sys
from collections import deque
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

from greenlet import GreenletExit, getcurrent, greenlet

from greenlane import _originals as real
from greenlane.hubs._wakeup import Wakeup
from greenlane.hubs.timer import LocalTimer, Timer

__all__ = ["READ", "WRITE", "BaseHub", "FdListener", "HubError", "HubStatistics", "IOClosed"]

READ = "read"
WRITE = "write"

# How many ready callbacks may run before the hub polls for I/O again. Polling after every
# callback would add a syscall to each sleep(0); never polling while work is ready would let two
# green threads ping-ponging sleep(0) starve every socket. 256 bounds the extra latency an
# I/O-ready green thread sees to a few hundred microseconds of switches.
READY_BATCH = 256

# Compact the timer heap once this many cancelled entries sit in it and they are more than
# half of it (timeouts are mostly cancelled before they fire; eventlet uses the same 1000).
COMPACT_THRESHOLD = 1000


class IOClosed(IOError):
    """Raised in a green thread waiting on a file descriptor that was closed under it."""


class HubError(RuntimeError):
    """An internal error in greenlane's hub; please report it."""


class HubStatistics(NamedTuple):
    """What ``BaseHub.statistics()`` reports: work queued on the hub right now."""

    ready: int
    """Callbacks queued to run on the next turns (spawned green threads, wake-ups)."""
    timers: int
    """Timers scheduled and neither fired nor cancelled."""
    readers: int
    """Listeners waiting for an fd to become readable."""
    writers: int
    """Listeners waiting for an fd to become writable."""
    threadsafe: int
    """Callbacks handed over by ``call_threadsafe`` and not yet moved to the ready queue."""


class FdListener:
    """A green thread (or callback) waiting for one fd to become readable or writable.

    ``cb(fileno)`` is called when the fd is ready, ``tb(exc)`` when it is closed under the
    waiter. ``spent`` is True once the hub no longer holds the listener. A listener made by
    the hub's own green-thread wait has ``cb`` and ``tb`` None: the hub then switches to (or
    throws into) ``greenlet`` directly, which saves two bound-method objects per wait.
    """

    __slots__ = ("cb", "done", "evtype", "fileno", "greenlet", "mark_as_closed", "spent", "tb")

    def __init__(
        self,
        evtype: str,
        fileno: int,
        cb: Optional[Callable[[int], Any]],
        tb: Optional[Callable[..., Any]],
        mark_as_closed: Optional[Callable[[], Any]] = None,
    ) -> None:
        self.evtype = evtype
        self.fileno = fileno
        self.cb = cb
        self.tb = tb
        self.mark_as_closed = mark_as_closed
        self.spent = False
        self.done = False
        self.greenlet = getcurrent()

    def defang(self) -> None:
        """Make the listener inert (eventlet name)."""
        self.spent = True

    def __repr__(self) -> str:
        return f"<FdListener {self.evtype} fd={self.fileno} greenlet={self.greenlet!r}>"


def _nothing() -> None:
    pass


_NOTHING: tuple[Callable[..., Any], Sequence[Any]] = (_nothing, ())


def _culprit(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    # The green thread behind a ready entry: g.switch, or greenlet.switch with g first (spawn).
    if fn is _greenlet_switch and args:
        return args[0]
    return getattr(fn, "__self__", fn)


_greenlet_switch = greenlet.switch
_greenlet_throw = greenlet.throw
_new_listener = FdListener.__new__


def _root_greenlet() -> greenlet:
    g = getcurrent()
    while g.parent is not None:
        g = g.parent
    return g


class BaseHub:
    """The run loop. Backends subclass it and implement the four ``_poller_*`` methods.

    Only the thread that created a hub may use it. Use ``greenlane.hubs.get_hub()`` to get the
    current thread's hub rather than instantiating one.
    """

    READ = READ
    WRITE = WRITE
    # Backends set these to the bits of their event masks that mean "readable"/"writable"
    # (errors and hang-ups included, so a waiter always learns about them).
    READ_MASK = 1
    WRITE_MASK = 2
    # Whether an event for a direction nobody waits on should drop that interest (level-
    # triggered backends would otherwise report it again on every poll).
    LEVEL_TRIGGERED = True

    def __init__(self, clock: Optional[Callable[[], float]] = None) -> None:
        self.clock: Callable[[], float] = clock or real.monotonic
        self._root = _root_greenlet()
        self.greenlet = greenlet(self._loop, parent=self._root)
        # (function, arguments); the arguments are any sequence (sleep(0) passes a list).
        self._ready: deque[tuple[Callable[..., Any], Sequence[Any]]] = deque()
        self.push_ready: Callable[[tuple[Callable[..., Any], Sequence[Any]]], None] = (
            self._ready.append)
        """Queue ``(fn, args)`` to be called as ``fn(*args)`` on a coming turn of the loop.

        The hot-path form of ``schedule_ready``: a cached bound method that takes a prepared
        tuple, so that primitives waking a green thread pay one call and no packing.
        """
        self.timers: list[tuple[float, int, Timer]] = []
        self.timers_canceled = 0
        self._seq = itertools.count()
        self.listeners: dict[str, dict[int, FdListener]] = {READ: {}, WRITE: {}}
        self.secondaries: dict[str, dict[int, list[FdListener]]] = {READ: {}, WRITE: {}}
        self.running = False
        self.stopping = False
        self.debug_exceptions = True
        self.debug_blocking = False
        self.debug_blocking_resolution = 1.0
        self.prevent_multiple_readers = True
        self.exception_reporter: Callable[[str, Any], None] = self._print_exception
        self.listener_hook: Optional[Callable[[FdListener], Any]] = None
        """Debug hook: called with every FdListener the hub creates (``greenlane.debug``)."""
        self.timer_hook: Optional[Callable[[Timer], Any]] = None
        """Debug hook: called with every Timer scheduled with a positive delay."""
        self.debug_state: Any = None
        """Where debugging tools keep their per-hub state (``greenlane.debug`` does)."""
        # Thread-safe hand-over: other OS threads append here and signal the wake-up channel.
        self._threadsafe: deque[tuple[Callable[..., Any], Sequence[Any]]] = deque()
        self._close_watchers: dict[int, list[Callable[[int], Any]]] = {}
        self._signalled = False
        self._wakeup: Optional[Wakeup] = Wakeup()
        self._wakeup_armed = False
        self._thread_ident = real.get_ident()
        # What wait() calls to poll: a backend may put its poller's own method here to save a
        # Python frame per loop turn (see epolls.py).
        self._poll: Callable[[float], Iterable[tuple[int, int]]] = self._poller_poll

    # ------------------------------------------------------------------ backend interface
    def _poller_register(self, fileno: int, evtype: str, rearm: bool) -> None:
        """Make sure readiness of ``fileno`` in direction ``evtype`` will be reported.

        ``rearm`` is true when the caller may not have tried the operation first (public
        ``trampoline``): the backend must then report the fd if it is ready already.
        """
        raise NotImplementedError

    def _poller_disarm(self, fileno: int, evtype: str) -> None:
        """Nobody waits on ``evtype`` for ``fileno`` any more (only level-triggered backends)."""

    def _poller_forget(self, fileno: int) -> None:
        """``fileno`` is about to be closed or was reopened: drop its registration."""
        raise NotImplementedError

    def _poller_poll(self, timeout: float) -> Iterable[tuple[int, int]]:
        """Wait up to ``timeout`` seconds; return (fileno, event mask) pairs."""
        raise NotImplementedError

    def _poller_close(self) -> None:
        """Release the poller's own file descriptor."""

    # ------------------------------------------------------------------ switching
    def switch(self) -> Any:
        """Switch from the current green thread to the hub; returns what the waker passes.

        Unlike eventlet, the caller is not re-parented onto the hub.
        """
        hub_greenlet = self.greenlet
        if hub_greenlet.dead:
            hub_greenlet = self.ensure_loop()
        elif getcurrent() is hub_greenlet:
            raise RuntimeError("cannot switch to the hub from the hub: a blocking call was "
                               "made from a hub callback")
        return hub_greenlet.switch()

    def ensure_loop(self) -> greenlet:
        """The hub's loop greenlet, replaced by a fresh one if it was killed.

        Code that switches to ``hub.greenlet`` itself (the hot paths of ``sleep`` and the
        wait queue) calls this when it finds the greenlet dead; the new loop picks up the
        ready queue, timers and listeners where the old one left them.
        """
        hub_greenlet = self.greenlet
        if hub_greenlet.dead:
            hub_greenlet = self.greenlet = greenlet(self._loop, parent=self._root)
        return hub_greenlet

    def schedule_ready(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` from the hub as soon as possible, after work already queued."""
        self._ready.append((fn, args))

    def cancel_ready(self, entry: tuple[Callable[..., Any], Sequence[Any]]) -> bool:
        """Take ``entry`` (the very tuple given to ``push_ready``) off the ready queue.

        O(length of the queue): for rare paths, such as a green thread that queued its own
        resumption and was then interrupted by an exception. False if it already ran.
        """
        ready = self._ready
        # By identity: another entry may compare equal (the same greenlet's switch).
        for i, queued in enumerate(ready):
            if queued is entry:
                del ready[i]
                return True
        return False

    def call_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on this hub's thread soon; callable from *any* OS thread.

        Also safe from a signal handler, and from the hub's own thread. The call joins the
        ready queue on the hub's next turn, so a hub blocked in its poller wakes up for it;
        an exception it raises is reported as for any callback. Calls made from one thread
        run in the order they were made. Costs nothing while unused: the hub polls one more
        descriptor, which only becomes readable when this is called.

        Raises:
            HubError: the hub was closed (its thread has ended).
        """
        self._threadsafe.append((fn, args))
        if not self._signalled:
            self._signalled = True
            wakeup = self._wakeup
            if wakeup is None:
                raise HubError(f"call_threadsafe({fn!r}) on a closed hub")
            wakeup.signal()

    def _arm_wakeup(self) -> None:
        wakeup = self._wakeup
        if wakeup is None:
            raise HubError("the hub was closed")
        self._poller_register(wakeup.fileno, READ, True)
        self._wakeup_armed = True

    def _take_threadsafe(self) -> None:
        # Drain, then clear the flag, then empty the deque. A call appending before the deque
        # is empty is taken now; one appending later finds the flag clear and signals again
        # (or another caller that set the flag after the drain signals). Clearing before the
        # drain would lose a wake-up: the drain could swallow the signal of a caller that set
        # the flag after it was cleared, leaving the flag set with nothing pending.
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.drain()
        self._signalled = False
        pending = self._threadsafe
        push = self._ready.append
        while pending:
            push(pending.popleft())

    def forget_fd(self, fileno: int) -> None:
        """Drop the poller's registration of ``fileno`` without waking anyone.

        For a descriptor that is about to be closed or handed to code that does not use the
        hub (``notify_close`` also wakes the waiters; this only forgets the registration).
        """
        self._poller_forget(fileno)

    def statistics(self) -> HubStatistics:
        """How much work is queued on the hub right now (see ``HubStatistics``)."""
        return HubStatistics(
            ready=len(self._ready),
            timers=self.get_timers_count(),
            readers=len(self.get_readers()),
            writers=len(self.get_writers()),
            threadsafe=len(self._threadsafe),
        )

    def pending_callbacks(self) -> list[tuple[Callable[..., Any], Sequence[Any]]]:
        """A snapshot of the ready queue (for tests and debugging)."""
        return list(self._ready)

    # ------------------------------------------------------------------ fd listeners
    def add(
        self,
        evtype: str,
        fileno: int,
        cb: Callable[[int], Any],
        tb: Callable[..., Any],
        mark_as_closed: Optional[Callable[[], Any]] = None,
        rearm: bool = True,
    ) -> FdListener:
        """Register ``cb(fileno)`` to be called once when ``fileno`` is ready for ``evtype``.

        A second listener on the same fd and direction raises ``RuntimeError`` naming the fd
        and both green threads, unless multiple readers were allowed with
        ``greenlane.debug.hub_prevent_multiple_readers(False)``.
        """
        listener = FdListener(evtype, fileno, cb, tb, mark_as_closed)
        bucket = self.listeners[evtype]
        existing = bucket.get(fileno)
        if existing is None:
            bucket[fileno] = listener
        elif self.prevent_multiple_readers:
            raise RuntimeError(
                f"second simultaneous {evtype} on fileno {fileno} detected: {existing.greenlet!r}"
                f" is already waiting to {evtype} it, so {listener.greenlet!r} cannot. Two green"
                " threads must not read (or write) one socket at once; serialise them with a"
                " lock, or call greenlane.debug.hub_prevent_multiple_readers(False) to allow it"
            )
        else:
            self.secondaries[evtype].setdefault(fileno, []).append(listener)
        hook = self.listener_hook
        if hook is not None:
            hook(listener)
        try:
            self._poller_register(fileno, evtype, rearm)
        except PermissionError:
            # epoll refuses regular files; they are always ready, so wake the waiter at once.
            self._ready.append((self._fire_listener, (listener,)))
        except BaseException:
            self._unlink(listener)
            raise
        return listener

    def park_on_fd(self, evtype: str, fileno: int, current: greenlet) -> Any:
        """Park ``current`` until ``fileno`` is ready for ``evtype``; the wait of green I/O.

        Same contract as ``add(evtype, fileno, ..., rearm=False)``, ``switch()`` and
        ``remove()`` in ``finally`` with ``current``'s switch and throw, in one call and without
        allocating anything but the listener: only right after the operation failed with
        EAGAIN. Returns what the waker passed (the fileno); raises what was thrown (IOClosed, a
        timeout). Not in eventlet.
        """
        loop = self.greenlet
        bucket = self.listeners[evtype]
        if fileno in bucket or current is loop or loop.dead or self.listener_hook is not None:
            # A second waiter (an error, or a secondary), a call from the hub, a dead loop or a
            # debug hook: the general path deals with each.
            listener = self.add(evtype, fileno, current.switch, current.throw, None, False)
            try:
                return self.switch()
            finally:
                self.remove(listener)
        listener = _new_listener(FdListener)
        listener.evtype = evtype
        listener.fileno = fileno
        listener.cb = listener.tb = listener.mark_as_closed = None
        listener.spent = listener.done = False
        listener.greenlet = current
        bucket[fileno] = listener
        try:
            self._poller_register(fileno, evtype, False)
        except PermissionError:
            self._ready.append((self._fire_listener, (listener,)))
        except BaseException:
            self._unlink(listener)
            raise
        try:
            return loop.switch()
        finally:
            listener.done = True
            if not listener.spent:
                self._unlink(listener)

    def remove(self, listener: FdListener) -> None:
        """Unregister ``listener``; a no-op if it already fired or was closed."""
        listener.done = True
        if not listener.spent:
            self._unlink(listener)

    def _unlink(self, listener: FdListener) -> None:
        listener.spent = True
        fileno, evtype = listener.fileno, listener.evtype
        bucket = self.listeners[evtype]
        if bucket.get(fileno) is listener:
            extra = self.secondaries[evtype].get(fileno)
            if extra:
                bucket[fileno] = extra.pop(0)
                if not extra:
                    del self.secondaries[evtype][fileno]
            else:
                del bucket[fileno]
        else:
            extra = self.secondaries[evtype].get(fileno)
            if extra and listener in extra:
                extra.remove(listener)
                if not extra:
                    del self.secondaries[evtype][fileno]

    def _fire_listener(self, listener: FdListener) -> None:
        if not listener.spent:
            self._unlink(listener)
            cb = listener.cb
            if cb is None:
                _greenlet_switch(listener.greenlet, listener.fileno)
            else:
                cb(listener.fileno)

    def remove_descriptor(self, fileno: int) -> None:
        """Drop every listener on ``fileno`` without waking them (eventlet name)."""
        for evtype in (READ, WRITE):
            for listener in self._listeners_of(evtype, fileno):
                listener.spent = True
            self.listeners[evtype].pop(fileno, None)
            self.secondaries[evtype].pop(fileno, None)
        self._poller_forget(fileno)

    def _listeners_of(self, evtype: str, fileno: int) -> list[FdListener]:
        found = []
        primary = self.listeners[evtype].get(fileno)
        if primary is not None:
            found.append(primary)
        found.extend(self.secondaries[evtype].get(fileno, ()))
        return found

    def notify_close(self, fileno: int) -> None:
        """``fileno`` is about to be closed: wake its waiters with ``IOClosed``.

        Call it before closing the descriptor, so the poller can unregister it while the
        number still refers to it.
        """
        victims = self._listeners_of(READ, fileno) + self._listeners_of(WRITE, fileno)
        self.remove_descriptor(fileno)
        for listener in victims:
            if listener.mark_as_closed is not None:
                listener.mark_as_closed()
            self._ready.append((self._throw_closed, (listener,)))
        if self._close_watchers:
            for callback in self._close_watchers.pop(fileno, ()):
                self._ready.append((callback, (fileno,)))

    def watch_close(self, fileno: int, callback: Callable[[int], Any]) -> Any:
        """Call ``callback(fileno)`` from the hub if ``notify_close(fileno)`` is called.

        For waits that involve ``fileno`` without an fd listener on it (green ``select``
        waits on a private epoll), so that closing the descriptor ends them with ``IOClosed``
        as it ends listener waits. Returns a token for ``unwatch_close``; a watch fires at most
        once. Not in eventlet.
        """
        self._close_watchers.setdefault(fileno, []).append(callback)
        return (fileno, callback)

    def unwatch_close(self, token: Any) -> None:
        """Cancel a ``watch_close``; a no-op if it already fired."""
        fileno, callback = token
        callbacks = self._close_watchers.get(fileno)
        if callbacks is not None:
            try:
                callbacks.remove(callback)
            except ValueError:
                return
            if not callbacks:
                del self._close_watchers[fileno]

    def mark_as_reopened(self, fileno: int) -> None:
        """A new file now has number ``fileno``: anything still waiting on it waited on the old one.

        Those waiters get ``IOClosed`` and the stale registration is dropped (eventlet name).
        """
        self.notify_close(fileno)

    def _throw_closed(self, listener: FdListener) -> None:
        # The waiter may have been woken some other way (a Timeout) since close was noticed.
        if not listener.done:
            listener.done = True
            exc = IOClosed(errno.EBADF, f"file descriptor {listener.fileno} was closed while a "
                                        "green thread waited on it")
            tb = listener.tb
            if tb is None:
                _greenlet_throw(listener.greenlet, exc)
            else:
                tb(exc)

    def get_readers(self) -> list[FdListener]:
        """All listeners waiting for readability."""
        return self._all_listeners(READ)

    def get_writers(self) -> list[FdListener]:
        """All listeners waiting for writability."""
        return self._all_listeners(WRITE)

    def _all_listeners(self, evtype: str) -> list[FdListener]:
        found = list(self.listeners[evtype].values())
        for extra in self.secondaries[evtype].values():
            found.extend(extra)
        return found

    # ------------------------------------------------------------------ timers
    def add_timer(self, timer: Timer) -> Timer:
        """Schedule ``timer`` to fire ``timer.seconds`` from now."""
        timer.hub = self
        heapq.heappush(self.timers, (self.clock() + timer.seconds, next(self._seq), timer))
        hook = self.timer_hook
        if hook is not None:
            hook(timer)
        return timer

    def schedule_call_global(self, seconds: float, cb: Callable[..., Any], *args: Any,
                             **kw: Any) -> Timer:
        """Call ``cb(*args, **kw)`` from the hub after ``seconds``; returns a cancellable Timer."""
        timer = Timer(seconds, cb, *args, **kw)
        if seconds <= 0:
            self._ready.append((timer, ()))
            return timer
        return self.add_timer(timer)

    def schedule_call_local(self, seconds: float, cb: Callable[..., Any], *args: Any,
                            **kw: Any) -> Timer:
        """Like ``schedule_call_global``, but skipped if the calling green thread has died."""
        timer = LocalTimer(seconds, cb, *args, **kw)
        if seconds <= 0:
            self._ready.append((timer, ()))
            return timer
        return self.add_timer(timer)

    def timer_canceled(self, timer: Timer) -> None:
        """Account for a cancelled timer still in the heap; compact when they dominate.

        ``timers_canceled`` counts the cancelled entries the heap still holds (as in eventlet).
        """
        heap = self.timers
        # A timer is often cancelled before any other was pushed (a timeout around an operation
        # that finished in time), and timeouts of one length land at the end of the heap: the
        # entry is then still the heap's last element, and a heap without its last element is
        # still a heap. Dropping it costs less than counting it, and keeps the heap small.
        if heap and heap[-1][2] is timer:
            heap.pop()
            return
        self.timers_canceled += 1
        if self.timers_canceled > COMPACT_THRESHOLD and self.timers_canceled > len(heap) // 2:
            self._compact_timers()

    def _drop_cancelled_timers(self) -> None:
        # Called when the hub is about to block until its next timer (no work is waiting).
        # Cancelled entries on top would wake it for nothing; once they are the majority, all
        # of them go. At most once per blocking wait, so a small heap is not rebuilt on every
        # cancel (the cost of compacting from timer_canceled without its threshold), and
        # cancelled timeouts do not outlive a busy period in an idle hub.
        heap = self.timers
        if self.timers_canceled > len(heap) >> 1:
            self._compact_timers()
            return
        while heap and heap[0][2].called:
            heapq.heappop(heap)
            self.timers_canceled -= 1

    def _compact_timers(self) -> None:
        heap = self.timers
        heap[:] = [entry for entry in heap if not entry[2].called]
        heapq.heapify(heap)
        self.timers_canceled = 0

    def get_timers_count(self) -> int:
        """Timers that are scheduled and neither fired nor cancelled.

        eventlet's counts the heap's entries, cancelled ones awaiting compaction included
        (``timers_canceled``): here a hub with nothing scheduled says 0.
        """
        return len(self.timers) - self.timers_canceled

    def fire_timers(self, when: float) -> None:
        """Fire every timer whose deadline is at or before ``when``, in deadline order."""
        heap = self.timers
        pop = heapq.heappop
        while heap and heap[0][0] <= when:
            timer = pop(heap)[2]
            if timer.called:
                self.timers_canceled -= 1
                continue
            timer.hub = None
            try:
                timer()
            except (SystemExit, KeyboardInterrupt):
                self._raise_in_main()
            except GreenletExit:
                raise  # thrown into the hub's greenlet to end the loop, not by the callback
            except BaseException:  # noqa: BLE001 - a timer callback must not kill the loop
                self.report_exception("timer", timer)

    # ------------------------------------------------------------------ the event loop
    def run(self, *a: Any, **kw: Any) -> None:
        """This is the event loop. Runs in ``self.greenlet`` until ``abort()``.

        Each turn: run the callbacks that were ready when the turn began (at most
        READY_BATCH), fire due timers, then poll for I/O - without blocking while callbacks
        are ready, otherwise until the next timer's deadline. Callbacks queued during a turn
        wait for the next one, after the poll.
        """
        if self.running:
            raise RuntimeError("the hub is already running")
        self.running = True
        self.stopping = False
        if not self._wakeup_armed:
            self._arm_wakeup()
        ready = self._ready
        popleft = ready.popleft
        heap = self.timers
        clock = self.clock
        readers = self.listeners[READ]
        writers = self.listeners[WRITE]
        try:
            while not self.stopping:
                # A batch is what was ready when it began (trio's rule): work queued during the
                # batch - a green thread yielding with sleep(0), a wake-up - runs after I/O has
                # been polled, so one sleep(0) always lets pending I/O in (as in eventlet), and
                # green threads that keep yielding cannot starve sockets. READY_BATCH caps it.
                budget = len(ready)
                if budget > READY_BATCH:
                    budget = READY_BATCH
                while ready and budget:
                    budget -= 1
                    fn, args = popleft()
                    try:
                        fn(*args)
                    except (SystemExit, KeyboardInterrupt):
                        self._raise_in_main()
                    except GreenletExit:
                        raise  # the hub itself is being killed (see fire_timers)
                    except BaseException:  # noqa: BLE001 - see the class docstring
                        self.report_exception("green thread", _culprit(fn, args))
                if heap:
                    now = clock()
                    if heap[0][0] <= now:
                        self.fire_timers(now)
                if self.stopping:
                    break
                if ready:
                    if not (readers or writers or self._signalled):
                        # No descriptor can have anything for anyone (no listener, no
                        # thread-safe call pending): skip the syscall. A program that only
                        # switches green threads never polls.
                        continue
                    timeout = 0.0
                elif heap:
                    if self.timers_canceled:
                        self._drop_cancelled_timers()
                    timeout = (max(0.0, heap[0][0] - clock()) if heap
                               else self.default_sleep())
                else:
                    timeout = self.default_sleep()
                # The last callback's arguments would stay referenced by this frame while
                # the hub blocks (a finished green thread's arguments, a closed socket).
                fn, args = _NOTHING
                self.wait(timeout)
        finally:
            self.running = False
            self.stopping = False

    def _loop(self) -> None:
        # The body of ``self.greenlet``. abort() ends run() but not this greenlet: green threads
        # have it as their parent, and one whose parent died would hand its exit to the root
        # greenlet (a spurious wake-up there; on PyPy, an error). The root gets control as if
        # run() had returned, and the next switch to the hub runs the loop again.
        while True:
            self.run()
            self._root.switch(None)

    def wait(self, seconds: float) -> None:
        """Poll for I/O for up to ``seconds`` and wake the listeners whose fds are ready."""
        try:
            events = self._poll(seconds)
        except InterruptedError:
            return
        except GreenletExit:
            raise  # the hub itself is being killed (see fire_timers)
        except BaseException:  # noqa: BLE001 - delivered, not swallowed
            # Only a signal handler can raise here (Ctrl-C, an alarm handler raising a timeout):
            # it ran in the hub because the thread was waiting in the poller. Without green
            # threads it would have interrupted whatever blocking call the program was in, so
            # it goes to the thread's main greenlet; the hub itself must not die of it.
            self._raise_in_main()
            return
        if not events:
            return
        readers = self.listeners[READ]
        writers = self.listeners[WRITE]
        more_readers = self.secondaries[READ]
        more_writers = self.secondaries[WRITE]
        read_mask = self.READ_MASK
        write_mask = self.WRITE_MASK
        fired: list[FdListener] = []
        append = fired.append
        for fileno, mask in events:
            if mask & read_mask:
                listener = readers.get(fileno)
                if listener is not None:
                    append(listener)
                elif self._wakeup is not None and fileno == self._wakeup.fileno:
                    # Checked only where no listener matched: free on the common path.
                    self._take_threadsafe()
                    continue
                elif self.LEVEL_TRIGGERED:
                    self._poller_disarm(fileno, READ)
            if mask & write_mask:
                listener = writers.get(fileno)
                if listener is not None:
                    append(listener)
                elif self.LEVEL_TRIGGERED:
                    self._poller_disarm(fileno, WRITE)
        switch = _greenlet_switch
        for listener in fired:
            if listener.spent:
                continue
            fileno = listener.fileno
            if more_readers or more_writers:
                # Several waiters on one fd (hub_prevent_multiple_readers(False)): wake one per
                # event, as eventlet does, and promote the next. The event that woke this one
                # is spent for an edge-triggered poller, so once it has run (and read what it
                # wanted) the poller is asked to report the fd again if it is still ready.
                self._unlink(listener)
                evtype = listener.evtype
                if fileno in (readers if evtype == READ else writers):
                    self._ready.append((self._rearm, (fileno, evtype)))
            else:
                # Without secondaries a listener the hub still holds is its fd's primary.
                listener.spent = True
                if listener.evtype == READ:
                    del readers[fileno]
                else:
                    del writers[fileno]
            cb = listener.cb
            try:
                if cb is None:
                    switch(listener.greenlet, fileno)
                else:
                    cb(fileno)
            except (SystemExit, KeyboardInterrupt):
                self._raise_in_main()
            except GreenletExit:
                raise  # the hub itself is being killed (see fire_timers)
            except BaseException:  # noqa: BLE001 - see the class docstring
                self.report_exception("fd listener", listener)

    def _rearm(self, fileno: int, evtype: str) -> None:
        if fileno in self.listeners[evtype]:
            try:
                self._poller_register(fileno, evtype, True)
            except OSError:
                pass  # closed meanwhile: its waiters hear of it through notify_close

    def default_sleep(self) -> float:
        """How long to block when there is no timer at all (eventlet's 60 s)."""
        return 60.0

    def abort(self, wait: bool = False) -> None:
        """Stop the loop after its current turn; with ``wait``, switch to it until it stops."""
        if not self.running:
            return
        self.stopping = True
        current = getcurrent()
        if wait and current is not self.greenlet:
            if current is not self._root:
                # The ended loop returns to the root greenlet; resume this one on the next run.
                self._ready.append((current.switch, ()))
            self.switch()

    # ------------------------------------------------------------------ errors
    def _raise_in_main(self) -> None:
        # Propagate Ctrl-C and sys.exit() to the program instead of killing the loop.
        exc = sys.exc_info()[1]
        assert exc is not None
        self._root.throw(exc)

    def report_exception(self, where: str, culprit: Any) -> None:
        """Report the exception being handled, raised by ``culprit``; the loop goes on."""
        if self.debug_exceptions:
            self.exception_reporter(where, culprit)

    @staticmethod
    def _print_exception(where: str, culprit: Any) -> None:
        import traceback  # only when something failed: it costs import time otherwise

        sys.stderr.write(f"greenlane: unhandled exception in {where} {culprit!r}:\n")
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()

    def set_timer_exceptions(self, value: bool) -> None:
        """eventlet compatibility: whether timer exceptions are printed."""
        self.debug_exceptions = value

    def set_debug_listeners(self, value: bool) -> None:
        """eventlet compatibility: listeners always record their green thread here."""

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the poller and the wake-up channel; the hub must not be used afterwards."""
        self._poller_close()
        self._close_wakeup()

    def _close_wakeup(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None:
            wakeup.close()

    def _after_fork_in_child(self) -> None:
        # The child shares the parent's epoll/kqueue object: never touch its registrations,
        # just let go of our descriptors.
        self._poller_close()
        self._close_wakeup()

    def __repr__(self) -> str:
        return (f"<{type(self).__module__}.{type(self).__name__} running={self.running} "
                f"ready={len(self._ready)} timers={self.get_timers_count()} "
                f"readers={len(self.listeners[READ])} writers={len(self.listeners[WRITE])}>")
