"""``DAGPool``: green threads that run as soon as the values they depend on exist.

Same names and semantics as ``eventlet.dagpool``. Each green thread is spawned under a key with
the keys it depends on; it is called as ``function(key, results, *args, **kwds)``, where
iterating ``results`` yields ``(key, value)`` for each dependency as its value becomes
available (in order of availability, not of ``depends``). Its return value becomes the value of
its own key; an ``Exception`` it raises becomes a ``PropagateError`` stored for its key, which
is raised wherever that value is retrieved (and so flows down the graph, wrapped once per
hop: follow ``.exc`` to the origin). Values can also come from ``preload`` and ``post``.

Differences from eventlet, deliberate:

* ``DAGPool(preload, **kwargs)`` also accepts keyword arguments as extra preloaded values, as
  ``dict()`` does.
* ``spawn``/``spawn_many`` take their own parameters positionally only, so the function may
  have keyword arguments named ``key``, ``depends`` or ``function`` (eventlet raised
  ``TypeError``).
* ``kill(key)`` removes the key's green thread before killing it, so the green thread's own
  cleanup cannot trip over its entry (eventlet could raise ``KeyError`` there).
* Waiting green threads park on one ``greenlane.hubs.WaitQueue``, woken together by each
  ``post``, rather than on an ``Event`` replaced on every ``post``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, NamedTuple, Union

from greenlane.greenthread import GreenThread, getcurrent, spawn
from greenlane.hubs import WaitQueue

__all__ = ["Collision", "DAGPool", "PropagateError"]

_MISSING: Any = object()


class Collision(Exception):
    """Spawning a key twice, or posting a key that has a value or a running green thread.

    As with ``KeyError``, ``str()`` names the key.
    """


class PropagateError(Exception):
    """The value of a key whose green thread raised an exception.

    Attributes:
        key: the key of the green thread that raised.
        exc: the exception it raised (itself a ``PropagateError`` if it came from upstream).
    """

    def __init__(self, key: Any, exc: BaseException) -> None:
        # args = (key, exc) keeps it picklable and comparable.
        super().__init__(key, exc)
        self.key = key
        self.exc = exc
        self.msg = f"PropagateError({key}): {type(exc).__name__}: {exc}"

    def __str__(self) -> str:
        return self.msg


class _Coro(NamedTuple):
    greenthread: GreenThread[Any]
    pending: set[Any]  # the very set its `results` iterator consumes


class DAGPool:
    """A pool that orders green threads by data dependencies instead of limiting them.

    Args:
        preload: a mapping or an iterable of ``(key, value)`` pairs available from the start.
        **kwargs: more preloaded values (greenlane addition).

    Attributes:
        values: the dict of available values (treat it as read-only).
        coros: running green threads by key (internal).
    """

    def __init__(self, preload: Union[Mapping[Any, Any], Iterable[tuple[Any, Any]]] = (),
                 **kwargs: Any) -> None:
        self.values: dict[Any, Any] = dict(preload)
        self.values.update(kwargs)
        self.coros: dict[Any, _Coro] = {}
        self._waiters = WaitQueue()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} values={len(self.values)} running={len(self.coros)} "
                f"waiting={self.waiting()}>")

    # ------------------------------------------------------------------ waiting
    def waitall(self) -> dict[Any, Any]:
        """``wait()`` for every key known to the pool; returns all values."""
        return self.wait()

    def wait(self, keys: Iterable[Any] = _MISSING) -> dict[Any, Any]:
        """Wait until every key in ``keys`` (default: every known key) has a value.

        Returns:
            a dict of those keys and values.

        Raises:
            PropagateError: if one of the values is one (which one is unspecified).
        """
        return dict(self.wait_each(keys))

    def wait_each(self, keys: Iterable[Any] = _MISSING) -> Iterator[tuple[Any, Any]]:
        """Yield ``(key, value)`` for each key as soon as it has a value.

        ``keys`` defaults to every key known now (preloaded, posted or spawned). Values that
        are ready already come first; the generator ends once every key was delivered. A value
        that is a ``PropagateError`` is raised instead of yielded.
        """
        return self._wait_each(self._keyset(keys))

    def wait_each_success(self, keys: Iterable[Any] = _MISSING) -> Iterator[tuple[Any, Any]]:
        """Like ``wait_each``, but skip keys whose value is a ``PropagateError``."""
        for key, value in self._wait_each_raw(self._keyset(keys)):
            if not isinstance(value, PropagateError):
                yield key, value

    def wait_each_exception(self, keys: Iterable[Any] = _MISSING
                            ) -> Iterator[tuple[Any, PropagateError]]:
        """Like ``wait_each``, but yield only the ``PropagateError`` values (not raising them)."""
        for key, value in self._wait_each_raw(self._keyset(keys)):
            if isinstance(value, PropagateError):
                yield key, value

    def _keyset(self, keys: Iterable[Any]) -> set[Any]:
        if keys is _MISSING:
            return set(self.coros) | set(self.values)
        return set(keys)

    def _wait_each(self, pending: set[Any]) -> Iterator[tuple[Any, Any]]:
        for key, value in self._wait_each_raw(pending):
            yield key, self._value_or_raise(value)

    @staticmethod
    def _value_or_raise(value: Any) -> Any:
        if isinstance(value, PropagateError):
            raise value
        return value

    def _wait_each_raw(self, pending: set[Any]) -> Iterator[tuple[Any, Any]]:
        # `pending` is consumed in place: waiting_for() reads the same set.
        values = self.values
        while True:
            for key in [key for key in pending if key in values]:
                pending.discard(key)
                yield key, values[key]
            if not pending:
                return
            if pending.isdisjoint(values):
                self._wait_for_post()

    def _wait_for_post(self) -> None:
        self._waiters.park()

    # ------------------------------------------------------------------ spawning
    def spawn(self, key: Any, depends: Iterable[Any], function: Callable[..., Any], /,
              *args: Any, **kwds: Any) -> None:
        """Run ``function(key, results, *args, **kwds)`` in a green thread for ``key``.

        Iterating ``results`` behaves like ``wait_each(depends)``. The return value is posted
        for ``key``; an ``Exception`` is posted as ``PropagateError(key, exc)``.

        Raises:
            Collision: ``key`` was spawned already or has a value.
        """
        if key in self.coros or key in self.values:
            raise Collision(key)
        pending = set(depends)
        gt = spawn(self._run, function, key, self._wait_each(pending), args, kwds)
        self.coros[key] = _Coro(gt, pending)

    def _run(self, function: Callable[..., Any], key: Any, results: Iterator[tuple[Any, Any]],
             args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        try:
            result = function(key, results, *args, **kwds)
        except Exception as err:  # noqa: BLE001 - becomes the key's value, raised downstream
            result = PropagateError(key, err)
        finally:
            coro = self.coros.get(key)
            if coro is not None and coro.greenthread is getcurrent():
                del self.coros[key]
        try:
            self.post(key, result)
        except Collision:
            pass  # the green thread posted its own key already, or it was posted after kill
        return result

    def spawn_many(self, depends: Mapping[Any, Iterable[Any]], function: Callable[..., Any], /,
                   *args: Any, **kwds: Any) -> None:
        """``spawn(key, deps, function, ...)`` for each ``key: deps`` in ``depends``.

        Raises:
            Collision: as ``spawn``; the keys before it in ``depends`` were spawned.
        """
        for key, deps in depends.items():
            self.spawn(key, deps, function, *args, **kwds)

    def kill(self, key: Any) -> None:
        """Kill the running green thread of ``key``; ``KeyError`` if there is none.

        The key gets no value; ``post`` one if others wait for it.
        """
        coro = self.coros.pop(key)
        coro.greenthread.kill()

    # ------------------------------------------------------------------ values
    def post(self, key: Any, value: Any, replace: bool = False) -> None:
        """Store ``value`` for ``key`` and wake green threads waiting for values.

        A green thread may post its own key (its return value is then discarded).

        Raises:
            Collision: another green thread runs for ``key``, or ``key`` has a value and
                ``replace`` is False.
        """
        coro = self.coros.get(key)
        if coro is not None and coro.greenthread is not getcurrent():
            raise Collision(key)
        if key in self.values and not replace:
            raise Collision(key)
        self.values[key] = value
        self._waiters.wake_all()

    def __getitem__(self, key: Any) -> Any:
        """Wait until ``key`` has a value and return it (raising a ``PropagateError``)."""
        for _, value in self.wait_each((key,)):
            return value
        raise AssertionError("unreachable: wait_each yields the key")  # pragma: no cover

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key`` if it has one, else ``default``; raises a ``PropagateError``."""
        return self._value_or_raise(self.values.get(key, default))

    def keys(self) -> tuple[Any, ...]:
        """A snapshot of the keys that have values."""
        return tuple(self.values)

    def items(self) -> tuple[tuple[Any, Any], ...]:
        """A snapshot of ``(key, value)`` pairs; raises if a value is a ``PropagateError``."""
        return tuple((key, self._value_or_raise(value)) for key, value in self.values.items())

    def running(self) -> int:
        """How many green threads of the pool run (including those waiting for values)."""
        return len(self.coros)

    def running_keys(self) -> tuple[Any, ...]:
        """A snapshot of the keys of running green threads."""
        return tuple(self.coros)

    def waiting(self) -> int:
        """How many of the pool's green threads still wait for values (not outside waiters)."""
        return len(self.waiting_for())

    def waiting_for(self, key: Any = _MISSING) -> Any:
        """What green threads wait for.

        With ``key``: the set of keys its green thread still waits for (empty if it finished
        or the key was posted); ``KeyError`` if the key has neither. Without: a dict from each
        waiting green thread's key to that set.
        """
        available = self.values
        if key is not _MISSING:
            coro = self.coros.get(key)
            if coro is None:
                available[key]  # KeyError if the key was never spawned nor posted
                return set()
            return {k for k in coro.pending if k not in available}
        result = {}
        for k, coro in self.coros.items():
            pending = {p for p in coro.pending if p not in available}
            if pending:
                result[k] = pending
        return result
