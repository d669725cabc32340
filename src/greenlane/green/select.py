"""The ``select`` module with cooperative waits: ``greenlane.green.select``.

Every name of the stdlib ``select`` module is here; these are replaced:

* ``select()`` suspends only the calling green thread. It returns the fds ready at the moment it
  returns, as the stdlib does: readiness is always taken from a real ``select`` with a zero
  timeout, after the wait if it had to wait, so every fd ready by then is reported, not only
  the one that woke it. Errors are the stdlib's (``EBADF`` for a closed fd, ``ValueError`` for
  a negative one, ``TypeError`` for an object without ``fileno()``), and so is the timeout's
  meaning (``None`` waits for ever, ``0`` polls, negative is a ``ValueError``).
* ``poll()`` returns a poll object whose ``poll(timeout_ms)`` suspends only the calling green
  thread; ``register``/``modify``/``unregister`` and the event masks (``POLLIN``, ``POLLOUT``,
  ``POLLERR``, ``POLLHUP``, ``POLLNVAL``, ...) are the stdlib's, and so are the results: they
  come from the real poll object, polled with a zero timeout.
* ``epoll`` (Linux) is a class with the stdlib's methods whose ``poll()`` suspends only the
  calling green thread. An epoll instance is itself a descriptor that is readable while
  events are pending, so the wait is the hub's wait for that descriptor, then a real
  ``poll(0)``. It is a wrapper, not a subclass (``select.epoll`` cannot be subclassed), so
  ``isinstance(x, select.epoll)`` is false for the stdlib's objects once this one is patched in.

How a wait works: on Linux the fds of one blocking call are registered in a private, short-lived
epoll instance (one-shot), and the calling green thread waits on the hub for that instance to
become readable. The hub's own listeners for those fds are not touched, so a green thread in
``select()`` never conflicts with another one reading the same socket, and exceptional
conditions (``xlist``, ``POLLPRI``) are waited for too. Where ``epoll`` does not exist the wait
registers hub listeners for each fd instead: read and write readiness only (urgent data, and a
``poll`` registration with an empty mask that waits for errors alone, are then only seen when
something else wakes the call, or at its timeout), and such a wait conflicts with another green
thread waiting on the same fd in the same direction (the hub's ``RuntimeError``).

Added, as in eventlet: ``get_fileno(obj)``, the descriptor number of an int or of an object
with ``fileno()``, with eventlet's ``TypeError`` for anything else.

Differences from eventlet: eventlet's green ``select`` removes ``poll`` and ``epoll`` from the
module; here both are offered and cooperative. ``devpoll`` and ``kqueue`` (Solaris, BSD/macOS)
are the stdlib's and block; ``selectors.DefaultSelector`` does not use them once patched.
A ``poll`` or ``epoll`` object polled by two green threads at once: ``poll`` raises
``RuntimeError`` as the stdlib's does; ``epoll`` raises the hub's "second simultaneous read"
``RuntimeError`` where the stdlib would let two OS threads wait. ``get_fileno`` refuses a
negative number (``ValueError``, as ``select()`` does: a closed socket's ``fileno()`` is -1),
where eventlet's returns it.
"""

from __future__ import annotations

import errno
import math
import operator
import select as _stdselect
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence, TypeVar

from greenlet import getcurrent

from greenlane import _originals as real
from greenlane.greenthread import sleep
from greenlane.hubs import READ, WRITE, IOClosed, get_hub, notify_close

if not TYPE_CHECKING:
    # The stdlib's constants and errors; hidden from mypy, for which select, poll and epoll
    # would otherwise name the stdlib's objects in this module's own annotations.
    from select import *  # noqa: F403

__all__ = sorted([name for name in dir(_stdselect) if not name.startswith("_")]
                 + ["get_fileno"])

_E = TypeVar("_E", bound="epoll")

_REAL_EPOLL: Any = real.epoll  # the class (typed in _originals as a plain callable)
_HAS_EPOLL = real.epoll is not None
_HAS_POLL = real.poll is not None

__patches__ = (
    ("select", "select", ("select",) + (("poll",) if _HAS_POLL else ())
     + (("epoll",) if _HAS_EPOLL else ())),
)

