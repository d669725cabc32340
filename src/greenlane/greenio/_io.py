"""The green I/O toolkit: the one wait after EAGAIN, socket-style timeouts, descriptor lifetime.

Every green I/O object in greenlane (``GreenSocket``, ``GreenSSLSocket``, ``GreenFileIO``,
``greenlane.green.os``, the WSGI server's connections) is built from the pieces here:

* **The one wait.** The caller makes the non-blocking syscall itself (the optimistic path: a
  couple of attribute look-ups and a C call, nothing else) and only when that raised
  ``BlockingIOError`` (EAGAIN) hands over to :func:`io_retry`, which parks the green thread on
  the hub until the descriptor is ready and makes the call again, until it succeeds or the
  timeout runs out. Because the syscall has just failed with EAGAIN and no other green thread
  ran since, the hub may use its registration without re-arming it (``hub.park_on_fd``; see
  ``hubs/epolls.py``). :func:`wait_after_eagain` is the same wait without the retry (for a loop
  that wants to look at something else before trying again), and :func:`send_all` the loop
  behind every ``sendall``. Nothing else in greenlane parks on a descriptor after EAGAIN.
* **Timeouts, as the stdlib's sockets have them.** :class:`SocketTimeouts` gives a class
  ``settimeout``/``gettimeout``/``setblocking``/``getblocking``/``timeout`` over a *green*
  timeout, kept in Python while the descriptor stays non-blocking: None waits for ever, 0 makes
  every call pass straight through (``BlockingIOError``), a positive value raises
  ``socket.timeout`` (``TimeoutError``) after that long. :func:`deadline` and
  :func:`remaining` bound a whole call (``sendall``, ``sendfile``) instead of each wait.
* **Descriptor lifetime.** :func:`notify_close` must be called *before* a descriptor is
  released: it wakes any green thread parked on it with ``IOClosed`` (an ``OSError`` with errno
  EBADF) and drops the poller's registration while the number still refers to the file.
  :func:`notify_opened` is called for every descriptor greenlane receives from the kernel
  (``socket()``, ``accept``, ``dup``, ``socketpair``, ``fromfd``, ``open``), so whatever the hub
  still remembered about an earlier file with the same number (one closed without greenlane
  knowing, for instance by the garbage collector) is forgotten before anyone waits on the new
  one. :func:`close_fd` is the two steps of closing a bare descriptor.

These names are greenlane's internal API (used by ``green/``, ``wsgi/``), not eventlet's.
"""

from __future__ import annotations

import io
import socket
import sys
from operator import index as _index
from typing import Any, Callable, Optional, Union

from greenlet import getcurrent

from greenlane import _originals as real
from greenlane.hubs import _context, get_hub
from greenlane.hubs.hub import READ, WRITE

__all__ = [
    "SEND_SLICE",
    "SocketTimeouts",
    "byte_view",
    "check_timeout",
    "close_fd",
    "deadline",
    "io_retry",
    "notify_close",
    "notify_opened",
    "remaining",
    "seconds_argument",
    "send_all",
    "text_file",
    "timeout_error",
    "wait_after_eagain",
]

_PYPY = sys.implementation.name == "pypy"

#: The most one ``send()`` call is offered. PyPy copies the whole buffer it is given into raw
#: memory before the syscall, which takes only a few hundred KiB of it: offering the rest of a
#: 64 MiB buffer each time made ``sendall`` quadratic there. CPython passes the buffer itself.
SEND_SLICE = 1 << 20 if _PYPY else sys.maxsize

_ExcTypes = Union[type[BaseException], tuple[type[BaseException], ...]]

# CPython keeps durations as signed 64-bit nanoseconds.
_MAX_SECONDS = (2 ** 63 - 1) / 1e9

# Captured at import: socket.timeout is TimeoutError since 3.10, but the name is what users
# catch, and patching never replaces it.
_socket_timeout = socket.timeout


class _NeverRaised(Exception):
    """Placeholder for an exception kind a caller of ``io_retry`` does not expect."""


# ----------------------------------------------------------------------------- timeouts
def timeout_error() -> OSError:
    """A fresh ``socket.timeout("timed out")``, as the stdlib raises when a timeout runs out."""
    exc = _socket_timeout("timed out")
    exc.is_timeout = True  # type: ignore[attr-defined]  # greenlane.is_timeout() on Python 3.9
    return exc


def _throw_timeout(target: Any) -> None:
    # Runs from the hub when a timeout expires; the exception is built only then.
    target.throw(timeout_error())


