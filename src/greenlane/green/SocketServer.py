"""``socketserver`` with servers that wait cooperatively: eventlet's ``green.SocketServer``.

Every name of the stdlib ``socketserver`` module is here. The server classes are subclasses of
the stdlib's of the same name, so ``isinstance(server, socketserver.TCPServer)`` holds and the
request handlers (``StreamRequestHandler``, ``DatagramRequestHandler``, yours) are the stdlib's,
unchanged. What differs is how a server waits:

* its listening socket is a ``greenlane.green.socket`` socket (the stdlib creates it, the
  server wraps it right after binding), so ``accept()``, ``recvfrom()`` and every request's
  socket suspend only the calling green thread;
* ``serve_forever()`` and ``handle_request()`` wait for the next request on the hub instead
  of a selector, with the same ``poll_interval``/``timeout`` meaning, ``service_actions()``
  and ``handle_timeout()`` calls;
* ``shutdown()`` is for another green thread of the same hub (the stdlib's is for another OS
  thread): it asks ``serve_forever()`` to return at its next ``poll_interval`` tick and waits
  for that. Called while no ``serve_forever()`` runs, it returns at once and the next
  ``serve_forever()`` returns at once (the stdlib would wait forever);
* ``ThreadingMixIn`` (and the ``Threading*Server`` classes) run each request in a green thread
  instead of an OS thread; ``server_close()`` waits for them when ``block_on_close`` is true
  (the default), and ``daemon_threads`` has no effect (a green thread never keeps the process
  alive). ``ForkingMixIn`` is the stdlib's.

Under ``monkey_patch()`` the stdlib classes cooperate as well, provided ``socketserver`` was
imported after patching; these work whether or not anything is patched.

Differs from eventlet, whose module is a private copy of the stdlib module with green
``socket``/``select``/``threading`` injected: here there is one ``socketserver``, and these
classes are its subclasses.
"""

from __future__ import annotations

import socket as _stdsocket
import socketserver as _std
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from greenlane.event import Event
from greenlane.greenio._socket import GreenSocket
from greenlane.greenthread import GreenThread, spawn
from greenlane.hubs import IOClosed, trampoline

if not TYPE_CHECKING:
    # The stdlib's names; hidden from mypy, for which the classes below would otherwise be
    # redefinitions of the stdlib's.
    from socketserver import *  # noqa: F403

__all__ = list(_std.__all__)


class _Idle(Exception):
    """Thrown by the hub into a server waiting for a request when its wait times out."""


class BaseServer(_std.BaseServer):
    """``socketserver.BaseServer`` whose serving loop waits on the hub (see the module docs).

    A subclass provides ``fileno()`` (the descriptor to wait on), as with the stdlib class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sock = getattr(self, "socket", None)
        if sock is not None and not isinstance(sock, GreenSocket):
            # The stdlib made, bound and activated a real socket; from here on every call on
            # it, and on the sockets accept() returns, waits on the hub.
            self.socket = cast(_stdsocket.socket, GreenSocket(sock))
        self._green_stop_requested = False
        self._green_idle: Event[None] = Event()
        self._green_idle.send()

    def _green_wait_readable(self, timeout: Optional[float]) -> bool:
        # True once a request can be taken without waiting, False after ``timeout`` seconds.
        try:
            # fileno() is the subclass's (TCPServer's: the listening socket's).
            fileno: Callable[[], int] = getattr(self, "fileno")  # noqa: B009
            trampoline(fileno(), read=True, timeout=timeout, timeout_exc=_Idle)
        except _Idle:
            return False
        return True

    def _green_handle_one(self) -> None:
        # The stdlib's step after its selector reported a request: get, verify, process it
        # (errors go to handle_error). Not in the type stubs.
        handle: Callable[[], None] = getattr(self, "_handle_request_noblock")  # noqa: B009
        handle()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Handle requests until ``shutdown()``, checking for it every ``poll_interval`` s.

        ``service_actions()`` is called after each request and each idle ``poll_interval``.
        Closing the server's socket from another green thread also ends the loop.
        """
        self._green_idle.reset()
        try:
            while not self._green_stop_requested:
                try:
                    ready = self._green_wait_readable(poll_interval)
                except IOClosed:
                    break  # server_close() from another green thread
                if self._green_stop_requested:
                    break
                if ready:
                    self._green_handle_one()
                self.service_actions()
        finally:
            self._green_stop_requested = False
            self._green_idle.send()

    def shutdown(self) -> None:
        """Stop ``serve_forever()`` (running in another green thread) and wait until it has.

        Returns at once if no ``serve_forever()`` runs; the next one then returns at once.
        """
        self._green_stop_requested = True
        if not self._green_idle.ready():
            self._green_idle.wait()

    def handle_request(self) -> None:
        """Wait for one request and handle it, or call ``handle_timeout()``.

        The wait is bounded by the smaller of ``self.timeout`` and the socket's timeout, as
        in the stdlib; None for both waits as long as it takes.
        """
        timeout = self.socket.gettimeout() if hasattr(self, "socket") else None
        if timeout is None:
            timeout = self.timeout
        elif self.timeout is not None:
            timeout = min(timeout, self.timeout)
        if self._green_wait_readable(timeout):
            self._green_handle_one()
        else:
            self.handle_timeout()