# The Linux ABI fixes these values; PyPy's select module lacks some of the names.
_POLLIN, _POLLPRI, _POLLOUT = 0x001, 0x002, 0x004
_EPOLLONESHOT = 1 << 30
# Event bits epoll_ctl accepts as interest (POLLNVAL has no epoll counterpart; errors and
# hang-ups are always reported). IN PRI OUT RDNORM RDBAND WRNORM WRBAND MSG RDHUP.
_EPOLL_INTEREST = 0x001 | 0x002 | 0x004 | 0x040 | 0x080 | 0x100 | 0x200 | 0x400 | 0x2000
# CPython keeps timeouts as signed 64-bit nanoseconds: larger values are an OverflowError.
_MAX_SECONDS = (2 ** 63 - 1) / 1e9
_READ_BITS = 0x001 | 0x040 | 0x080  # POLLIN POLLRDNORM POLLRDBAND
_WRITE_BITS = 0x004 | 0x100 | 0x200  # POLLOUT POLLWRNORM POLLWRBAND
_INT_MAX_MS = 2 ** 31 - 1


class _TimedOut:
    """What a timer passes to a parked green thread whose wait ran out (a sentinel)."""

    __slots__ = ()


_TIMED_OUT = _TimedOut()


# ----------------------------------------------------------------------------- timeouts
def _number(value: Any, what: str) -> float:
    # CPython's conversion: floats (NaN refused), or anything with __index__; nothing else.
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"timeout must be {what} or None") from None


def _select_timeout(timeout: Any) -> Optional[float]:
    if timeout is None:
        return None
    seconds = _number(timeout, "a float")
    if seconds < 0:
        raise ValueError("timeout must be non-negative")
    if seconds > _MAX_SECONDS:
        raise OverflowError("timeout is too large")
    return seconds


def _poll_timeout(timeout: Any) -> Optional[float]:
    # poll's timeout is in milliseconds; None or negative means no timeout.
    if timeout is None:
        return None
    ms = _number(timeout, "an integer")
    if ms > _INT_MAX_MS:
        raise OverflowError("timeout is too large")
    return None if ms < 0 else ms / 1000.0


def _epoll_timeout(timeout: Any) -> Optional[float]:
    # epoll's timeout is in seconds; None or negative means no timeout.
    if timeout is None:
        return None
    seconds = _number(timeout, "an integer")
    if seconds > _MAX_SECONDS:
        raise OverflowError("timeout is too large")
    return None if seconds < 0 else seconds


def _yield() -> None:
    # Every call lets the other green threads run once before looking, even when descriptors
    # are ready already, as a blocking call would give them the CPU (and as eventlet's select,
    # which always went through the hub, did): a loop that finds its descriptors ready every
    # time - a consumer draining a busy socket - must not starve the rest (Celery's consumer
    # loop read every message before any task ran). From the hub's own greenlet it is a no-op.
    sleep(0)


def _remaining(deadline: Optional[float]) -> Optional[float]:
    if deadline is None:
        return None
    return max(0.0, deadline - get_hub().clock())


# ----------------------------------------------------------------------------- parking
def _park(fileno: Optional[int], timeout: Optional[float]) -> bool:
    """Suspend the current green thread until ``fileno`` is readable or ``timeout`` passes.

    True if the fd became readable, False on timeout. ``fileno`` None waits for the timeout
    only (for ever if it is None too: until an exception is thrown in). Raises ``IOClosed``
    if the fd is closed meanwhile through ``notify_close``.
    """
    hub = get_hub()
    current = getcurrent()
    listener = None
    timer = None
    if timeout is not None:
        timer = hub.schedule_call_global(timeout, current.switch, _TIMED_OUT)
    try:
        if fileno is not None:
            listener = hub.add(READ, fileno, current.switch, current.throw, None, rearm=True)
        return hub.switch() is not _TIMED_OUT
    finally:
        if listener is not None:
            hub.remove(listener)
        if timer is not None:
            timer.cancel()


