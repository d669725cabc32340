"""The ``os`` module with cooperative descriptor I/O and child waits: ``greenlane.green.os``.

Every name of the stdlib ``os`` module is here. Replaced (and patched by ``monkey_patch(os=True)``):

* ``read`` and ``write`` suspend only the calling green thread while a pipe, socket or terminal
  has no data (or no room). On a descriptor left in blocking mode they wait for readiness
  *before* the call, so they never block the process (eventlet's #973/#975: ``os.read`` on an
  inotify descriptor froze everything). ``write`` on such a descriptor writes everything, like
  the blocking call.
* ``waitpid`` and ``wait`` suspend only the calling green thread until a child changes state;
  ``WNOHANG`` passes straight through. Nothing polls: waiting for one child's exit watches a
  pidfd (``pidfd_open``, Linux 5.3+) on the hub; other waits (any child, a process group,
  ``WUNTRACED``/``WCONTINUED``) and systems without pidfds are woken by ``SIGCHLD``: greenlane
  installs a handler, from the main thread, the first time it needs one, which hands the news
  to every hub with a waiter through ``call_threadsafe`` and then calls the handler it replaced.
  Where no handler can be installed (the first such wait happens outside the main thread, or
  ``SIGCHLD`` is ignored, which makes the kernel reap children itself), the wait falls back to
  re-checking with a growing interval (0.5 ms doubling up to 50 ms, the stdlib's
  ``Popen.wait(timeout)`` intervals).
* ``open`` tells the hub the descriptor number is new (``notify_opened``); opening a FIFO
  without ``O_NONBLOCK``, which blocks until the other end is opened, is done in the thread
  pool. ``close`` wakes green threads blocked on the descriptor with ``IOClosed`` first
  (``notify_close``), so a reused number never inherits an old registration.
* ``fdopen`` returns a ``GreenPipe``.

The replacements are plain callable objects, not Python functions: like the builtins of ``os``
they replace, they stay plain functions when stored as class attributes (PyPy's ``pathlib``
keeps ``open = os.open`` in a class, where a function would become a method). Every other name
of ``os``, public or private (``PathLike``, ``supports_fd``, ``_exit``, ...), is the stdlib's own
object.

Not replaced, on purpose:

* ``fork``: the hub (``greenlane.hubs``) and the thread pool (``greenlane.tpool``) already reset
  themselves in the child through ``os.register_at_fork``; the child starts with a fresh hub
  and no pool threads, whoever calls ``fork``.
* Regular files (``open``, ``read``, ``write`` on them, ``stat``, ...): the kernel reports them
  always ready, so no event loop can make them cooperative; they block on the disk as without
  greenlane (as in eventlet and gevent). For a slow or network filesystem, move the calls to a
  real thread with ``greenlane.tpool.execute``. The same goes for devices whose ``open`` blocks
  (a serial line without ``O_NONBLOCK``).

Differs from eventlet, whose ``waitpid`` re-checked every 10 ms (its issue #813 among others).
"""

from __future__ import annotations

import os as _stdos
import signal as _stdsignal
import stat as _stat
import sys
from os import *  # noqa: F403
from typing import Any, Callable, Optional, TypeVar, cast

from greenlane import _originals as real
from greenlane import tpool
from greenlane.greenio._io import close_fd, notify_opened
from greenlane.greenio._pipe import GreenPipe, green_read, green_write
from greenlane.greenthread import sleep
from greenlane.hubs import BaseHub, HubError, WaitQueue, _context, get_hub, trampoline

# Every name of os, including those outside os.__all__ (PathLike, supports_*, st, abc, ...)
# that code importing this module in place of os (import_patched) expects; the green
# definitions below replace some.
globals().update({name: value for name, value in vars(_stdos).items()
                  if not name.startswith("__") and name not in globals()})

__all__ = sorted(set(_stdos.__all__)
                 | {"close", "fdopen", "open", "read", "wait", "waitpid", "write"})

__patches__ = (("os", "os", ("read", "write", "waitpid", "wait", "open", "close", "fdopen")),)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