class TCPServer(BaseServer, _std.TCPServer):
    """``socketserver.TCPServer`` on a green socket (same constructor and methods)."""


class UDPServer(TCPServer, _std.UDPServer):
    """``socketserver.UDPServer`` on a green socket (same constructor and methods)."""


class ThreadingMixIn(_std.ThreadingMixIn):
    """Handle each request in a new green thread (the stdlib mix-in starts an OS thread).

    With ``block_on_close`` true (the default), ``server_close()`` waits for the requests in
    progress to finish. ``daemon_threads`` is accepted and ignored.
    """

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start a green thread running ``process_request_thread(request, client_address)``."""
        handler: Callable[[Any, Any], None] = getattr(self, "process_request_thread")  # noqa: B009
        thread = spawn(handler, request, client_address)
        if self.block_on_close:
            running: set[GreenThread[None]] = vars(self).setdefault("_green_requests", set())
            running.add(thread)
            thread.link(_forget, running)

    def server_close(self) -> None:
        """Close the server, then wait for its requests in progress (``block_on_close``)."""
        super().server_close()
        running: set[GreenThread[None]] = vars(self).get("_green_requests", set())
        while running:
            thread = running.pop()
            try:
                thread.wait()
            except Exception:  # noqa: BLE001 - handle_error() has reported it
                pass


def _forget(thread: GreenThread[None], running: set[GreenThread[None]]) -> None:
    running.discard(thread)


class ThreadingTCPServer(ThreadingMixIn, TCPServer):
    """A ``TCPServer`` handling each request in its own green thread."""


class ThreadingUDPServer(ThreadingMixIn, UDPServer):
    """A ``UDPServer`` handling each request in its own green thread."""


if hasattr(_std, "ForkingMixIn"):

    class ForkingTCPServer(_std.ForkingMixIn, TCPServer):
        """A ``TCPServer`` handling each request in a child process (the stdlib mix-in)."""

    class ForkingUDPServer(_std.ForkingMixIn, UDPServer):
        """A ``UDPServer`` handling each request in a child process (the stdlib mix-in)."""

if hasattr(_std, "UnixStreamServer"):

    class UnixStreamServer(TCPServer, _std.UnixStreamServer):
        """``socketserver.UnixStreamServer`` on a green socket."""

    class UnixDatagramServer(UDPServer, _std.UnixDatagramServer):
        """``socketserver.UnixDatagramServer`` on a green socket."""

    class ThreadingUnixStreamServer(ThreadingMixIn, UnixStreamServer):
        """A ``UnixStreamServer`` handling each request in its own green thread."""

    class ThreadingUnixDatagramServer(ThreadingMixIn, UnixDatagramServer):
        """A ``UnixDatagramServer`` handling each request in its own green thread."""

    if hasattr(_std, "ForkingUnixStreamServer"):  # Python 3.12+

        class ForkingUnixStreamServer(_std.ForkingMixIn, UnixStreamServer):
            """A ``UnixStreamServer`` handling each request in a child process."""

        class ForkingUnixDatagramServer(_std.ForkingMixIn, UnixDatagramServer):
            """A ``UnixDatagramServer`` handling each request in a child process."""