class _Readiness:
    """Waits until one of a set of fds may be ready (interest: fd -> epoll/poll event bits).

    A private epoll instance with one-shot registrations, waited for on the hub; after each
    wake-up the fds that reported an event asked for are re-armed (they may be consumed before
    the caller's real zero-timeout check), the others (a hang-up on an fd that only asked for
    urgent data, which select() would never report) stay disarmed, so the wait cannot spin.
    Used as a context manager: closing forgets the instance in the hub, then closes it.
    """

    __slots__ = ("_epoll", "_interest", "_waiting", "_watches")

    def __init__(self, interest: dict[int, int]) -> None:
        assert real.epoll is not None
        self._interest: dict[int, int] = {}
        self._waiting: Any = None
        self._watches: list[Any] = []
        # None when there is nothing to watch: the wait is then a sleep.
        self._epoll: Any = None
        if not interest:
            return
        self._epoll = real.epoll()
        try:
            for fileno, mask in interest.items():
                mask &= _EPOLL_INTEREST
                try:
                    self._epoll.register(fileno, mask | _EPOLLONESHOT)
                except PermissionError:
                    # A regular file: select() and poll() report it ready at once (and the
                    # caller's first check did), or never for urgent data; nothing to wait for.
                    continue
                self._interest[fileno] = mask
        except BaseException:
            self._epoll.close()
            raise

    def __enter__(self) -> _Readiness:
        # The hub knows nothing of the fds in the private epoll: ask it to tell us if one is
        # closed through notify_close, so the wait ends with IOClosed like any other wait on
        # a closed descriptor instead of lasting for ever.
        hub = get_hub()
        self._watches = [hub.watch_close(fileno, self._closed) for fileno in self._interest]
        return self

    def __exit__(self, *exc: Any) -> None:
        hub = get_hub()
        for token in self._watches:
            hub.unwatch_close(token)
        epoll = self._epoll
        if epoll is not None:
            hub.forget_fd(epoll.fileno())
            epoll.close()

    def _closed(self, fileno: int) -> None:
        g = self._waiting
        if g is not None:
            self._waiting = None
            g.throw(IOClosed(errno.EBADF, f"file descriptor {fileno} was closed while a green "
                                          "thread waited on it in select/poll"))

    def wait(self, timeout: Optional[float]) -> bool:
        """Wait up to ``timeout`` (None: no limit); False if it ran out with no event."""
        if not self._interest:
            return _park(None, timeout)
        self._waiting = getcurrent()
        try:
            woken = _park(self._epoll.fileno(), timeout)
        finally:
            self._waiting = None
        if not woken:
            return False
        epoll = self._epoll
        for fileno, events in epoll.poll(0):
            mask = self._interest[fileno]
            if events & mask:
                try:
                    epoll.modify(fileno, mask | _EPOLLONESHOT)
                except OSError:
                    pass  # closed meanwhile: the caller's check reports it (EBADF, POLLNVAL)
        return True


class _ListenerReadiness:
    """The same wait without epoll: a hub listener per fd and direction, until one fires.

    Only read and write readiness can be waited for this way (the hub knows nothing else);
    urgent data (``xlist``, ``POLLPRI``) is then only seen by the caller's checks.
    """

    __slots__ = ("_reads", "_writes")

    def __init__(self, interest: dict[int, int]) -> None:
        # Only the bits the hub's readiness means: waiting for data on an fd that asked for
        # urgent data only (or for nothing but errors) would wake, find nothing, and spin.
        self._reads = [fd for fd, mask in interest.items() if mask & _READ_BITS]
        self._writes = [fd for fd, mask in interest.items() if mask & _WRITE_BITS]

    def __enter__(self) -> _ListenerReadiness:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def wait(self, timeout: Optional[float]) -> bool:
        """Wait up to ``timeout`` (None: no limit); False if it ran out with no event."""
        hub = get_hub()
        current = getcurrent()
        listeners = []
        timer = None
        if timeout is not None:
            timer = hub.schedule_call_global(timeout, current.switch, _TIMED_OUT)
        try:
            for evtype, fds in ((READ, self._reads), (WRITE, self._writes)):
                for fd in fds:
                    listeners.append(hub.add(evtype, fd, current.switch, current.throw, None,
                                             rearm=True))
            return hub.switch() is not _TIMED_OUT
        finally:
            for listener in listeners:
                hub.remove(listener)
            if timer is not None:
                timer.cancel()


_Waiter = _Readiness if _HAS_EPOLL else _ListenerReadiness


def get_fileno(obj: Any) -> int:
    """The file descriptor ``obj`` stands for: ``obj`` itself if it is an int, else
    ``obj.fileno()``.

    For code that takes what ``select()`` takes (an fd or an object with ``fileno()``) and needs
    the number; eventlet's green ``select`` offers it under this name.

    Raises:
        TypeError: ``obj`` is neither an int nor has a ``fileno()`` method, or ``fileno()``
            returned something other than an int (eventlet's message: ``Expected int or
            long, got <class '...'>``, naming the offending type).
        ValueError: the number is negative (``select()`` refuses it too).
    """
    try:
        method = obj.fileno
    except AttributeError:
        fileno = obj
    else:
        fileno = method()
    if not isinstance(fileno, int):
        raise TypeError(f"Expected int or long, got {type(fileno)}")
    if fileno < 0:
        source = "" if fileno is obj else f" (the fileno() of {obj!r})"
        raise ValueError(f"file descriptor cannot be a negative integer ({fileno}){source}")
    return int(fileno)  # a bool or an int subclass: the plain number


