"""The ``subprocess`` module with cooperative waits and pipes: ``greenlane.green.subprocess``.

Everything in the stdlib ``subprocess`` module is here, with the stdlib's semantics (return
values, ``TimeoutExpired``/``CalledProcessError`` and their ``output``/``stderr``, ``run``'s
kill-on-timeout, text mode). What changes is that waiting suspends only the calling green
thread:

* ``Popen`` subclasses the stdlib's and overrides only its two blocking internals: ``_wait``
  (behind ``wait()`` and the end of ``communicate()``) and ``_communicate``. A wait sleeps until
  the child exits, woken through the hub by the child's pidfd (Linux 5.3+) or by ``SIGCHLD``
  (see ``greenlane.green.os``): there is no periodic polling, and a timeout is a hub timer.
* ``communicate()`` exchanges data on stdin, stdout and stderr at once, in the calling green
  thread, waiting on all three descriptors together, so a child writing megabytes to both
  stdout and stderr never deadlocks. After a ``TimeoutExpired`` a later ``communicate()`` goes
  on where it stopped (the stdlib's POSIX version forgets input not yet written; this one
  writes it).
* ``stdin``, ``stdout`` and ``stderr`` of a ``Popen`` are ``GreenPipe`` files (text wrappers
  over them in text mode, with the stdlib's encoding, errors and buffering), so reading a
  child's output line by line yields to other green threads too.
* ``run``, ``call``, ``check_call``, ``check_output``, ``getoutput`` and ``getstatusoutput``
  are the running interpreter's own functions, bound to this module's ``Popen``.

``monkey_patch(subprocess=True)`` replaces only ``subprocess.Popen``: the stdlib's ``run`` and
friends look ``Popen`` up when called, so they use the green one.

Differs from eventlet's: ``wait`` polled every 10 ms there (its #813: "10 times slower"), and
``communicate`` went through a green ``select``; ``run`` was missing before 0.25.

Starting a child (``fork``/``exec``) stays a short blocking call, as in the stdlib; the parent
waits for the ``exec`` to succeed through a pipe, which is cooperative once ``os`` is patched.
"""

from __future__ import annotations

import io
import os as _stdos
import stat as _stat
import subprocess as _stdsubprocess
import types
from subprocess import *  # noqa: F403
from subprocess import TimeoutExpired
from typing import TYPE_CHECKING, Any, Callable, Optional

from greenlane import _originals as real
from greenlane.green.os import _children
from greenlane.greenio._pipe import GreenFileIO, GreenPipe
from greenlane.hubs import READ, WRITE, Waiter, get_hub, notify_opened

__all__ = list(_stdsubprocess.__all__)

__patches__ = (("subprocess", "subprocess", ("Popen",)),)

# The stdlib internals this module relies on, present from CPython 3.8 to 3.13 and on PyPy 3.9.
_NEEDED = ("_wait", "_communicate", "_try_wait", "_handle_exitstatus")
_missing = [name for name in _NEEDED if not hasattr(real.Popen, name)]
if _missing:
    import sys as _sys

    raise ImportError(f"greenlane.green.subprocess needs subprocess.Popen.{_missing[0]}, which "
                      f"{_sys.implementation.name} {_sys.version.split()[0]} does not have; "
                      "please report this to greenlane")

_WNOHANG: int = getattr(_stdos, "WNOHANG", 1)
# Read and write up to a pipe's default capacity at a time (Linux: 64 KiB); the stdlib reads
# 32 KiB, and writes PIPE_BUF bytes because its descriptors may block, which ours do not.
_CHUNK = 65536
_EXPIRED: Any = object()


def _greened(f: Any, writing: bool, bufsize: int) -> Any:
    """A GreenPipe file on a duplicate of ``f``'s descriptor, built like ``f``; ``f`` is closed."""
    text = isinstance(f, io.TextIOWrapper)
    binary = f.buffer if text else f
    buffering = 0 if isinstance(binary, io.RawIOBase) else (bufsize if bufsize > 1 else -1)
    fd = _stdos.dup(f.fileno())
    try:
        notify_opened(fd)
        green: Any = GreenPipe(fd, "wb" if writing else "rb", buffering)
    except BaseException:
        real.close(fd)
        raise
    if text:
        green = io.TextIOWrapper(green, encoding=f.encoding, errors=f.errors,
                                 line_buffering=f.line_buffering,
                                 write_through=f.write_through)
    f.close()
    return green