read = green_read
write = green_write

# Taken at import, before patching replaces the module attributes with the functions below.
_real_open: Callable[..., int] = _stdos.open
_real_stat: Callable[..., Any] = _stdos.stat

_WNOHANG: int = getattr(_stdos, "WNOHANG", 1)
_O_NONBLOCK: int = getattr(_stdos, "O_NONBLOCK", 0)
_SIGCHLD: Optional[int] = getattr(_stdsignal, "SIGCHLD", None)

# On the SIGCHLD path, a wait re-checks at least this often. A handler installed over
# greenlane's after it (without calling it) would otherwise lose every wake-up for good.
_RECHECK = 1.0
# The fallback without pidfds or a SIGCHLD handler: Popen.wait(timeout)'s own intervals.
_POLL_FIRST = 0.0005
_POLL_MAX = 0.05


def _syscall_pidfd_open() -> Optional[Callable[[int, int], int]]:
    # PyPy 3.9 and CPython < 3.9 lack os.pidfd_open although Linux 5.3+ has the system call,
    # whose number is 434 on every architecture (it postdates the unified syscall table)
    # except alpha.
    if not sys.platform.startswith("linux") or _stdos.uname().machine.startswith("alpha"):
        return None
    try:
        import ctypes
    except ImportError:
        return None
    try:
        syscall = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long

    def pidfd_open(pid: int, flags: int = 0) -> int:
        # Varargs: pass longs, so the registers' upper halves are defined.
        fd = int(syscall(ctypes.c_long(434), ctypes.c_long(pid), ctypes.c_long(flags)))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, _stdos.strerror(err))
        return fd

    return pidfd_open


class _Expired(Exception):
    """Thrown into a green thread whose pidfd wait reached its deadline (never escapes)."""


class _HubWaiters:
    """The green threads of one hub waiting for SIGCHLD news, and how many waits use it."""

    __slots__ = ("queue", "users")

    def __init__(self) -> None:
        self.queue = WaitQueue()
        self.users = 0


