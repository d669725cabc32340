"""Debugging aids: hub switches, listener and timer inspection, blocking detection, line tracing.

Same names as ``eventlet.debug``. Differences from eventlet:

* The hub switches (``hub_exceptions``, ``hub_prevent_multiple_readers``, the ``*_stacks`` and
  ``hub_blocking_detection``) act on the calling OS thread's hub only; a hub created later (in
  another thread, or in a child after ``fork``) starts with the defaults. eventlet's
  ``hub_prevent_multiple_readers`` was process-wide.
* ``hub_blocking_detection`` reports, it does not raise: a watchdog OS thread notices a green
  thread that has run for more than ``resolution`` seconds without switching and writes its
  current stack to stderr (or to the ``report`` callback), while the offender goes on. eventlet
  used ``SIGALRM``/``setitimer``: main thread only, integer-second resolution on some
  platforms, and it raised inside whatever code happened to be running. Here any thread's hub
  can be watched, and the stack shown is the offender's, taken while it is still blocking.
  Detection costs nothing while it is off; while on, each greenlet switch pays for one clock
  read (``greenlet.settrace``).
* ``tpool_exceptions`` is accepted and does nothing: ``greenlane.tpool`` always raises a
  worker's exception in the calling green thread with the worker's traceback intact, so there
  is nothing left for a second report to add (eventlet printed it from the worker as well,
  because its tpool lost the worker's frames). ``format_asyncio_info`` is not provided (no
  asyncio hub).
* ``Spew`` prints eventlet's format (``module:line: source``, then the values of the names on
  the line as ``name=repr`` on one tab-indented line, reprs longer than 200 characters cut),
  and ``trace_names`` also matches submodules of the names given.
"""

from __future__ import annotations

import linecache
import re
import sys
import traceback
import warnings
import weakref
from types import FrameType
from typing import Any, Callable, Optional

import greenlet

from greenlane import _originals as real
from greenlane.hubs import get_hub
from greenlane.hubs.hub import BaseHub

__all__ = [
    "Spew",
    "format_hub_listeners",
    "format_hub_timers",
    "format_threads_info",
    "hub_blocking_detection",
    "hub_exceptions",
    "hub_listener_stacks",
    "hub_prevent_multiple_readers",
    "hub_timer_stacks",
    "spew",
    "tpool_exceptions",
    "unspew",
]


# ---------------------------------------------------------------------------- line tracing
class Spew:
    """A ``sys.settrace`` function that prints every line executed (see ``spew``).

    Each line is printed as ``module:lineno: source``; code whose globals have no
    ``__file__`` (``exec``/``eval`` of a string) is shown as ``[unknown]``, with its source if
    ``inspect`` can find it and otherwise the code's name and VM instruction offset. With
    ``show_values`` the next line lists ``name=repr(value)`` for each name on the line that
    is a local or global of the frame (locals win), in the order they appear.
    """

    def __init__(self, trace_names: Optional[Any] = None, show_values: bool = True) -> None:
        self.trace_names = trace_names
        self.show_values = show_values

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Spew:
        if event != "line":
            return self
        lineno = frame.f_lineno
        if "__file__" in frame.f_globals:
            module = str(frame.f_globals.get("__name__", "?"))
            line = linecache.getline(frame.f_code.co_filename, lineno)
        else:
            module = "[unknown]"
            line = _source_line(frame, lineno)
        if self.trace_names is not None and not any(
                module == name or module.startswith(name + ".") for name in self.trace_names):
            return self
        line = line.rstrip()
        sys.stdout.write(f"{module}:{lineno}: {line}\n")
        if self.show_values:
            values = []
            for name in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", line)):
                if name in frame.f_locals:
                    value = frame.f_locals[name]
                elif name in frame.f_globals:
                    value = frame.f_globals[name]
                else:
                    continue
                try:
                    text = repr(value)
                except Exception:  # noqa: BLE001 - a broken __repr__ must not stop tracing
                    text = f"<unrepresentable {type(value).__name__}>"
                if len(text) > 200:
                    text = text[:197] + "..."
                values.append(f"{name}={text}")
            if values:
                sys.stdout.write("\t" + " ".join(values) + "\n")
        return self


def _source_line(frame: FrameType, lineno: int) -> str:
    # Code compiled from a string has no file for linecache; inspect may still know its
    # source (an interactive session, a notebook), else say where in the bytecode we are.
    import inspect

    try:
        lines, first = inspect.getsourcelines(frame)
        return lines[lineno - max(first, 1)]
    except (OSError, TypeError, IndexError):
        return (f"<no source for code {frame.f_code.co_name!r}, VM instruction "
                f"#{frame.f_lasti}>")


def spew(trace_names: Optional[Any] = None, show_values: bool = False) -> None:
    """Print each line the current OS thread executes, with its module and line number.

    ``trace_names`` limits the output to those modules (and their submodules);
    ``show_values`` also prints the value of each name used on the line. Very slow: for
    debugging only. ``unspew()`` stops it.
    """
    sys.settrace(Spew(trace_names, show_values))