def _for_child(value: Any, own: list[int]) -> Any:
    """``value``, or a blocking descriptor of the same pipe if it is a green (non-blocking)
    pipe file, opened through ``/proc/self/fd`` and added to ``own`` (Linux; elsewhere the
    child gets the non-blocking pipe)."""
    raw = value
    while not isinstance(raw, GreenFileIO):
        inner = getattr(raw, "buffer", None) or getattr(raw, "raw", None)
        if inner is None or inner is raw:
            return value
        raw = inner
    fd = raw.fileno()
    if _stdos.get_blocking(fd) or not _stat.S_ISFIFO(_stdos.fstat(fd).st_mode):
        return value
    access = _stdos.O_RDONLY if raw.readable() else _stdos.O_WRONLY
    try:
        # Opened non-blocking, or it would wait for the other end like a named FIFO's open
        # (for ever if that end is closed; a write end with no reader fails with ENXIO and is
        # given as it is), then made blocking: that flag is the new open file's alone.
        new = _stdos.open(f"/proc/self/fd/{fd}",
                          access | _stdos.O_CLOEXEC | _stdos.O_NONBLOCK)
    except OSError:
        return value
    own.append(new)
    _stdos.set_blocking(new, True)
    return new


class _Exchange:
    """``communicate()``'s state, kept across calls so a retry after a timeout goes on."""

    __slots__ = ("chunks", "input", "offset")

    def __init__(self, proc: Any, input: Any) -> None:
        self.chunks: dict[str, list[bytes]] = {}
        if proc.stdout:
            self.chunks["stdout"] = []
        if proc.stderr:
            self.chunks["stderr"] = []
        self.input: Optional[memoryview] = None
        self.offset = 0
        if proc.stdin and input is not None:
            if proc.text_mode:
                input = input.encode(proc.stdin.encoding, proc.stdin.errors)
            self.input = memoryview(input).cast("B")

    def joined(self, name: str) -> Optional[bytes]:
        chunks = self.chunks.get(name)
        return None if chunks is None else b"".join(chunks)

    def timeout_error(self, proc: Any, orig_timeout: Optional[float]) -> TimeoutExpired:
        # As the stdlib: the output read so far, None if nothing was.
        out = self.chunks.get("stdout")
        err = self.chunks.get("stderr")
        return TimeoutExpired(proc.args, orig_timeout,  # type: ignore[arg-type]
                              output=b"".join(out) if out else None,
                              stderr=b"".join(err) if err else None)

    def step(self, proc: Any, name: str, f: Any) -> Optional[str]:
        """One non-blocking read or write; the direction to wait for if it would block."""
        try:
            if name == "stdin":
                assert self.input is not None
                with self.input[self.offset:self.offset + _CHUNK] as chunk:
                    self.offset += real.write(f.fileno(), chunk)
                if self.offset >= len(self.input):
                    f.close()
                return None
            data = real.read(f.fileno(), _CHUNK)
        except BlockingIOError:
            return WRITE if name == "stdin" else READ
        except BrokenPipeError:
            f.close()  # the child closed its stdin: the rest of the input is not wanted
            return None
        if data:
            self.chunks[name].append(data)
        else:
            f.close()
        return None

    def run(self, proc: Any, endtime: Optional[float], orig_timeout: Optional[float]) -> None:
        """Move data until every pipe is done; raise TimeoutExpired at ``endtime``."""
        while True:
            streams = [(name, f) for name, f in (("stdout", proc.stdout),
                                                 ("stderr", proc.stderr)) if f and not f.closed]
            stdin = proc.stdin
            if stdin and not stdin.closed and self.input is not None:
                streams.append(("stdin", stdin))
            if not streams:
                return
            blocked = []
            for name, f in streams:
                evtype = self.step(proc, name, f)
                if evtype is not None:
                    blocked.append((evtype, f.fileno()))
            remaining = None if endtime is None else endtime - real.monotonic()
            if remaining is not None and remaining <= 0:
                raise self.timeout_error(proc, orig_timeout)
            if len(blocked) == len(streams) and not self._wait_any(blocked, remaining):
                raise self.timeout_error(proc, orig_timeout)

    @staticmethod
    def _wait_any(blocked: list[tuple[str, int]], timeout: Optional[float]) -> bool:
        # Every descriptor just returned EAGAIN, with no switch since: the hub's contract for
        # listeners added without rearm. Whichever fires first wakes us; the others are removed.
        hub = get_hub()
        waiter = Waiter(hub)
        listeners = []
        try:
            for evtype, fd in blocked:
                listeners.append(hub.add(evtype, fd, waiter.switch, waiter.throw, None, False))
            return waiter.wait(timeout, _EXPIRED) is not _EXPIRED
        finally:
            for listener in listeners:
                hub.remove(listener)


if TYPE_CHECKING:
    _StdPopen = _stdsubprocess.Popen[Any]
else:
    _StdPopen = real.Popen


