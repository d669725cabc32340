"""An interactive Python console over a socket, for looking inside a running program.

``backdoor_server(sock, locals)`` accepts connections on a listening green socket and gives
each one a Python prompt (``code.InteractiveConsole``) running in its own green thread, in the
program's process: connect with ``nc 127.0.0.1 3000`` or ``socat - UNIX-CONNECT:/run/app.bd``
and inspect live objects while the rest of the program keeps running::

    import greenlane
    from greenlane import backdoor
    greenlane.spawn(backdoor.backdoor_server, greenlane.listen(("127.0.0.1", 3000)),
                    {"app": app})

**Security.** Whoever can connect runs arbitrary code as the program's user; there is no
authentication. Listen only on loopback (``127.0.0.1``, ``::1``) or on a Unix socket in a
directory only the right users can reach. ``backdoor_server`` issues an
``UnsafeBackdoorWarning`` when the socket is bound to any other address.

Where it differs from eventlet:

* Console output is routed per green thread: while consoles run, ``sys.stdout``/``stderr``/
  ``stdin`` are stand-ins that send what a console's green thread prints to its connection and
  everything else to the streams that were there before. eventlet swaps the process-wide
  streams whenever a console resumes and leaves them swapped while it waits, so other green
  threads' prints can land in a client's console.
* ``SocketConsole`` is a ``code.InteractiveConsole`` bound to a connection (run it with
  ``run()``), not a greenlet subclass; ``backdoor()`` returns the console's ``GreenThread``.
* ``exit()``/``quit()`` or end of input (Ctrl-D) close that console only, never the program.
* When ``backdoor_server`` stops (killed, or its socket closed), the consoles it started are
  closed too; eventlet leaves them running.
* Status lines ("backdoor server listening on ...") go to ``sys.stderr``, not stdout.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
import warnings
from code import InteractiveConsole
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

from greenlet import getcurrent, greenlet

from greenlane.greenthread import GreenThread, spawn
from greenlane.support import get_errno

__all__ = ["FileProxy", "SocketConsole", "UnsafeBackdoorWarning", "backdoor",
           "backdoor_server"]

# The peer went away: writing to it, or reading from it, is pointless, not a failure.
_GONE = frozenset(getattr(errno, n) for n in ("EPIPE", "ECONNRESET", "ENOTCONN", "ESHUTDOWN")
                  if hasattr(errno, n))
# accept() reporting an error of one pending connection (see convenience.serve): skip it.
_CLIENT_ERRNOS = frozenset(getattr(errno, n) for n in ("ECONNABORTED", "ECONNRESET", "EPROTO",
                                                       "EPERM", "ETIMEDOUT")
                           if hasattr(errno, n))


class UnsafeBackdoorWarning(RuntimeWarning):
    """A backdoor server listens on an address other hosts may reach."""


class FileProxy:
    """A console's view of its connection's text file.

    ``write`` flushes at once (the client sees prompts and output as they come) and ignores
    a peer that went away; ``readline`` turns a telnet-style ``\\r\\n`` into ``\\n``;
    ``isatty()`` is True so code that checks for an interactive session gets one; anything
    else is the file's own attribute.
    """

    def __init__(self, f: Any) -> None:
        self.f = f

    def isatty(self) -> bool:
        """True: a backdoor connection is an interactive terminal for the code it runs."""
        return True

    def flush(self) -> None:
        """Nothing to do: every ``write`` is already flushed."""

    def write(self, data: str) -> int:
        """Write and flush ``data``; a closed or reset peer is ignored (returns 0)."""
        try:
            written: int = self.f.write(data)
            self.f.flush()
        except OSError as exc:
            if get_errno(exc) not in _GONE:
                raise
            return 0
        except ValueError:  # the file was closed under us (the console is ending)
            return 0
        return written

    def readline(self, size: int = -1) -> str:
        """One line from the client, ``\\r\\n`` normalised to ``\\n`` ("" at end of input)."""
        line: str = self.f.readline(size)
        return line.replace("\r\n", "\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


class _StreamRouter:
    # Stands in for one of sys.stdin/stdout/stderr while consoles run. The route table is
    # keyed by green thread, so output of code a console runs reaches its client and nobody
    # else's; it lives on this object (reachable from sys), not in a module global.
    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.routes: dict[greenlet, FileProxy] = {}

    def _target(self) -> Any:
        return self.routes.get(getcurrent(), self.fallback)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


_STREAMS = ("stdin", "stdout", "stderr")


@contextmanager
def _routed(proxy: FileProxy) -> Iterator[None]:
    me = getcurrent()
    routers: list[tuple[str, _StreamRouter]] = []
    for name in _STREAMS:
        current = getattr(sys, name)
        router = current if isinstance(current, _StreamRouter) else _StreamRouter(current)
        setattr(sys, name, router)
        router.routes[me] = proxy
        routers.append((name, router))
    try:
        yield
    finally:
        for name, router in routers:
            router.routes.pop(me, None)
            if not router.routes and getattr(sys, name) is router:
                setattr(sys, name, router.fallback)


def _describe(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in str(host) else f"{host}:{addr[1]}"
    return str(addr) if addr else "unix socket"


class SocketConsole(InteractiveConsole):
    """A Python prompt served over one connection's text file ``desc``.

    ``hostport`` is the peer address (for the status lines); ``locals`` the namespace the
    code typed runs in (shared with the caller, so assignments persist in it). ``run()``
    serves the console until the client ends its input, types ``exit()``, or the green
    thread is killed, then closes ``desc``. eventlet's ``SocketConsole`` is a greenlet;
    this one is run by a green thread (``backdoor()`` spawns it).
    """

    def __init__(self, desc: Any, hostport: Any, locals: Optional[dict[str, Any]] = None) -> None:
        super().__init__(locals)
        self.desc = desc if isinstance(desc, FileProxy) else FileProxy(desc)
        self.hostport = hostport

    def write(self, data: str) -> None:
        """Send interpreter messages (tracebacks, the banner) to the client."""
        self.desc.write(data)

    def raw_input(self, prompt: str = "") -> str:
        """Show ``prompt`` and read one line from the client; EOFError at end of input."""
        self.desc.write(prompt)
        try:
            line = self.desc.readline()
        except OSError as exc:
            if get_errno(exc) in _GONE:
                raise EOFError from None
            raise
        except ValueError:  # file closed (quit() closes sys.stdin, which is ours)
            raise EOFError from None
        if not line:
            raise EOFError
        return line[:-1] if line.endswith("\n") else line

    def run(self) -> None:
        """Serve the console until the client leaves, then close the connection's file."""
        banner = (f"Python {sys.version} on {sys.platform}\n"
                  'Type "help", "copyright", "credits" or "license" for more information.\n'
                  "(InteractiveConsole over greenlane.backdoor)")  # interact() adds "\n"
        try:
            with _routed(self.desc):
                try:
                    self.interact(banner, exitmsg="")
                except SystemExit:
                    pass  # exit()/quit() typed at the prompt closes this console only
        finally:
            try:
                self.desc.f.close()
            except OSError:
                pass  # flushing to a peer that went away
            sys.stderr.write(f"backdoor closed to {_describe(self.hostport)}\n")