def unspew() -> None:
    """Stop the tracing started by ``spew()`` (removes the thread's trace function)."""
    sys.settrace(None)


def tpool_exceptions(state: bool = False) -> None:
    """Accepted for eventlet compatibility; does nothing.

    eventlet's tpool printed an exception raised in a worker thread (when turned on) besides
    raising it in the caller, whose traceback then lacked the worker's frames. ``greenlane.tpool``
    raises it in the calling green thread with the worker's frames in its traceback, so the
    caller's own handling (or the hub's report of an unhandled exception) already shows
    everything a second report from the worker would.
    """
    del state


# ---------------------------------------------------------------------------- hub switches
def hub_exceptions(state: bool = True) -> None:
    """Whether the hub prints exceptions that escape green threads and timers (default on).

    An exception escaping a ``spawn_n`` green thread or a timer callback is only reported, so
    turning this off hides it completely. ``spawn``'s exceptions reach ``GreenThread.wait()``
    either way.
    """
    get_hub().debug_exceptions = state


def hub_prevent_multiple_readers(state: bool = True) -> None:
    """Whether a second green thread waiting on the same fd and direction is an error.

    On (the default), the second ``trampoline``/``hub.add`` raises ``RuntimeError`` naming the
    fd and both green threads. Off, both wait and both are woken; only for code that serialises
    its reads some other way.
    """
    get_hub().prevent_multiple_readers = state


class _HubDebug:
    """This module's state for one hub, kept in the hub's ``debug_state`` slot."""

    def __init__(self) -> None:
        self.listener_stacks: Optional[dict[Any, str]] = None
        self.timer_stacks: Optional[dict[Any, str]] = None
        self.blocking: Optional[_BlockingDetector] = None


def _state(hub: BaseHub) -> _HubDebug:
    state = hub.debug_state
    if not isinstance(state, _HubDebug):
        state = hub.debug_state = _HubDebug()
    return state


def _creation_stack() -> str:
    # Drop the innermost frames: this function, the recorder and the hub method calling it.
    return "".join(traceback.format_stack(limit=32)[:-3])


def _recorder(stacks: dict[Any, str], live: Callable[[Any], bool]) -> Callable[[Any], None]:
    # A hub hook that records where each object it is given (a listener, a timer) was made.
    def record(obj: Any) -> None:
        stacks[obj] = _creation_stack()
        if len(stacks) > 1024:
            # Entries of listeners and timers that are done are dropped in a batch.
            for key in [key for key in stacks if not live(key)]:
                del stacks[key]

    return record


def hub_listener_stacks(state: bool = False) -> None:
    """Record where each fd listener was added, for ``format_hub_listeners()``.

    Costs a stack capture per wait on an fd while on; nothing while off. Plugs into the hub's
    ``listener_hook``.
    """
    hub = get_hub()
    debug = _state(hub)
    if state and debug.listener_stacks is None:
        debug.listener_stacks = {}
        hub.listener_hook = _recorder(debug.listener_stacks, lambda item: not item.spent)
    elif not state and debug.listener_stacks is not None:
        debug.listener_stacks = None
        hub.listener_hook = None


def hub_timer_stacks(state: bool = False) -> None:
    """Record where each timer was scheduled, for ``format_hub_timers()``.

    Covers timers with a positive delay (zero-delay work goes to the ready queue and runs on
    the next turn). Costs a stack capture per timer while on; nothing while off. Plugs into
    the hub's ``timer_hook``.
    """
    hub = get_hub()
    debug = _state(hub)
    if state and debug.timer_stacks is None:
        debug.timer_stacks = {}
        hub.timer_hook = _recorder(debug.timer_stacks, lambda item: not item.called)
    elif not state and debug.timer_stacks is not None:
        debug.timer_stacks = None
        hub.timer_hook = None


def _indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.rstrip("\n").split("\n"))


def format_hub_listeners() -> str:
    """The current hub's fd listeners, one per line, with their stacks if recorded.

    Useful to find a leaked listener (a green thread that still waits on a socket).
    """
    hub = get_hub()
    stacks = _state(hub).listener_stacks or {}
    lines = []
    for title, listeners in (("READERS:", hub.get_readers()), ("WRITERS:", hub.get_writers())):
        lines.append(title)
        for listener in listeners:
            lines.append(f"  {listener!r}")
            if listener in stacks:
                lines.append(_indent(stacks[listener]).rstrip("\n"))
    return "\n".join(lines)


def format_hub_timers() -> str:
    """The current hub's pending timers in deadline order, with their stacks if recorded."""
    hub = get_hub()
    stacks = _state(hub).timer_stacks or {}
    now = hub.clock()
    lines = ["TIMERS:"]
    for deadline, _seq, timer in sorted(hub.timers, key=lambda entry: entry[:2]):
        if timer.called:
            continue
        lines.append(f"  in {deadline - now:.3f}s: {timer!r}")
        if timer in stacks:
            lines.append(_indent(stacks[timer]).rstrip("\n"))
    return "\n".join(lines)


