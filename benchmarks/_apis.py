"""The few calls the benchmarks need, bound to each library's own public API.

eventlet and greenlane share one API, so ``EventletStyle`` serves both; gevent's names differ
(``joinall``, ``Event.set``, ``gevent.lock``, ``StreamServer``). Workloads fetch the functions
and bound methods they need once, before their timed loops, so no adapter call is measured on
a hot path: only setup goes through these classes.
"""

from __future__ import annotations

import importlib
import socket
from typing import Any, Callable, List, Tuple

__all__ = ["EventletStyle", "GeventAPI", "GreenAPI", "make_api", "nodelay"]

Address = Tuple[str, int]
Handler = Callable[[Any, Any], None]


def nodelay(sock: Any) -> None:
    """Disable Nagle, so request/response traffic is never held back for a delayed ACK."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class GreenAPI:
    """Interface: spawn, join, sleep, Event, Queue, Semaphore, a TCP server and a client."""

    name = ""

    def version(self) -> str:
        mod = importlib.import_module(self.name)
        return str(getattr(mod, "__version__", "?"))

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        raise NotImplementedError

    def join_all(self, threads: List[Any]) -> None:
        raise NotImplementedError

    def sleep_fn(self) -> Callable[[float], None]:
        raise NotImplementedError

    def event(self) -> Tuple[Callable[[], Any], Callable[[], None]]:
        """A new Event as (wait, fire)."""
        raise NotImplementedError

    def queue(self, joinable: bool) -> Any:
        """An unbounded queue; ``joinable`` asks for the one with ``task_done``/``join``."""
        raise NotImplementedError

    def semaphore(self, value: int) -> Any:
        raise NotImplementedError

    def serve(self, handler: Handler) -> Tuple[Address, Callable[[], None]]:
        """Start a loopback TCP server calling ``handler(conn, addr)`` per connection.

        Returns its address and a function that stops it.
        """
        raise NotImplementedError

    def connect(self, address: Address) -> Any:
        raise NotImplementedError


class EventletStyle(GreenAPI):
    """eventlet's API; greenlane keeps the same names, so one adapter serves both."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mod = importlib.import_module(name)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.mod.spawn(fn, *args)

    def join_all(self, threads: List[Any]) -> None:
        for t in threads:
            t.wait()

    def sleep_fn(self) -> Callable[[float], None]:
        return self.mod.sleep  # type: ignore[no-any-return]

    def event(self) -> Tuple[Callable[[], Any], Callable[[], None]]:
        ev = importlib.import_module(f"{self.name}.event").Event()
        return ev.wait, ev.send

    def queue(self, joinable: bool) -> Any:
        module = importlib.import_module(f"{self.name}.queue")
        return module.Queue() if joinable else module.LightQueue()

    def semaphore(self, value: int) -> Any:
        return importlib.import_module(f"{self.name}.semaphore").Semaphore(value)

    def serve(self, handler: Handler) -> Tuple[Address, Callable[[], None]]:
        listener = self.mod.listen(("127.0.0.1", 0), backlog=1024)
        server = self.mod.spawn(self.mod.serve, listener, handler, concurrency=100_000)

        def stop() -> None:
            server.kill()
            listener.close()

        return listener.getsockname(), stop

    def connect(self, address: Address) -> Any:
        return self.mod.connect(address)


class GeventAPI(GreenAPI):
    """gevent's idiomatic equivalents (``gevent.server.StreamServer`` for serving)."""

    name = "gevent"

    def __init__(self) -> None:
        import gevent
        import gevent.event
        import gevent.lock
        import gevent.queue
        import gevent.server
        import gevent.socket

        self.gevent = gevent

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.gevent.spawn(fn, *args)

    def join_all(self, threads: List[Any]) -> None:
        self.gevent.joinall(threads, raise_error=True)

    def sleep_fn(self) -> Callable[[float], None]:
        return self.gevent.sleep  # type: ignore[no-any-return]

    def event(self) -> Tuple[Callable[[], Any], Callable[[], None]]:
        ev = self.gevent.event.Event()
        return ev.wait, ev.set

    def queue(self, joinable: bool) -> Any:
        # gevent's Queue is the light one; its JoinableQueue matches eventlet's Queue.
        return self.gevent.queue.JoinableQueue() if joinable else self.gevent.queue.Queue()

    def semaphore(self, value: int) -> Any:
        return self.gevent.lock.Semaphore(value)

    def serve(self, handler: Handler) -> Tuple[Address, Callable[[], None]]:
        server = self.gevent.server.StreamServer(("127.0.0.1", 0), handler, backlog=1024)
        server.start()
        return server.address, lambda: server.stop(timeout=1)

    def connect(self, address: Address) -> Any:
        return self.gevent.socket.create_connection(address)


def make_api(lib: str) -> GreenAPI:
    """The adapter for ``lib`` ("greenlane", "eventlet" or "gevent")."""
    return GeventAPI() if lib == "gevent" else EventletStyle(lib)
