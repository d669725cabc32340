"""Green threads: spawn, sleep, kill, and the GreenThread handle.

Same names and semantics as ``eventlet.greenthread``. Differences:

* A spawned green thread starts from the hub's ready queue, not from a zero-delay timer: it
  runs on the next turn of the hub, after work already queued, in spawn order.
* Each green thread runs in its own, initially empty, ``contextvars`` context (greenlet >= 1.0
  semantics, which Flask's request context relies on). ``spawn_in_context`` runs one in a
  copy of the caller's context instead.
* ``kill`` of a green thread that never started marks it dead without running it, and its
  ``wait()`` raises ``GreenletExit``.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable, Generic, Optional, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

from greenlane.hubs import BaseHub, Waiter, WaitQueue, _context, get_hub

__all__ = [
    "GreenThread",
    "getcurrent",
    "kill",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_in_context",
    "spawn_n",
]

T = TypeVar("T")


def sleep(seconds: float = 0) -> None:
    """Yield to other green threads for at least ``seconds``.

    ``sleep(0)`` lets every other ready green thread run once. From the hub's own greenlet,
    ``sleep(0)`` is a no-op and a positive delay raises ``RuntimeError``.
    """
    hub = _context.current.hub or get_hub()
    current = getcurrent()
    hub_greenlet = hub.greenlet
    if current is hub_greenlet:
        if seconds <= 0:
            return
        raise RuntimeError("do not call blocking functions from the hub's own greenlet")
    if hub_greenlet.dead:
        hub_greenlet = hub.ensure_loop()
    if seconds <= 0:
        # The hub resumes us through this very entry. If an exception is thrown into us
        # instead (a Timeout, kill), the entry is still queued and must go, or it would
        # resume us later in whatever we block on next. Removing it on that rare path is
        # O(len(ready)), and keeps the common path free of a token and an extra call.
        entry = (current.switch, ())
        hub.push_ready(entry)
        try:
            hub_greenlet.switch()
        except BaseException:
            hub.cancel_ready(entry)
            raise
        if not hub.running:
            # Resumed by the loop ending (hub.abort()) rather than by our entry, which would
            # otherwise resume us later, wherever we block next.
            hub.cancel_ready(entry)
        return
    timer = hub.schedule_call_global(seconds, current.switch)
    try:
        hub_greenlet.switch()
    finally:
        timer.cancel()


_PENDING: Any = object()
# spawn() is the commonest call in most programs and sits close to greenlet's own creation
# cost, so it skips two Python-level steps: it queues the unbound ``greenlet.switch`` with the
# green thread as first argument (no bound method object per spawn; the hub knows to name
# ``args[0]`` when reporting), and it initialises the green thread with greenlet's own
# ``__new__``/``__init__`` rather than through ``GreenThread.__init__``'s Python frame.
_switch = greenlet.switch
_new = greenlet.__new__
_init = greenlet.__init__


class GreenThread(greenlet, Generic[T]):  # type: ignore[misc]
    """The handle ``spawn`` returns: a greenlet whose result can be waited for.

    Not meant to be constructed directly. ``wait()`` returns the function's result or raises
    its exception; ``link(func, *args)`` calls ``func(gt, *args)`` when it finishes.
    """

    # The result lives on the green thread itself (no Event object per spawn): spawning is
    # the commonest operation, and greenlet creation already dominates its cost. The initial
    # state is class attributes, so a new green thread writes none of them; most never do
    # more than store their result.
    _result: Any = _PENDING
    _exc: Optional[BaseException] = None
    _waiters: Optional[WaitQueue] = None
    _links: Optional[list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]] = None
    _resolving_links = False

    def __init__(self, parent: greenlet) -> None:
        greenlet.__init__(self, None, parent)

    def run(self, function: Callable[..., T], args: tuple[Any, ...],
            kwargs: Optional[dict[str, Any]] = None) -> None:
        """The green thread's body (greenlet ``run``): call ``function`` and keep its outcome."""
        try:
            self._result = function(*args, **kwargs) if kwargs else function(*args)
        except BaseException as exc:
            self._finish(None, exc)
            raise
        if self._waiters is not None or self._links is not None:
            self._finish(self._result, None)

    main = run  # eventlet name

    def _finish(self, result: Any, exc: Optional[BaseException]) -> None:
        self._result = result
        self._exc = exc
        waiters, self._waiters = self._waiters, None
        if waiters is not None:
            waiters.wake_all()
        if self._links:
            self._resolve_links()

    def ready(self) -> bool:
        """True once the green thread has finished (returned, raised or been killed)."""
        return self._result is not _PENDING

    def wait(self) -> T:
        """Wait for the green thread to finish; return its result or raise its exception."""
        if self._result is _PENDING:
            waiters = self._waiters
            if waiters is None:
                waiters = self._waiters = WaitQueue()
            waiters.park()
        if self._exc is not None:
            raise self._exc
        return self._result  # type: ignore[no-any-return]

    def link(self, func: Callable[..., Any], *curried_args: Any, **curried_kwargs: Any) -> None:
        """Call ``func(self, *curried_args, **curried_kwargs)`` when this green thread exits.

        If it has already exited, ``func`` is called right away in the current green thread.
        """
        if self._links is None:
            self._links = []
        self._links.append((func, curried_args, curried_kwargs))
        if self._result is not _PENDING:
            self._resolve_links()

    def unlink(self, func: Callable[..., Any], *curried_args: Any,
               **curried_kwargs: Any) -> bool:
        """Remove a link added with the same arguments; True if one was removed."""
        try:
            if self._links is not None:
                self._links.remove((func, curried_args, curried_kwargs))
                return True
        except ValueError:
            pass
        return False

    def _resolve_links(self) -> None:
        # Re-entrancy guard: a link that calls link() must not run links twice.
        if self._resolving_links:
            return
        self._resolving_links = True
        try:
            links = self._links
            while links:
                func, args, kwargs = links.pop(0)
                func(self, *args, **kwargs)
        finally:
            self._resolving_links = False

    def kill(self, *throw_args: Any) -> None:
        """Raise ``GreenletExit`` (or ``throw_args``) in this green thread; see ``kill()``."""
        kill(self, *throw_args)

    def cancel(self, *throw_args: Any) -> None:
        """Kill this green thread only if it has not started running yet."""
        cancel(self, *throw_args)

    def __repr__(self) -> str:
        state = "dead" if self.dead else ("running" if self else "pending")
        return f"<GreenThread at {id(self):#x} {state}>"