def format_threads_info() -> str:
    """Every OS thread's current stack (the running green thread's, for each thread)."""
    import threading

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        parts.append(f"Thread {names.get(ident, '?')} ({ident}):\n"
                     + "".join(traceback.format_stack(frame)))
    return "\n".join(parts)


# ---------------------------------------------------------------------------- blocking
def _write_stderr(message: str) -> None:
    sys.stderr.write(message)
    sys.stderr.flush()


class _BlockingDetector:
    """Watches one hub's thread from a separate OS thread; see ``hub_blocking_detection``."""

    def __init__(self, hub: BaseHub, resolution: float,
                 report: Callable[[str], Any]) -> None:
        self.hub_ref = weakref.ref(hub)
        self.resolution = resolution
        self.report = report
        self.thread_id = real.get_ident()
        # (when, greenlet): the last switch. One tuple, so the watchdog reads it atomically.
        self.last: tuple[float, Any] = (real.monotonic(), greenlet.getcurrent())
        self.reported: Optional[tuple[float, Any]] = None
        self.previous_trace: Any = None
        # The real thread and lock primitives: patched ones would make the watchdog a green
        # thread, which cannot run while the green thread it watches blocks the hub.
        self.stop_lock = real.allocate_lock()
        self.stop_lock.acquire()

    def trace(self, event: str, args: Any) -> None:
        if event == "switch" or event == "throw":
            self.last = (real.monotonic(), args[1])
        previous = self.previous_trace
        if previous is not None:
            previous(event, args)

    def start(self) -> None:
        self.previous_trace = greenlet.gettrace()
        greenlet.settrace(self.trace)
        real.start_new_thread(self.watch, ())

    def stop(self) -> None:
        if greenlet.gettrace() == self.trace:
            greenlet.settrace(self.previous_trace)
        self.stop_lock.release()

    def watch(self) -> None:
        interval = max(0.001, self.resolution / 4)
        while not self.stop_lock.acquire(True, interval):
            hub = self.hub_ref()
            if hub is None:
                return
            last = self.last
            since, running = last
            if running is hub.greenlet or last == self.reported:
                continue
            elapsed = real.monotonic() - since
            if elapsed <= self.resolution:
                continue
            frame = sys._current_frames().get(self.thread_id)
            if frame is None:
                return  # the hub's thread has exited
            stack = "".join(traceback.format_stack(frame))
            del frame
            if self.last is not last:
                continue  # it switched while we looked: the stack may be someone else's
            self.reported = last
            try:
                self.report(
                    f"greenlane: {running!r} has kept the hub from running for "
                    f"{elapsed:.3f}s (more than {self.resolution}s) without switching; "
                    f"it is at:\n{stack}")
            except Exception:  # noqa: BLE001 - the watchdog must survive a broken reporter
                traceback.print_exc()


def hub_blocking_detection(state: bool = False, resolution: float = 1,
                           report: Optional[Callable[[str], Any]] = None) -> None:
    """Report green threads that run for more than ``resolution`` seconds without yielding.

    While on, a daemon OS thread checks the current thread's hub every ``resolution / 4``
    seconds; a green thread (the main one included) that has run longer than ``resolution``
    since it was switched to is reported once, with its current stack, to stderr or to
    ``report(message)``. Unlike eventlet, nothing is raised in the offender.

    Off (the default) it costs nothing. Needs ``greenlet.settrace`` (CPython's greenlet and
    PyPy's own both have it); where it is missing, turning detection on only emits a
    ``RuntimeWarning`` and leaves it off.
    """
    hub = get_hub()
    debug = _state(hub)
    if debug.blocking is not None:
        debug.blocking.stop()
        debug.blocking = None
    hub.debug_blocking = state
    hub.debug_blocking_resolution = resolution
    if not state:
        return
    if resolution <= 0:
        hub.debug_blocking = False
        raise ValueError("resolution must be a positive number of seconds")
    if not hasattr(greenlet, "settrace"):
        hub.debug_blocking = False
        warnings.warn("hub_blocking_detection is unavailable: this greenlet has no settrace()",
                      RuntimeWarning, stacklevel=2)
        return
    detector = _BlockingDetector(hub, resolution, report or _write_stderr)
    debug.blocking = detector
    detector.start()


def _reset_hub(hub: BaseHub) -> None:
    """Put every debug switch of ``hub`` back to its default (for the test suite)."""
    hub.debug_exceptions = True
    hub.prevent_multiple_readers = True
    debug = hub.debug_state
    if not isinstance(debug, _HubDebug):
        return
    if debug.blocking is not None:
        debug.blocking.stop()
        debug.blocking = None
        hub.debug_blocking = False
    if debug.listener_stacks is not None:
        debug.listener_stacks = None
        hub.listener_hook = None
    if debug.timer_stacks is not None:
        debug.timer_stacks = None
        hub.timer_hook = None
