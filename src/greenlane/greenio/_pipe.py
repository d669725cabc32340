"""GreenPipe: file objects over pipes that suspend only the calling green thread.

Also the descriptor-level ``read``/``write`` behind ``greenlane.green.os``. Three kinds of
descriptor are told apart, because "try first, wait on EAGAIN" is only safe on one of them:

* non-blocking (O_NONBLOCK set; GreenPipe sets it on pipes and sockets it owns): the optimistic
  path of the green I/O toolkit (``_io.py``): try, and wait through ``io_retry`` on EAGAIN;
* blocking but pollable (a pipe someone else opened, a terminal): wait for readiness first, then
  make the call, which cannot block then (the fix eventlet needed in #975, where ``os.read`` on an
  inotify descriptor froze the process). GreenPipe leaves terminals' flags alone, since the
  terminal's open file is shared with the shell;
* regular files (and directories): the kernel always reports them ready, so they are read and
  written directly, blocking on the disk as in eventlet.

Reads, writes and closes use the real ``os`` functions from ``greenlane._originals``: monkey
patching makes ``os.read``/``os.write`` these very functions.
"""

from __future__ import annotations

import io
import os
import select
import stat
from typing import Any, Callable, Optional, Union

from greenlane import _originals as real
from greenlane.greenio._io import close_fd, io_retry, notify_opened, text_file
from greenlane.hubs import trampoline
from greenlane.hubs.hub import READ, WRITE

__all__ = ["GreenFileIO", "GreenPipe", "green_read", "green_write"]

# A write of at most PIPE_BUF bytes to a pipe reported writable does not block (POSIX).
_PIPE_BUF: int = getattr(select, "PIPE_BUF", 512)

_NONBLOCKING, _POLLABLE, _DIRECT = 0, 1, 2

# Taken at import, before the green os module can replace it (its open() is harmless here, but
# not needed: notify_opened follows).
_os_open = os.open


def _kind(fd: int) -> int:
    if not os.get_blocking(fd):
        return _NONBLOCKING
    mode = os.fstat(fd).st_mode
    # Always ready (epoll refuses them): read directly, without a detour through the hub.
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISBLK(mode):
        return _DIRECT
    return _POLLABLE


def _wrong_way(fd: int, mode: int) -> bool:
    # Whether a blocking fd was opened ``mode`` (O_RDONLY, O_WRONLY), the other way from the
    # call: the call fails at once (EBADF), while waiting for readiness first would wait for
    # ever (the read end of a pipe never becomes writable).
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_ACCMODE", 3) == mode


def _nonblocking_call(fd: int, evtype: str, call: Callable[[int, Any], Any], arg: Any) -> Any:
    # The optimistic path on an O_NONBLOCK descriptor: try, and wait in the hub only on EAGAIN.
    try:
        return call(fd, arg)
    except BlockingIOError:
        return io_retry(fd, evtype, None, call, (fd, arg))


def green_read(fd: int, n: int) -> bytes:
    """``os.read`` that suspends only the calling green thread while nothing is available."""
    kind = _kind(fd)
    if kind == _NONBLOCKING:
        return _nonblocking_call(fd, READ, real.read, n)  # type: ignore[no-any-return]
    if kind == _POLLABLE and not _wrong_way(fd, os.O_WRONLY):
        trampoline(fd, read=True)
    return real.read(fd, n)


def green_write(fd: int, data: Any) -> int:
    """``os.write`` that suspends only the calling green thread while the pipe is full.

    On a non-blocking descriptor it returns what the kernel took, like ``os.write``; on a
    blocking pipe or terminal it writes everything (as the blocking call would), waiting for
    room between blocks of PIPE_BUF bytes.
    """
    kind = _kind(fd)
    if kind == _NONBLOCKING:
        return _nonblocking_call(fd, WRITE, real.write, data)  # type: ignore[no-any-return]
    if kind == _DIRECT or _wrong_way(fd, os.O_RDONLY):
        return real.write(fd, data)
    with memoryview(data) as whole, whole.cast("B") as view:
        total = len(view)
        done = 0
        while True:
            trampoline(fd, write=True)
            with view[done:done + _PIPE_BUF] as block:
                done += real.write(fd, block)
            if done >= total:
                return done


