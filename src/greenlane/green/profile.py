"""The stdlib ``profile`` module, aware of green threads: eventlet's ``green.profile``.

``profile.Profile`` keeps one stack of the frames it has seen enter; a greenlet switch makes
the events of another greenlet's stack arrive in the middle of it, and the stdlib profiler then
charges time to the wrong functions or fails an internal assertion ("Bad return"). This
``Profile`` keeps one stack (and one table of timings) per greenlet:

* at each event it checks which greenlet is running; on a switch, the time since the previous
  event is charged to the function that was running in the greenlet switched away from, that
  greenlet's stack is put aside, and the new one's is taken up where it was left (or started,
  under a ``profile:0(greenlet)`` entry, for a greenlet seen for the first time);
* a greenlet seen for the first time in the middle of its stack (the hub, or a green thread
  started before profiling) returns from frames the profiler never saw enter: those returns
  are ignored, and the time is charged to its ``greenlet`` entry;
* the timings of a greenlet that has finished are merged right away (its stack is not kept);
  the others are merged when results are asked for (the end of ``runctx``/``runcall``,
  ``stop()``, ``create_stats()``, which ``print_stats``/``dump_stats``/``pstats`` call).

Added, as in eventlet: ``Profile.start(name="start")`` and ``Profile.stop()`` profile the
current OS thread between the two calls (for a server that runs until told to stop).
``run`` and ``runctx`` are the stdlib's functions with this ``Profile``. Like the stdlib
profiler (and eventlet's), it profiles only the OS thread it is started in:
``sys.setprofile`` is per thread. Times are CPU times (``time.process_time``) unless a
``timer`` is given, so a green thread waiting on the hub costs nothing while it waits.

Differs from eventlet's: ``start()`` adds to the results gathered so far (eventlet's started
over); a finished greenlet's stack is merged and dropped at once (eventlet kept every
greenlet it had seen, and so the greenlet objects, until the results were asked for); the
root of a greenlet's stack is named ``greenlet`` (eventlet: ``new_tasklet``).
"""

from __future__ import annotations

import profile as _std
import sys
from types import FrameType
from typing import Any, Callable, Optional

from greenlet import getcurrent, greenlet

__all__ = ["Profile", "run", "runctx"]

_Handler = Callable[[Any, Any, float], int]


class Profile(_std.Profile):
    """``profile.Profile`` that keeps a separate stack for each greenlet (see the module docs).

    Same constructor and methods as the stdlib class, plus ``start()`` and ``stop()``.
    """

    # Attributes of the stdlib class that its type stubs do not declare.
    cur: Any
    timings: dict[Any, tuple[Any, ...]]
    t: float
    dispatcher: Callable[[FrameType, str, Any], None]
    fake_frame: type

    def __init__(self, timer: Optional[Callable[[], float]] = None,
                 bias: Optional[float] = None) -> None:
        # Set before the stdlib constructor, whose simulated first call goes through dispatch.
        self._greenlet: greenlet = getcurrent()
        self._parked: dict[greenlet, tuple[Any, dict[Any, tuple[Any, ...]]]] = {}
        self._finished: dict[Any, tuple[Any, ...]] = {}
        self.running = False
        super().__init__(timer, bias)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ greenlet switches
    def _switch_to(self, current: greenlet, t: float) -> None:
        cur = self.cur
        if cur is not None:
            # The time since the last event ran in the greenlet we are leaving.
            rpt, rit, ret, rfn, rframe, rcur = cur
            cur = (rpt, rit + t, ret, rfn, rframe, rcur)
        previous = self._greenlet
        if previous.dead:
            _merge(self._finished, self._unwound(cur, self.timings))
        else:
            self._parked[previous] = (cur, self.timings)
        self._greenlet = current
        state = self._parked.pop(current, None)
        if state is not None:
            self.cur, self.timings = state
        else:
            self.cur, self.timings = None, {}
            self.simulate_call("profiler")
            self.simulate_call("greenlet")

    def _unwound(self, cur: Any, timings: dict[Any, tuple[Any, ...]]
                 ) -> dict[Any, tuple[Any, ...]]:
        # Return every frame still on a stack, as the stdlib does for its one stack at the end.
        saved = self.cur, self.timings
        self.cur, self.timings = cur, timings
        try:
            while self.cur[-1]:
                _std.Profile.trace_dispatch_return(self, self.cur[-2], 0)  # type: ignore[attr-defined]
            return self.timings
        finally:
            self.cur, self.timings = saved

    def _collect(self) -> None:
        # Merge every greenlet's timings into this one's, its own stack unwound first.
        current = getcurrent()
        if current is not self._greenlet:
            self._switch_to(current, 0.0)
        self.simulate_cmd_complete()
        timings = self.timings
        for cur, parked in self._parked.values():
            _merge(timings, self._unwound(cur, parked))
        self._parked.clear()
        _merge(timings, self._finished)
        self._finished = {}

    # ------------------------------------------------------------------ public interface
    def runctx(self, cmd: str, globals: dict[str, Any], locals: Any) -> Profile:
        """Profile ``exec(cmd, globals, locals)``; the results include every greenlet's."""
        try:
            _std.Profile.runctx(self, cmd, globals, locals)
        finally:
            self._collect()
        return self

    def runcall(self, func: Callable[..., Any], /, *args: Any, **kw: Any) -> Any:
        """Profile ``func(*args, **kw)`` and return its result."""
        try:
            return _std.Profile.runcall(self, func, *args, **kw)
        finally:
            self._collect()

    def start(self, name: str = "start") -> None:
        """Start profiling the current OS thread (``name`` labels the results' root)."""
        if self.running:
            return
        self.set_cmd(name)
        self.running = True
        sys.setprofile(self.dispatcher)

    def stop(self) -> None:
        """Stop profiling started by ``start()`` and gather every greenlet's results."""
        sys.setprofile(None)
        self.running = False
        self._collect()

    def create_stats(self) -> None:
        """Gather every greenlet's results into ``self.stats`` (``pstats`` calls it)."""
        self._collect()
        super().create_stats()