class Popen(_StdPopen):  # type: ignore[no-redef]
    """``subprocess.Popen`` whose waits and pipes suspend only the calling green thread.

    Same constructor and API as the stdlib's class (it is a subclass); see the module docstring
    for what is overridden.
    """

    if TYPE_CHECKING:
        # The stdlib internals used here (checked at import: see _NEEDED).
        text_mode: Any
        _waitpid_lock: Any
        _communication_started: bool

        def _try_wait(self, wait_flags: int) -> tuple[int, int]: ...

        def _handle_exitstatus(self, sts: int) -> None: ...

    def __init__(self, args: Any, bufsize: int = -1, *more: Any, **kwargs: Any) -> None:
        self._green_exchange: Optional[_Exchange] = None
        # A green pipe given as the child's stdin, stdout or stderr (another Popen's stdout,
        # in a pipeline) is non-blocking, and O_NONBLOCK belongs to the open file, which the
        # child would share: it would read EAGAIN as the end of its input. The child gets a
        # blocking open file of its own on the same pipe instead.
        positional = list(more)
        own: list[int] = []
        try:
            for index, name in enumerate(("stdin", "stdout", "stderr"), start=1):
                if index < len(positional):
                    positional[index] = _for_child(positional[index], own)
                elif name in kwargs:
                    kwargs[name] = _for_child(kwargs[name], own)
            super().__init__(args, bufsize, *positional, **kwargs)
        finally:
            for fd in own:
                real.close(fd)
        if bufsize is None:
            bufsize = -1
        for name in ("stdin", "stdout", "stderr"):
            f = getattr(self, name)
            if f is not None:
                setattr(self, name, _greened(f, name == "stdin", bufsize))

    def _reap(self) -> Optional[int]:
        # A non-blocking waitpid, under the stdlib's lock against concurrent reapers (another
        # OS thread holding it for an instant counts as "not yet").
        if self.returncode is None and self._waitpid_lock.acquire(False):
            try:
                if self.returncode is None:
                    pid, status = self._try_wait(_WNOHANG)
                    if pid == self.pid:
                        self._handle_exitstatus(status)
            finally:
                self._waitpid_lock.release()
        return self.returncode

    def _wait(self, timeout: Optional[float]) -> int:
        if self.returncode is not None:
            return self.returncode
        deadline = None if timeout is None else real.monotonic() + timeout
        result = _children.wait_until(self._reap, self.pid, 0, deadline)
        if result is None:
            raise TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
        return result

    def _communicate(self, input: Any, endtime: Optional[float],
                     orig_timeout: Optional[float]) -> tuple[Any, Any]:
        if self.stdin and not self._communication_started:
            # As the stdlib: flush what the caller wrote (this may wait), close stdin if there
            # is nothing to send.
            try:
                self.stdin.flush()
            except BrokenPipeError:
                pass
            if not input:
                try:
                    self.stdin.close()
                except BrokenPipeError:
                    pass
        exchange = self._green_exchange
        if exchange is None:
            exchange = self._green_exchange = _Exchange(self, input)
        exchange.run(self, endtime, orig_timeout)
        self.wait(timeout=None if endtime is None else endtime - real.monotonic())
        stdout: Any = exchange.joined("stdout")
        stderr: Any = exchange.joined("stderr")
        if self.text_mode:
            if stdout is not None:
                stdout = _decoded(stdout, self.stdout)
            if stderr is not None:
                stderr = _decoded(stderr, self.stderr)
        return stdout, stderr


def _decoded(data: bytes, f: Any) -> str:
    # Text mode's universal newlines, as the stdlib applies them to communicate()'s output.
    return data.decode(f.encoding, f.errors).replace("\r\n", "\n").replace("\r", "\n")


def _bind(fn: Callable[..., Any], namespace: dict[str, Any]) -> Any:
    # The stdlib function itself (its code object) with ``namespace`` as its globals, so that
    # the ``Popen`` it looks up is this module's: same behaviour on every Python version.
    bound = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                               fn.__closure__)
    bound.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    bound.__doc__ = fn.__doc__
    bound.__qualname__ = fn.__qualname__
    bound.__module__ = __name__
    bound.__dict__.update(fn.__dict__)
    return bound


_namespace = dict(vars(_stdsubprocess))
_namespace["Popen"] = Popen
for _name in ("call", "check_call", "check_output", "run", "getstatusoutput", "getoutput"):
    _namespace[_name] = _bind(getattr(_stdsubprocess, _name), _namespace)

call = _namespace["call"]
check_call = _namespace["check_call"]
check_output = _namespace["check_output"]
run = _namespace["run"]
getstatusoutput = _namespace["getstatusoutput"]
getoutput = _namespace["getoutput"]
del _name