def _fileno(obj: Any) -> int:
    # Only called on objects the real call accepted already.
    return obj if isinstance(obj, int) else int(obj.fileno())


# ----------------------------------------------------------------------------- select()
def _sequence(seq: Any) -> Sequence[Any]:
    # Lists and tuples as they are, as the stdlib takes them (a fileno() that changes the list
    # affects the result, test_select's test_select_mutated); other iterables read once.
    if isinstance(seq, (list, tuple)):
        return seq
    try:
        return list(seq)
    except TypeError:
        raise TypeError("arguments 1-3 must be sequences") from None


def select(rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any],
           timeout: Optional[float] = None) -> tuple[list[Any], list[Any], list[Any]]:
    """Wait until some of the objects are ready for reading, writing or urgent data.

    Same contract as ``select.select``: returns three lists, subsets of the arguments, with
    every object ready when it returns; three empty lists when ``timeout`` (seconds) passes.
    Only the calling green thread waits; see the module docstring for how.

    Raises:
        OSError: ``EBADF`` for a closed descriptor.
        ValueError: a negative descriptor or timeout, or one past ``FD_SETSIZE``.
        TypeError: an argument that is not a sequence, an object without ``fileno()``.
    """
    seconds = _select_timeout(timeout)
    rl, wl, xl = _sequence(rlist), _sequence(wlist), _sequence(xlist)
    _yield()
    ready = real.select(rl, wl, xl, 0)
    if ready[0] or ready[1] or ready[2] or seconds == 0:
        return ready
    # Copies from here on: another green thread may change the caller's lists meanwhile.
    rl, wl, xl = tuple(rl), tuple(wl), tuple(xl)
    interest: dict[int, int] = {}
    for objects, bit in ((rl, _POLLIN), (wl, _POLLOUT), (xl, _POLLPRI)):
        for obj in objects:
            fd = _fileno(obj)
            interest[fd] = interest.get(fd, 0) | bit
    deadline = None if seconds is None else get_hub().clock() + seconds
    with _Waiter(interest) as waiter:
        while waiter.wait(_remaining(deadline)):
            ready = real.select(rl, wl, xl, 0)
            if ready[0] or ready[1] or ready[2]:
                return ready
    # A last look when the time is up: what the wait could not see (urgent data without
    # epoll) is reported then, as the module docstring says.
    return real.select(rl, wl, xl, 0)


# ----------------------------------------------------------------------------- poll
_DEFAULT_POLL_MASK = _POLLIN | _POLLPRI | _POLLOUT


def poll() -> _Poll:
    """A cooperative ``select.poll`` object: its ``poll()`` suspends only the calling green
    thread; ``register``, ``modify`` and ``unregister`` are the real poll object's (same
    errors: a negative fd is a ``ValueError``, ``modify`` of an unknown fd
    ``FileNotFoundError``, ``unregister`` of one ``KeyError``), and so are ``poll()``'s
    results. Two green threads polling one object at once get ``RuntimeError``, as two OS
    threads would."""
    if real.poll is None:
        raise OSError(errno.ENOSYS, "poll() is not available on this platform")
    self = object.__new__(_Poll)
    self._poll = real.poll()
    self._masks = {}
    self._busy = False
    return self