def _readinto(fd: int, buffer: Any) -> int:
    if hasattr(os, "readv"):
        return os.readv(fd, [buffer])
    # PyPy 3.9 has no os.readv.
    data = real.read(fd, len(buffer))
    n = len(data)
    buffer[:n] = data
    return n


class GreenFileIO(io.RawIOBase):
    """A raw file (``io.FileIO``-like) whose reads and writes cooperate with the hub.

    ``name`` is a descriptor number or a path; ``mode`` one of r, w, a, x with an optional +.
    Pipes and sockets are switched to non-blocking mode; terminals are waited on without
    changing their flags; regular files are read directly.
    """

    # What a half-built object (its constructor raised) has: close() and repr() must work
    # on it, since the finaliser and the unraisable hook call them.
    _fd = -1
    _closefd = False
    _kind = _DIRECT
    _readable = _writable = False
    _seekable: Optional[bool] = None
    name: Any = None
    mode = ""

    def __init__(self, name: Union[int, str, bytes, os.PathLike[Any]], mode: str = "r",
                 closefd: bool = True, opener: Optional[Callable[[Any, int], int]] = None
                 ) -> None:
        super().__init__()
        mode = mode.replace("b", "").replace("t", "")
        if len(mode) < 1 or mode[0] not in "rwax" or set(mode[1:]) - {"+"}:
            raise ValueError(f"invalid mode: {mode!r}")
        plus = "+" in mode
        if isinstance(name, int):
            fd = name
            if fd < 0:
                raise ValueError("negative file descriptor")
            owned = False
        else:
            if not closefd:
                raise ValueError("cannot use closefd=False with a file name")
            flags = {"r": 0, "w": os.O_CREAT | os.O_TRUNC, "a": os.O_CREAT | os.O_APPEND,
                     "x": os.O_CREAT | os.O_EXCL}[mode[0]]
            flags |= os.O_RDWR if plus else (os.O_RDONLY if mode[0] == "r" else os.O_WRONLY)
            flags |= getattr(os, "O_CLOEXEC", 0)
            fd = opener(name, flags) if opener is not None else _os_open(name, flags, 0o666)
            notify_opened(fd)
            owned = True
        try:
            st_mode = os.fstat(fd).st_mode
            if stat.S_ISFIFO(st_mode) or stat.S_ISSOCK(st_mode):
                os.set_blocking(fd, False)
            kind = _kind(fd)
        except BaseException:
            if owned:
                close_fd(fd)
            raise
        # Only now: until here, close() has no descriptor to release.
        self._fd = fd
        self._closefd = closefd
        self._kind = kind
        self._readable = mode[0] == "r" or plus
        self._writable = mode[0] != "r" or plus
        self._seekable = None
        self.name = name
        self.mode = ("rb+" if mode[0] == "r" else mode[0] + "b+") if plus else mode[0] + "b"

    def __repr__(self) -> str:
        if self.closed or self._fd < 0:
            return "<greenlane.GreenFileIO [closed]>"
        return f"<greenlane.GreenFileIO name={self.name!r} mode={self.mode!r} fd={self._fd}>"

    def fileno(self) -> int:
        """The descriptor number."""
        self._checkClosed()
        return self._fd

    def readable(self) -> bool:
        """Whether the file was opened for reading."""
        self._checkClosed()
        return self._readable

    def writable(self) -> bool:
        """Whether the file was opened for writing."""
        self._checkClosed()
        return self._writable

    def seekable(self) -> bool:
        """False for pipes, sockets and terminals."""
        self._checkClosed()
        if self._seekable is None:
            try:
                os.lseek(self._fd, 0, os.SEEK_CUR)
                self._seekable = True
            except OSError:
                self._seekable = False
        return self._seekable

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the file position (regular files only)."""
        self._checkClosed()
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        """The file position (regular files only)."""
        return self.seek(0, os.SEEK_CUR)

    def truncate(self, size: Optional[int] = None) -> int:
        """Truncate to ``size`` bytes (default: the current position); return ``size``.

        The position does not move, as with ``io.FileIO`` (eventlet's moves it to ``size``).
        """
        if size is None:
            size = self.tell()
        os.ftruncate(self._fd, size)
        return size

    def isatty(self) -> bool:
        """Whether the descriptor is a terminal."""
        self._checkClosed()
        return os.isatty(self._fd)

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``; return the count (0 at end of file)."""
        self._checkClosed()
        if not self._readable:
            raise io.UnsupportedOperation("File not open for reading")
        fd = self._fd
        if self._kind == _NONBLOCKING:
            return _nonblocking_call(fd, READ, _readinto, buffer)  # type: ignore[no-any-return]
        if self._kind == _POLLABLE:
            trampoline(fd, read=True)
        return _readinto(fd, buffer)

    def readall(self) -> bytes:
        """Read until end of file."""
        chunks: list[bytes] = []
        while True:
            chunk = self.read(io.DEFAULT_BUFFER_SIZE)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def write(self, data: Any) -> int:
        """Write what the descriptor takes (at least one byte); return the count."""
        self._checkClosed()
        if not self._writable:
            raise io.UnsupportedOperation("File not open for writing")
        fd = self._fd
        if self._kind == _NONBLOCKING:
            return _nonblocking_call(fd, WRITE, real.write, data)  # type: ignore[no-any-return]
        if self._kind == _POLLABLE:
            trampoline(fd, write=True)
            with memoryview(data) as view, view.cast("B") as block:
                return real.write(fd, block[:_PIPE_BUF])
        return real.write(fd, data)

    def close(self) -> None:
        """Close; green threads blocked on the descriptor get ``IOClosed``."""
        if self.closed:
            return
        try:
            super().close()
        finally:
            if self._closefd and self._fd >= 0:
                close_fd(self._fd)


def GreenPipe(name: Any, mode: str = "r", buffering: int = -1, encoding: Optional[str] = None,
              errors: Optional[str] = None, newline: Optional[str] = None, closefd: bool = True,
              opener: Optional[Callable[[Any, int], int]] = None) -> Any:
    """Open a pipe (or file) like ``open()``, with reads and writes that cooperate.

    ``name`` is a descriptor number, a path, or a file object (whose descriptor is duplicated
    and which is then closed, as in eventlet). Returns a buffered binary file or a text file, as
    ``open()`` would. Regular files still block the process while the disk works.

    The file behaves as ``open()``'s in every other respect too, where eventlet's GreenPipe
    does not: ``truncate(size)`` leaves the position where it was and returns the new size
    (eventlet moves the position to ``size`` and returns None).
    """
    duplicate = None
    if not isinstance(name, (int, str, bytes, os.PathLike)):
        fileno = name.fileno()
        duplicate = os.dup(fileno)
        notify_opened(duplicate)
        name.close()
        name = duplicate
    try:
        raw = GreenFileIO(name, mode.replace("t", ""), closefd, opener)
    except BaseException:
        if duplicate is not None:
            close_fd(duplicate)
        raise
    try:
        return _buffered(raw, mode, buffering, encoding, errors, newline)
    except BaseException:
        raw.close()
        raise


def _buffered(raw: GreenFileIO, mode: str, buffering: int, encoding: Optional[str],
              errors: Optional[str], newline: Optional[str]) -> Any:
    # The layers open() puts on a raw file for ``mode`` and ``buffering``.
    binary = "b" in mode
    line_buffering = False
    if buffering == 1 and not binary:
        line_buffering = True
        buffering = -1
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        if not binary:
            raise ValueError("can't have unbuffered text I/O")
        return raw
    buffer: Any
    if raw.readable() and raw.writable():
        if raw.seekable():
            buffer = io.BufferedRandom(raw, buffering)
        else:
            buffer = io.BufferedRWPair(raw, raw, buffering)
    elif raw.writable():
        buffer = io.BufferedWriter(raw, buffering)
    else:
        buffer = io.BufferedReader(raw, buffering)
    if binary:
        return buffer
    return text_file(buffer, mode, encoding, errors, newline, line_buffering)