def _greenlet_aware(handler: _Handler) -> _Handler:
    def dispatch(self: Any, frame: Any, t: float) -> int:
        current = getcurrent()
        if current is not self._greenlet:
            self._switch_to(current, t)
            t = 0.0
        return handler(self, frame, t)

    return dispatch


def _tolerant_call(self: Any, frame: Any, t: float) -> int:
    # The stdlib handler asserts that a new frame was called from the top of the stack. A
    # greenlet's stack taken up mid-way breaks that, and so does PyPy's greenlet, whose switch
    # runs Python frames of the target stack before getcurrent() reports the target: such a
    # call is pushed as it comes, with the time it reports charged to it.
    cur = self.cur
    if cur is not None and frame.f_back is not cur[-2]:
        top = cur[-2]
        if not isinstance(top, _std.Profile.fake_frame) and top.f_back is frame.f_back:  # type: ignore[attr-defined]
            # A sibling of the top frame: the top's return event was missed; account for it.
            _std.Profile.trace_dispatch_return(self, top, 0)  # type: ignore[attr-defined]
    code = frame.f_code
    fn = (code.co_filename, code.co_firstlineno, code.co_name)
    self.cur = (t, 0, 0, fn, frame, self.cur)
    timings = self.timings
    entry = timings.get(fn)
    if entry is None:
        timings[fn] = (0, 0, 0, 0, {})
    else:
        cc, ns, tt, ct, callers = entry
        timings[fn] = (cc, ns + 1, tt, ct, callers)
    return 1


def _tolerant_return(self: Any, frame: Any, t: float) -> int:
    # A return from a frame entered before this greenlet was first seen (below the bottom of
    # the stack kept for it) is ignored; its time goes to whatever runs next. The stdlib
    # handler copes with the rest, a frame whose return event was missed included.
    top = self.cur[-2]
    if frame is not top and (isinstance(top, _std.Profile.fake_frame)  # type: ignore[attr-defined]
                             or frame is not top.f_back):
        return 0
    result: int = _std.Profile.trace_dispatch_return(self, frame, t)  # type: ignore[attr-defined]
    return result


def _merge(into: dict[Any, tuple[Any, ...]], timings: dict[Any, tuple[Any, ...]]) -> None:
    for fn, (cc, _ns, tt, ct, callers) in timings.items():
        if fn in into:
            cc0, ns0, tt0, ct0, callers0 = into[fn]
            merged = dict(callers0)
            for caller, count in callers.items():
                merged[caller] = merged.get(caller, 0) + count
            # The recursion depth (ns) is the receiving stack's: only that one goes on.
            into[fn] = (cc0 + cc, ns0, tt0 + tt, ct0 + ct, merged)
        else:
            into[fn] = (cc, -1, tt, ct, dict(callers))  # -1: not on the receiving stack


_dispatch: dict[str, _Handler] = dict(_std.Profile.dispatch)  # type: ignore[attr-defined]
_dispatch.update({"call": _tolerant_call, "return": _tolerant_return,
                  "c_return": _tolerant_return, "c_exception": _tolerant_return})
Profile.dispatch = {  # type: ignore[attr-defined]
    event: _greenlet_aware(handler) for event, handler in _dispatch.items()}
del _dispatch


def run(statement: str, filename: Optional[str] = None, sort: Any = -1) -> None:
    """Profile ``exec(statement)`` in ``__main__``; print the stats or dump them to ``filename``."""
    import __main__

    runctx(statement, __main__.__dict__, __main__.__dict__, filename, sort)


def runctx(statement: str, globals: dict[str, Any], locals: Any,
           filename: Optional[str] = None, sort: Any = -1) -> None:
    """Profile ``exec(statement, globals, locals)``; print the stats or dump them to a file."""
    prof = Profile()
    try:
        prof.runctx(statement, globals, locals)
    except SystemExit:
        pass
    if filename is not None:
        prof.dump_stats(filename)
    else:
        prof.print_stats(sort)