class _ChildWatch:
    """How green threads learn that a child process may have changed state; one per process.

    ``wait_until(check, ...)`` calls ``check()`` (a non-blocking ``waitpid``) until it returns
    something other than None, suspending the green thread in between until there is news:
    a pidfd becoming readable, or a SIGCHLD. ``queues`` maps each hub with SIGCHLD waiters to
    them; it is changed under ``lock`` and read by the signal handler without it (the handler
    runs in the main thread between bytecodes, possibly while that thread holds the lock).
    """

    def __init__(self) -> None:
        self.pidfd_open: Optional[Callable[..., int]] = (
            real.pidfd_open if real.pidfd_open is not None else _syscall_pidfd_open())
        self.previous: Any = None
        self.after_fork_in_child()

    def after_fork_in_child(self) -> None:
        # Also the initial state. After a fork the lock may have been held by a thread that
        # does not exist in the child, and the parent's hubs and waiters are gone.
        self.lock = real.allocate_lock()
        self.queues: dict[BaseHub, _HubWaiters] = {}

    # ------------------------------------------------------------------ entry point
    def wait_until(self, check: Callable[[], Optional[T]], pid: int, options: int,
                   deadline: Optional[float]) -> Optional[T]:
        """``check()``'s first non-None answer, or None once ``deadline`` (monotonic) passes.

        ``pid``/``options`` are those of the ``waitpid`` that ``check`` makes: only a wait for
        one child's exit (pid > 0, no option beyond WNOHANG) can use a pidfd.
        """
        result = check()
        if result is not None:
            return result
        if pid > 0 and not options & ~_WNOHANG and self.pidfd_open is not None:
            while True:
                try:
                    fd = self._open_pidfd(pid)
                except ProcessLookupError:
                    # Reaped by someone else already: check() reports it (ECHILD) or, if it
                    # still cannot tell, the signal path below takes over.
                    result = check()
                    if result is not None:
                        return result
                    break
                if fd is None:
                    break  # pidfds are unavailable here (seccomp, old kernel)
                try:
                    in_time = self._wait_readable(fd, deadline)
                finally:
                    get_hub().forget_fd(fd)
                    real.close(fd)
                result = check()
                if result is not None or not in_time:
                    return result
        return self._wait_signalled(check, deadline)

    # ------------------------------------------------------------------ pidfd
    def _open_pidfd(self, pid: int) -> Optional[int]:
        pidfd_open = self.pidfd_open
        if pidfd_open is None:
            return None
        try:
            return pidfd_open(pid, 0)
        except ProcessLookupError:
            raise
        except OSError:
            # ENOSYS (kernel < 5.3), EPERM (a seccomp filter), ...: not for this process.
            self.pidfd_open = None
            return None

    @staticmethod
    def _wait_readable(fd: int, deadline: Optional[float]) -> bool:
        timeout = None if deadline is None else max(0.0, deadline - real.monotonic())
        try:
            trampoline(fd, read=True, timeout=timeout, timeout_exc=_Expired)
        except _Expired:
            return False
        return True

    # ------------------------------------------------------------------ SIGCHLD
    def _wait_signalled(self, check: Callable[[], Optional[T]],
                        deadline: Optional[float]) -> Optional[T]:
        if not self._handler_in_place():
            return self._poll(check, deadline)
        hub = get_hub()
        with self.lock:
            waiters = self.queues.get(hub)
            if waiters is None:
                waiters = self.queues[hub] = _HubWaiters()
            waiters.users += 1
        try:
            # Registered first, then checked: a SIGCHLD arriving in between still wakes us.
            while True:
                result = check()
                if result is not None:
                    return result
                timeout = _RECHECK
                if deadline is not None:
                    remaining = deadline - real.monotonic()
                    if remaining <= 0:
                        return None
                    timeout = min(timeout, remaining)
                waiters.queue.park(timeout)
        finally:
            with self.lock:
                waiters.users -= 1
                if not waiters.users:
                    del self.queues[hub]

    def _handler_in_place(self) -> bool:
        if _SIGCHLD is None:
            return False
        current = real.getsignal(_SIGCHLD)
        if current == self._on_sigchld:
            return True
        if current == _stdsignal.SIG_IGN:
            return False  # the kernel reaps children itself: no news will come
        if current is None:
            return False  # a handler installed from C: it cannot be called after ours
        try:
            real.signal(_SIGCHLD, self._on_sigchld)
        except ValueError:
            return False  # not the main thread: only it may install handlers
        self.previous = current
        return True

    def _on_sigchld(self, signum: int, frame: Any) -> None:
        # Runs in the main thread. list() copies the keys in one step, whatever other threads
        # do to the dict meanwhile.
        for hub in list(self.queues):
            try:
                hub.call_threadsafe(self._wake, hub)
            except HubError:
                pass  # that hub's thread has ended
        previous = self.previous
        if callable(previous):
            previous(signum, frame)

    def _wake(self, hub: BaseHub) -> None:
        # On ``hub``'s thread.
        waiters = self.queues.get(hub)
        if waiters is not None:
            waiters.queue.wake_all()

    @staticmethod
    def _poll(check: Callable[[], Optional[T]], deadline: Optional[float]) -> Optional[T]:
        delay = _POLL_FIRST
        while True:
            result = check()
            if result is not None:
                return result
            if deadline is not None:
                remaining = deadline - real.monotonic()
                if remaining <= 0:
                    return None
                delay = min(delay, remaining)
            sleep(delay)
            delay = min(delay * 2, _POLL_MAX)


_children = _ChildWatch()

if hasattr(_stdos, "register_at_fork"):
    _stdos.register_at_fork(after_in_child=_children.after_fork_in_child)