def seconds_argument(value: Any) -> float:
    """``value`` converted as CPython converts a duration argument (``time.sleep``, timeouts).

    A float, or an integer (anything with ``__index__``), as a float; what the C functions do
    not take is refused with their exceptions.

    Raises:
        TypeError: neither a float nor an integer (a str, None, a Decimal, ...).
        ValueError: NaN.
        OverflowError: beyond the C clock's range (about 292 years, in nanoseconds).
    """
    seconds = value if isinstance(value, float) else float(_index(value))
    if seconds != seconds:
        raise ValueError("Invalid value NaN (not a number)")
    if not -_MAX_SECONDS <= seconds <= _MAX_SECONDS:
        raise OverflowError("timestamp too large to convert to C _PyTime_t")
    return seconds


def check_timeout(value: Optional[float]) -> Optional[float]:
    """``value`` checked as ``socket.settimeout`` checks it; returns it as a float (or None).

    Raises:
        TypeError, OverflowError: see :func:`seconds_argument`.
        ValueError: negative, or NaN.
    """
    if value is None:
        return None
    seconds = seconds_argument(value)
    if seconds < 0.0:
        raise ValueError("Timeout value out of range")
    return seconds


def deadline(timeout: Optional[float]) -> Optional[float]:
    """The hub clock's time at which ``timeout`` (None: never) runs out, for :func:`remaining`."""
    return None if timeout is None else get_hub().clock() + timeout


def remaining(when: Optional[float]) -> Optional[float]:
    """The seconds left until the deadline ``when`` (None: no limit).

    Raises:
        socket.timeout: the deadline has passed.
    """
    if when is None:
        return None
    left = when - get_hub().clock()
    if left <= 0:
        raise timeout_error()
    return left