class _Poll:
    """What ``poll()`` returns; like the stdlib's, the type cannot be instantiated directly."""

    __slots__ = ("_busy", "_masks", "_poll")
    _poll: Any
    _masks: dict[int, int]
    _busy: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> _Poll:
        raise TypeError(f"cannot create '{cls.__module__}.{cls.__name__}' instances")

    def register(self, fd: Any, eventmask: int = _DEFAULT_POLL_MASK) -> None:
        """Watch ``fd`` (an int or an object with ``fileno()``) for the events in ``eventmask``."""
        self._poll.register(fd, eventmask)
        self._masks[_fileno(fd)] = operator.index(eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the events watched for an fd already registered."""
        self._poll.modify(fd, eventmask)
        self._masks[_fileno(fd)] = operator.index(eventmask)

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``."""
        self._poll.unregister(fd)
        self._masks.pop(_fileno(fd), None)

    def poll(self, timeout: Optional[float] = None) -> list[tuple[int, int]]:
        """``(fd, events)`` pairs of the registered fds with events, waiting up to ``timeout``
        milliseconds (``None`` or negative: no limit); an empty list when it runs out."""
        seconds = _poll_timeout(timeout)
        if self._busy:
            raise RuntimeError("concurrent poll() invocation")
        self._busy = True
        try:
            _yield()
            ready: list[tuple[int, int]] = self._poll.poll(0)
            if ready or seconds == 0:
                return ready
            deadline = None if seconds is None else get_hub().clock() + seconds
            with _Waiter(dict(self._masks)) as waiter:
                while waiter.wait(_remaining(deadline)):
                    ready = self._poll.poll(0)
                    if ready:
                        return ready
            # A last look when the time is up (see select()).
            return self._poll.poll(0)  # type: ignore[no-any-return]
        finally:
            self._busy = False


# ----------------------------------------------------------------------------- epoll
class epoll:
    """A cooperative ``select.epoll`` (Linux): ``poll()`` suspends only the calling green thread.

    Everything else is the real epoll object's: ``register``, ``modify``, ``unregister``,
    ``close``, ``closed``, ``fileno``, ``fromfd`` and the context-manager protocol. Closing it
    while a green thread waits in ``poll()`` makes that ``poll()`` raise ``ValueError`` (a
    closed epoll object), rather than leaving it waiting for its timeout.
    """

    __slots__ = ("__weakref__", "_epoll")

    def __init__(self, sizehint: int = -1, flags: int = 0) -> None:
        if real.epoll is None:
            raise OSError(errno.ENOSYS, "epoll is not available on this platform")
        self._epoll: Any = real.epoll(sizehint, flags)

    @classmethod
    def fromfd(cls: type[_E], fd: int) -> _E:
        """An epoll object for an existing epoll descriptor ``fd`` (which it then owns)."""
        assert real.epoll is not None
        self = cls.__new__(cls)
        self._epoll = _REAL_EPOLL.fromfd(fd)
        return self

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return bool(self._epoll.closed)

    def fileno(self) -> int:
        """The epoll instance's descriptor."""
        return int(self._epoll.fileno())

    def close(self) -> None:
        """Close the epoll instance; a green thread waiting in ``poll()`` on it is woken."""
        if not self._epoll.closed:
            notify_close(self._epoll.fileno())
        self._epoll.close()

    def register(self, fd: Any, eventmask: int = _POLLIN | _POLLPRI | _POLLOUT) -> None:
        """Watch ``fd`` for the events in ``eventmask``."""
        self._epoll.register(fd, eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the events watched for a registered ``fd``."""
        self._epoll.modify(fd, eventmask)

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``."""
        self._epoll.unregister(fd)

    def poll(self, timeout: Optional[float] = None, maxevents: int = -1
             ) -> list[tuple[int, int]]:
        """Up to ``maxevents`` ``(fd, events)`` pairs, waiting up to ``timeout`` seconds
        (``None`` or negative: no limit); an empty list when it runs out."""
        seconds = _epoll_timeout(timeout)
        real_epoll = self._epoll
        _yield()
        ready: list[tuple[int, int]] = real_epoll.poll(0, maxevents)
        if ready or seconds == 0:
            return ready
        hub = get_hub()
        deadline = None if seconds is None else hub.clock() + seconds
        fileno = real_epoll.fileno()
        try:
            while True:
                try:
                    woken = _park(fileno, _remaining(deadline))
                except OSError:
                    if real_epoll.closed:  # closed by close() meanwhile (IOClosed)
                        real_epoll.poll(0, maxevents)  # raises the stdlib's ValueError
                    raise
                if not woken:
                    return []
                ready = real_epoll.poll(0, maxevents)
                if ready:
                    return ready
        finally:
            # The hub must not keep a registration for this fd: the object may be closed
            # (or collected) at any time without telling the hub, and the number reused.
            if not real_epoll.closed:
                hub.forget_fd(fileno)

    def __enter__(self: _E) -> _E:
        if self._epoll.closed:
            raise ValueError("I/O operation on closed epoll object")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self.fileno()}"
        return f"<greenlane.green.select.epoll {state}>"


_Poll.__name__ = _Poll.__qualname__ = "poll"

if not _HAS_EPOLL:
    del epoll
if not _HAS_POLL:
    del poll
