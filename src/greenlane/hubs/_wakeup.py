"""The hub's thread-safe wake-up channel: an eventfd on Linux, a non-blocking pipe elsewhere.

Another OS thread (a thread-pool worker with a result, a resolver thread, ``Server.stop()``
called from outside) or a signal handler must be able to make a hub that is blocked in its
poller run a callback. It appends the callback to the hub's thread-safe deque and writes here;
the hub registered the read end with its poller, so the write ends the poll. The hub drains the
channel, then clears its "signalled" flag, then empties the deque (see
``BaseHub._take_threadsafe`` for why in that order): no callback is ever left behind.

eventfd is one descriptor holding a counter (any number of writes coalesce into one readable
state); a pipe needs two and holds up to its buffer size of bytes, and a full pipe already
means "wake up", so a write that would block is simply dropped.
"""

from __future__ import annotations

import os
import sys

from greenlane import _originals as real

__all__ = ["Wakeup"]

# eventfd takes one 8-byte counter increment in native byte order.
_ONE = (1).to_bytes(8, sys.byteorder)


class Wakeup:
    """One wake-up channel. ``fileno`` is the end the hub polls for reading."""

    __slots__ = ("_eventfd", "_wfd", "fileno")

    def __init__(self) -> None:
        if real.eventfd is not None:
            fd = real.eventfd(0, real.EFD_CLOEXEC | real.EFD_NONBLOCK)
            self.fileno = self._wfd = fd
            self._eventfd = True
        else:
            r, w = real.pipe()  # close-on-exec by default (PEP 446)
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self.fileno, self._wfd = r, w
            self._eventfd = False

    def signal(self) -> None:
        """Make the read end readable; callable from any thread or a signal handler."""
        try:
            real.write(self._wfd, _ONE if self._eventfd else b"\0")
        except OSError:
            # BlockingIOError: a full pipe (or a saturated counter) is readable already.
            # Any other error means the hub was closed under the caller: nothing to wake.
            pass

    def drain(self) -> None:
        """Consume every pending signal (from the hub's thread)."""
        try:
            if self._eventfd:
                real.read(self.fileno, 8)
            else:
                while len(real.read(self.fileno, 4096)) == 4096:
                    pass
        except OSError:
            pass  # BlockingIOError: nothing pending (a spurious wake-up)

    def close(self) -> None:
        """Release the descriptor(s)."""
        fds = {self.fileno, self._wfd}
        self.fileno = self._wfd = -1
        for fd in fds:
            if fd >= 0:
                try:
                    real.close(fd)
                except OSError:
                    pass