def waitpid(pid: int, options: int) -> tuple[int, int]:  # type: ignore[no-redef]
    """``os.waitpid`` that suspends only the calling green thread until there is news.

    With ``WNOHANG`` it is the stdlib's call, unchanged, and so it is in a thread that has no
    hub (such a thread runs no green threads: blocking it is what it asked for). Returns and
    raises what ``os.waitpid`` does (``ChildProcessError`` when there is no such child).
    """
    if options & _WNOHANG or _context.current.hub is None:
        return real.waitpid(pid, options)

    def check() -> Optional[tuple[int, int]]:
        result = real.waitpid(pid, options | _WNOHANG)
        return result if result[0] else None  # (0, 0): nothing to report yet

    result = _children.wait_until(check, pid, options, None)
    assert result is not None  # no deadline
    return result


def wait() -> tuple[int, int]:  # type: ignore[no-redef]
    """``os.wait``: wait for any child, suspending only the calling green thread."""
    return waitpid(-1, 0)


class _Opening:
    """A FIFO being opened in a pool thread, for a caller that may stop waiting meanwhile."""

    __slots__ = ("abandoned", "fd", "lock")

    def __init__(self) -> None:
        self.lock = real.allocate_lock()
        self.abandoned = False
        self.fd: Optional[int] = None

    def open(self, path: Any, flags: int, mode: int, dir_fd: Any) -> int:
        # In the pool thread. A caller that left cannot take the descriptor: close it here.
        fd = _real_open(path, flags, mode, dir_fd=dir_fd)
        with self.lock:
            if not self.abandoned:
                self.fd = fd
                return fd
        real.close(fd)
        return -1

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            fd, self.fd = self.fd, None
        if fd is not None:
            real.close(fd)


def _is_fifo(path: Any, dir_fd: Any) -> bool:
    try:
        return _stat.S_ISFIFO(_real_stat(path, dir_fd=dir_fd).st_mode)
    except (OSError, ValueError, TypeError, NotImplementedError):
        return False  # os.open itself reports whatever is wrong


def open(path: Any, flags: int, mode: int = 0o777, *,  # type: ignore[no-redef]
         dir_fd: Any = None) -> int:
    """``os.open``, then forget whatever the hub remembered about the new descriptor number.

    Opening a FIFO without ``O_NONBLOCK`` waits for the other end in a pool thread, suspending
    only the calling green thread (if it stops waiting, the descriptor is closed for it).
    """
    if not flags & _O_NONBLOCK and _is_fifo(path, dir_fd):
        opening = _Opening()
        try:
            fd = tpool.execute(opening.open, path, flags, mode, dir_fd)
        except BaseException:
            opening.abandon()
            raise
    else:
        fd = _real_open(path, flags, mode, dir_fd=dir_fd)
    notify_opened(fd)
    return fd


def close(fd: int) -> None:  # type: ignore[no-redef]
    """``os.close``; green threads blocked on ``fd`` get ``IOClosed`` first."""
    close_fd(fd)


def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
    """Like ``os.fdopen``, but returns a ``GreenPipe`` (cooperative reads and writes)."""
    if not isinstance(fd, int):
        raise TypeError(f"fd should be int, not {type(fd).__name__}")
    return GreenPipe(fd, *args, **kwargs)


class _PlainFunction:
    """A green replacement that, like the ``os`` builtin it stands for, is not a descriptor.

    Stored as a class attribute (``open = os.open``) it is returned as it is, never bound as a
    method. Name, docstring, module and ``__wrapped__`` (so ``inspect.signature``) are the
    function's.
    """

    def __init__(self, function: Callable[..., Any], name: str, module: str) -> None:
        self.__wrapped__ = function
        self.__name__ = self.__qualname__ = name
        self.__doc__ = function.__doc__
        self.__module__ = module  # where pickle finds it by name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<greenlane green function {self.__module__}.{self.__name__}>"

    def __reduce__(self) -> str:
        return self.__name__


def _plain(function: F, name: str, module: str = __name__) -> F:
    # For other green modules too (green.builtin): ``module`` is the one that holds ``name``.
    return cast(F, _PlainFunction(function, name, module))


read = _plain(green_read, "read")
write = _plain(green_write, "write")
waitpid = _plain(waitpid, "waitpid")
wait = _plain(wait, "wait")
open = _plain(open, "open")
close = _plain(close, "close")
fdopen = _plain(fdopen, "fdopen")