class SocketTimeouts:
    """``settimeout`` and friends over a green timeout: a mixin for green socket classes.

    The class keeps the timeout in ``_timeout`` (None, 0.0 or positive seconds) and whether it
    is 0.0 in ``act_non_blocking`` (eventlet's attribute name), and must keep its descriptor
    non-blocking; a subclass that must also act on a change (TLS sockets reset the C-level
    timeout the stdlib may have set) extends ``settimeout``. ``GreenSocket`` and
    ``GreenSSLSocket`` both use it, so the two behave the same.
    """

    # Empty, so that slotted subclasses stay without a __dict__; they provide the two
    # attributes (as slots, or in their __dict__), hence the ignores below.
    __slots__ = ()

    _timeout: Optional[float]
    act_non_blocking: bool

    def settimeout(self, value: Optional[float]) -> None:
        """None blocks (the green thread), 0 makes calls non-blocking, else a timeout in s."""
        timeout = self._timeout = check_timeout(value)  # type: ignore[misc]
        self.act_non_blocking = timeout == 0.0  # type: ignore[misc]

    def gettimeout(self) -> Optional[float]:
        """The timeout set with ``settimeout`` (None: blocking; 0.0: non-blocking)."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """True: ``settimeout(None)``; False: ``settimeout(0)`` (non-blocking)."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        """False only in non-blocking mode (timeout 0)."""
        return self._timeout != 0.0

    @property
    def timeout(self) -> Optional[float]:
        """The green timeout, as ``gettimeout()`` returns it."""
        return self._timeout


# ----------------------------------------------------------------------------- the one wait
def io_retry(
    fileno: int,
    evtype: str,
    timeout: Optional[float],
    call: Callable[..., Any],
    args: tuple[Any, ...],
    again: _ExcTypes = BlockingIOError,
    want_read: _ExcTypes = _NeverRaised,
    want_write: _ExcTypes = _NeverRaised,
) -> Any:
    """Wait until ``fileno`` is ready for ``evtype`` (READ/WRITE), then return ``call(*args)``.

    Call it only right after ``call`` failed with EAGAIN, with no switch in between: the hub
    then needs no re-arming (see ``hubs/epolls.py``). ``call`` is retried after each wake-up;
    raising ``again`` means "wait for the same direction again", ``want_read``/``want_write``
    switch the direction (TLS needs both). Any other exception from ``call`` propagates.

    Raises:
        socket.timeout: ``timeout`` seconds (None: never) passed in total.
        IOClosed: the descriptor was closed (``notify_close``) while this green thread waited.
    """
    hub = _context.current.hub or get_hub()
    current = getcurrent()
    timer = None
    if timeout is not None:
        timer = hub.schedule_call_global(timeout, _throw_timeout, current)
    park = hub.park_on_fd
    try:
        while True:
            park(evtype, fileno, current)
            try:
                return call(*args)
            except again:
                pass
            except want_read:
                evtype = READ
            except want_write:
                evtype = WRITE
    finally:
        if timer is not None:
            timer.cancel()


def _ready() -> None:
    return None


def wait_after_eagain(fileno: int, evtype: str, timeout: Optional[float] = None) -> None:
    """Only the wait of :func:`io_retry`: return once ``fileno`` is ready for ``evtype``.

    For a loop that must look at something else before it tries again (the WSGI accept loop
    checks its capacity). Same preconditions and exceptions as ``io_retry``.
    """
    io_retry(fileno, evtype, timeout, _ready, ())


def send_all(
    fileno: int,
    send: Callable[[memoryview, int], int],
    view: memoryview,
    sent: int,
    flags: int,
    until: Optional[float],
    again: _ExcTypes = BlockingIOError,
    want_read: _ExcTypes = _NeverRaised,
    want_write: _ExcTypes = _NeverRaised,
) -> None:
    """Send ``view[sent:]`` with ``send(chunk, flags)``, waiting as needed; the loop of sendall.

    Each chunk is at most ``SEND_SLICE`` bytes. ``until`` is a :func:`deadline` (None: none);
    the exception kinds are those of :func:`io_retry` (for TLS, the want-read/want-write errors).

    Raises:
        socket.timeout: the deadline passed first.
    """
    total = len(view)
    while sent < total:
        with view[sent:sent + SEND_SLICE] as rest:
            try:
                sent += send(rest, flags)
                continue
            except want_read:
                evtype = READ
            except (again, want_write):  # type: ignore[misc]
                evtype = WRITE
            sent += io_retry(fileno, evtype, remaining(until), send, (rest, flags),
                             again, want_read, want_write)


# ----------------------------------------------------------------------------- fd lifetime
def notify_close(fileno: int) -> None:
    """Call before releasing ``fileno``: its waiters get ``IOClosed``, the hub forgets it.

    Also ``notify_opened``: call it for a descriptor fresh from the kernel, so that nothing
    left from an earlier file with the same number wakes or confuses its waiters.

    ``hubs.notify_close`` with a fast path for the common case of nobody waiting: creating and
    closing sockets is hot (connect + accept) and most descriptors have no listener when they
    are opened or closed, so then only the poller's registration is dropped. (A secondary
    listener never exists without a primary one, so the two primary maps suffice.)
    """
    hub = _context.current.hub
    if hub is not None:
        listeners = hub.listeners
        if fileno in listeners[READ] or fileno in listeners[WRITE]:
            hub.notify_close(fileno)
        else:
            hub.forget_fd(fileno)


# A descriptor number fresh from the kernel: whatever the hub remembered of it belonged to a
# file that is gone, so forgetting it is the same operation (eventlet's notify_opened). The
# same function, not a wrapper: it runs for every socket created.
notify_opened = notify_close


def close_fd(fileno: int) -> None:
    """Close the bare descriptor ``fileno`` (``os.close``), telling the hub first."""
    notify_close(fileno)
    real.close(fileno)


# ----------------------------------------------------------------------------- buffers, files
def byte_view(data: Any) -> memoryview:
    """``data`` as a flat memoryview of bytes, cast only if it is not one already.

    bytes and bytearray need no cast. PyPy sends from a cast view about forty times slower than
    from a plain one, so there a buffer that needs the cast is copied once instead.
    """
    view = memoryview(data)
    if view.itemsize == 1 and view.ndim == 1 and view.c_contiguous:
        return view
    try:
        if _PYPY and view.c_contiguous:
            return memoryview(view.tobytes())
        return view.cast("B")
    finally:
        view.release()


def text_file(buffer: Any, mode: str, encoding: Optional[str], errors: Optional[str],
              newline: Optional[str], line_buffering: bool = False) -> io.TextIOWrapper:
    """``buffer`` in a text file, as ``open()`` builds it for ``mode`` (sockets and pipes)."""
    if encoding is None and hasattr(io, "text_encoding"):  # Python 3.10+
        encoding = io.text_encoding(encoding)
    text = io.TextIOWrapper(buffer, encoding, errors, newline, line_buffering)
    text.mode = mode  # type: ignore[misc]
    return text
