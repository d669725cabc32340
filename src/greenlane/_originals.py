"""The real standard-library callables greenlane's internals use, captured before any patching.

Monkey patching replaces names in the stdlib modules (``threading.Lock``, ``select.poll``,
``time.sleep``, ``socket.socket``, ...). The hub, the blocking detector, the thread pool and
the server must keep the real ones: a hub built on a green ``select.poll`` would wait on
itself, and a watchdog thread started with a green ``start_new_thread`` would be a green
thread that never runs while the hub is blocked. So this module, imported by the hub layer
(the lowest one) and by the patcher before it changes anything, takes its own references
once, at import. Internals import the names from here, never from the stdlib modules at call
time; ``tests/test_originals.py`` checks they keep working with the stdlib replaced by
stand-ins.

Only module-level *constants* live here (bound once, never reassigned), so this is not mutable
state. Everything is a plain attribute: ``from greenlane import _originals as real`` then
``real.sleep(0.1)``, ``real.start_new_thread(...)``, ``real.poll()``.

What is deliberately not captured: classes whose methods look patched module globals up at
call time, so that holding the class object protects nothing - ``selectors``' selector classes
(they call ``select.poll``/``select.epoll`` through the ``select`` module; the hubs use the raw
``select`` objects below instead), ``threading``'s classes and ``queue.Queue`` (see the
threading section). Names that are missing on this platform are ``None`` (``epoll`` off
Linux, ``kqueue`` off BSD/macOS, ``eventfd`` before 3.10 and on PyPy 3.9, ``pidfd_open`` off
Linux or before 3.9).
"""

from __future__ import annotations

import _socket
import _thread
import os as _os
import queue as _queue
import select as _select
import signal as _signal
import socket as _stdsocket
import subprocess as _subprocess
import threading as _threading
import time as _time
from typing import Any, Callable, Optional

__all__: list[str] = []  # internal: nothing here is public API

# ----------------------------------------------------------------------------- _thread
start_new_thread = _thread.start_new_thread
allocate_lock = _thread.allocate_lock
LockType = _thread.LockType
get_ident = _thread.get_ident
RLock: Callable[[], Any] = getattr(_thread, "RLock", _threading.RLock)
thread_local = _thread._local
"""The C implementation behind ``threading.local``: per OS thread, whatever is patched."""

# ----------------------------------------------------------------------------- threading
# Only functions that stand alone. threading's classes (Thread, Event, Condition, Timer, ...)
# and queue.Queue are NOT captured: they look their lock and start functions up in module
# globals that patching replaces, so a class object taken here would still make green threads
# and green locks after patching. Real threads come from ``start_new_thread``, real locks from
# ``allocate_lock``/``RLock``.
main_thread = _threading.main_thread

# ----------------------------------------------------------------------------- time
sleep = _time.sleep
monotonic = _time.monotonic
perf_counter = _time.perf_counter
time = _time.time

# ----------------------------------------------------------------------------- select
select = _select.select
poll: Optional[Callable[[], Any]] = getattr(_select, "poll", None)
epoll: Optional[Callable[..., Any]] = getattr(_select, "epoll", None)
kqueue: Optional[Callable[[], Any]] = getattr(_select, "kqueue", None)
kevent: Optional[Callable[..., Any]] = getattr(_select, "kevent", None)

# ----------------------------------------------------------------------------- socket
socket = _stdsocket.socket
socket_class = _socket.socket
"""The C socket type (``_socket.socket``) that ``socket.socket`` subclasses."""
socketpair = _stdsocket.socketpair
getaddrinfo = _stdsocket.getaddrinfo
getnameinfo = _stdsocket.getnameinfo
gethostbyname = _stdsocket.gethostbyname
gethostbyname_ex = _stdsocket.gethostbyname_ex
gethostbyaddr = _stdsocket.gethostbyaddr
create_connection = _stdsocket.create_connection

# ----------------------------------------------------------------------------- os
read = _os.read
write = _os.write
pipe = _os.pipe
close = _os.close
waitpid = _os.waitpid
fork: Optional[Callable[[], int]] = getattr(_os, "fork", None)
eventfd: Optional[Callable[..., int]] = getattr(_os, "eventfd", None)
eventfd_read: Optional[Callable[[int], int]] = getattr(_os, "eventfd_read", None)
eventfd_write: Optional[Callable[[int, int], None]] = getattr(_os, "eventfd_write", None)
EFD_CLOEXEC: int = getattr(_os, "EFD_CLOEXEC", 0)
EFD_NONBLOCK: int = getattr(_os, "EFD_NONBLOCK", 0)
pidfd_open: Optional[Callable[..., int]] = getattr(_os, "pidfd_open", None)

# ----------------------------------------------------------------------------- subprocess
Popen = _subprocess.Popen
"""The class, for subclassing by ``green.subprocess``; its blocking methods use ``os`` and
``selectors`` at call time, which patching makes green."""

# ----------------------------------------------------------------------------- queue
SimpleQueue = _queue.SimpleQueue
"""The C ``_queue.SimpleQueue``: real, whatever is patched."""

# ----------------------------------------------------------------------------- signal
signal = _signal.signal
getsignal = _signal.getsignal
set_wakeup_fd = _signal.set_wakeup_fd