def backdoor(conn_info: tuple[Any, Any], locals: Optional[dict[str, Any]] = None
             ) -> GreenThread[None]:
    """Serve a console on one accepted connection ``(conn, addr)`` in a new green thread.

    Does not block. The console owns the connection from now on and closes it when done.
    Returns the console's green thread (eventlet returns None), which can be killed to end the
    session.
    """
    conn, addr = conn_info
    sys.stderr.write(f"backdoor to {_describe(addr)}\n")
    f = conn.makefile("rw")
    conn.close()  # the file keeps the descriptor open until the console closes it
    console = SocketConsole(f, addr, locals)
    return spawn(console.run)


def _is_local(sock: Any) -> bool:
    family = getattr(sock, "family", None)
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # other families (vsock, ...) are not reachable from the network
    host = str(sock.getsockname()[0]).split("%", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def backdoor_server(sock: Any, locals: Optional[dict[str, Any]] = None) -> None:
    """Accept connections on the listening green socket ``sock``, a console for each.

    Blocks until the calling green thread is killed or ``sock`` fails; then closes ``sock``
    and every console it started. ``locals`` is the namespace all consoles share. Warns with
    ``UnsafeBackdoorWarning`` if ``sock`` is bound to an address that is neither loopback nor
    a Unix socket: anyone who can connect can run any code in this process.
    """
    if not _is_local(sock):
        warnings.warn(
            f"backdoor_server is listening on {_describe(sock.getsockname())}, which is not a "
            f"loopback address: anyone who can connect runs code in this process. Bind it to "
            f"127.0.0.1, ::1 or a Unix socket.", UnsafeBackdoorWarning, stacklevel=2)
    sys.stderr.write(f"backdoor server listening on {_describe(sock.getsockname())}\n")
    consoles: set[GreenThread[None]] = set()
    try:
        while True:
            try:
                conn_info = sock.accept()
            except OSError as exc:
                if get_errno(exc) in _CLIENT_ERRNOS:
                    continue
                raise
            thread = backdoor(conn_info, locals)
            consoles.add(thread)
            thread.link(lambda gt: consoles.discard(gt))
    finally:
        for thread in list(consoles):
            thread.kill()
        sock.close()