def _new_greenthread(hub: BaseHub, context: Optional[contextvars.Context] = None
                     ) -> GreenThread[Any]:
    g: GreenThread[Any] = GreenThread(hub.greenlet)
    if context is not None:
        g.gr_context = context
    return g


def spawn(func: Callable[..., T], *args: Any, **kwargs: Any) -> GreenThread[T]:
    """Run ``func(*args, **kwargs)`` in a new green thread; return its ``GreenThread``.

    The green thread starts on the hub's next turn, not immediately.
    """
    hub = _context.current.hub or get_hub()
    g: GreenThread[T] = _new(GreenThread)
    _init(g, None, hub.greenlet)  # what GreenThread(hub.greenlet) does, minus a Python call
    hub.push_ready((_switch, (g, func, args, kwargs) if kwargs else (g, func, args)))
    return g


def spawn_in_context(func: Callable[..., T], *args: Any, **kwargs: Any) -> GreenThread[T]:
    """Like ``spawn``, but the green thread runs in a copy of the caller's contextvars context.

    Use it to hand request-scoped context variables to helper green threads; plain ``spawn``
    starts from an empty context (eventlet and greenlet behaviour).
    """
    hub = get_hub()
    g = _new_greenthread(hub, contextvars.copy_context())
    hub.push_ready((g.switch, (func, args, kwargs)))
    return g


def spawn_n(func: Callable[..., Any], *args: Any, **kwargs: Any) -> greenlet:
    """Run ``func(*args, **kwargs)`` in a new green thread, with no way to get its result.

    Cheaper than ``spawn``. An exception it raises is reported by the hub (see
    ``greenlane.debug.hub_exceptions``).
    """
    hub = _context.current.hub or get_hub()
    g = greenlet(func, hub.greenlet)
    if kwargs:
        hub.push_ready((_switch_with_kwargs, (g, args, kwargs)))
    else:
        hub.push_ready((g.switch, args))
    return g


def _switch_with_kwargs(g: greenlet, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    g.switch(*args, **kwargs)


def spawn_after(seconds: float, func: Callable[..., T], *args: Any,
                **kwargs: Any) -> GreenThread[T]:
    """Like ``spawn``, but start after ``seconds``; ``cancel()`` stops it before it starts."""
    hub = get_hub()
    g = _new_greenthread(hub)
    hub.schedule_call_global(seconds, g.switch, func, args, kwargs)
    return g


def spawn_after_local(seconds: float, func: Callable[..., T], *args: Any,
                      **kwargs: Any) -> GreenThread[T]:
    """Like ``spawn_after``, but skipped if the calling green thread dies before ``seconds``.

    A skipped green thread never starts; its ``wait()`` blocks forever, as in eventlet.
    """
    hub = get_hub()
    g = _new_greenthread(hub)
    hub.schedule_call_local(seconds, g.switch, func, args, kwargs)
    return g


def cancel(g: greenlet, *throw_args: Any) -> None:
    """Kill ``g`` only if it has not started running yet (eventlet semantics)."""
    if not g:
        kill(g, *throw_args)


def kill(g: greenlet, *throw_args: Any) -> None:
    """Raise ``GreenletExit`` (or the exception in ``throw_args``) inside green thread ``g``.

    ``g`` runs at once to handle it; the caller resumes on the hub's next turn. Killing a dead
    green thread does nothing; killing one that never started marks it dead without running it.
    """
    if g.dead:
        return
    hub = get_hub()
    if not throw_args:
        throw_args = (GreenletExit,)
    if not g:
        # Never started: throw() would raise in us, not in it. Finish it as if its function
        # had raised, so waiters and links learn about it.
        exc = _as_exception(throw_args)
        if isinstance(g, GreenThread):
            g._finish(None, exc)
        # Kill it from here without running it: with us as its parent, the GreenletExit comes
        # straight back to us. Then hand it back to the hub, so the start the hub has queued
        # for it lands on the hub itself and does nothing.
        parent = g.parent
        g.parent = getcurrent()
        try:
            g.throw(GreenletExit)
        finally:
            g.parent = parent
        return
    current = getcurrent()
    if current is not hub.greenlet:
        waiter = Waiter(hub)
        waiter.greenlet = current
        hub.push_ready((waiter.switch, (None,)))
        try:
            g.throw(*throw_args)
        finally:
            # g switched back to the hub or died; if the hub has not resumed us yet, wait.
            if waiter.greenlet is not None:
                hub.switch()
                waiter.greenlet = None
    else:
        g.throw(*throw_args)


def _as_exception(throw_args: tuple[Any, ...]) -> BaseException:
    first = throw_args[0]
    if isinstance(first, BaseException):
        return first
    if len(throw_args) > 1 and isinstance(throw_args[1], BaseException):
        return throw_args[1]
    exc: BaseException = first(*throw_args[1:2])
    return exc

