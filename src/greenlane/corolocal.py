"""Green-thread-local storage: ``local`` and ``get_ident`` (eventlet's ``eventlet.corolocal``).

``local`` is to green threads what ``threading.local`` is to threads: each green thread (each
greenlet, including an OS thread's main greenlet) sees its own attributes, and a subclass's
``__init__`` runs, with the constructor's arguments, the first time a green thread touches the
object.

Differences from eventlet, deliberate:

* ``__init__`` runs exactly once in the green thread that creates the object (eventlet ran it a
  second time there on first attribute access).
* A green thread's attributes are dropped as soon as its greenlet object is garbage collected;
  they are keyed by greenlet identity and a weak reference, with no per-lookup weakref
  allocation (eventlet used a ``WeakKeyDictionary``). As with ``threading.local``, a value that
  refers back to its own greenlet keeps both alive as long as the ``local`` object lives.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from greenlet import getcurrent, greenlet

__all__ = ["get_ident", "local"]


def get_ident() -> int:
    """The ``id()`` of the current greenlet (eventlet compatibility; useful for debugging)."""
    return id(getcurrent())


class _LocalImpl:
    # The per-greenlet dictionaries of one `local` object: id(greenlet) -> (weakref, dict).
    # The weak reference both checks that an id still means the same greenlet and, through its
    # callback, drops the dictionary when the greenlet is collected.
    __slots__ = ("__weakref__", "args", "dicts")

    def __init__(self, args: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        self.args = args
        self.dicts: dict[int, tuple[weakref.ref[greenlet], dict[str, Any]]] = {}

    def create_dict(self, g: greenlet) -> dict[str, Any]:
        key = id(g)
        wr = weakref.ref(g, _forget(weakref.ref(self), key))
        d: dict[str, Any] = {}
        self.dicts[key] = (wr, d)
        return d


def _forget(impl_ref: weakref.ref[_LocalImpl], key: int) -> Callable[[weakref.ref[greenlet]], None]:
    def greenlet_collected(wr: weakref.ref[greenlet]) -> None:
        impl = impl_ref()
        if impl is not None:
            entry = impl.dicts.get(key)
            # The id may have been reused by a newer greenlet already (PyPy runs callbacks
            # late): only drop our own entry.
            if entry is not None and entry[0] is wr:
                del impl.dicts[key]

    return greenlet_collected


def _current_dict(self: local) -> dict[str, Any]:
    impl: _LocalImpl = object.__getattribute__(self, "_local__impl")
    g = getcurrent()
    entry = impl.dicts.get(id(g))
    if entry is not None and entry[0]() is g:
        return entry[1]
    d = impl.create_dict(g)
    cls = type(self)
    if cls.__init__ is not object.__init__:
        object.__setattr__(self, "__dict__", d)
        args, kw = impl.args
        cls.__init__(self, *args, **kw)
    return d


class local:
    """An object whose attributes are private to each green thread.

    Subclass it to give attributes defaults: ``__init__`` runs in each green thread the first
    time it uses the object, with the arguments given to the constructor.
    """

    __slots__ = ("__dict__", "__weakref__", "_local__impl")

    def __new__(cls, *args: Any, **kw: Any) -> local:
        if (args or kw) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        impl = _LocalImpl((args, kw))
        object.__setattr__(self, "_local__impl", impl)
        # The creating green thread gets its dictionary now; type() runs __init__ in it.
        object.__setattr__(self, "__dict__", impl.create_dict(getcurrent()))
        return self

    def __getattribute__(self, name: str) -> Any:
        object.__setattr__(self, "__dict__", _current_dict(self))
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, "__dict__", _current_dict(self))
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        d = _current_dict(self)
        object.__setattr__(self, "__dict__", d)
        for klass in type(self).__mro__:
            descr = klass.__dict__.get(name)
            if descr is not None:
                if hasattr(type(descr), "__delete__"):
                    object.__delattr__(self, name)
                    return
                break
        # Not object.__delattr__: on PyPy it ignores a missing name once __dict__ was replaced.
        try:
            del d[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}") from None
