"""Monkey patching: make the standard library cooperative in place.

``monkey_patch()`` replaces names in the real stdlib module objects (``socket.socket``,
``time.sleep``, ``threading.Lock``, ``_thread.start_new_thread``, ...) with green versions, so
ordinary blocking code, and the libraries built on it, suspend only the calling green thread.
It is declarative: each green module (``greenlane.green.*``) says what it patches in a module
attribute ``__patches__``, a tuple of ``(group, stdlib_module, names)`` triples, where a name
may be dotted to reach a class attribute (``"SSLContext.sslsocket_class"``); the value patched
in is the green module's object at the same path. ``_GROUPS`` below maps each of eventlet's
keywords to the green modules that implement it; a green module that does not exist is skipped.
A green module may also define ``__after_patch__()``, called once after its names are in place,
for state that is not a name (threads and locks that exist already). A green module listed in
``_WHEN_IMPORTED`` (``greenlane.green.ssl``) is applied when its stdlib module is first
imported, if that has not happened yet, so that patching does not load OpenSSL for programs
that never use it.

What patching does not do, and why, is in docs/patching.md: names bound before patching
(``from socket import socket``) keep the real objects, so patch first; the import machinery
keeps real locks; objects created before patching (a ``queue.Queue``, a lock held in a module
of your own) stay real, and locks of that kind are reported once by a ``RuntimeWarning``.

Also here: ``is_monkey_patched`` (and eventlet's ``already_patched``), ``original``,
``import_patched``, ``inject``, ``patch_function``, and ``python -m greenlane.patcher script.py
[args]`` (or ``-m module``), which runs a program fully patched. Differences from eventlet:
``select.poll``/``epoll`` are replaced by green versions, not deleted
(``greenlane.green.select``); after ``os.fork()`` only the green thread that forked goes on
in the child; patching never re-imports
private copies of stdlib modules (only ``original``, ``import_patched`` and ``inject`` make
copies, because that is what they are for); ``threading`` is patched at the ``_thread`` level
instead of being re-executed on a green ``_thread``, so the one ``threading`` module there is
keeps working, main thread included; ``original("threading")`` gives real threads.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Callable, Iterable, Optional, TypeVar

__all__ = ["after_import", "already_patched", "import_patched", "inject", "is_monkey_patched",
           "monkey_patch", "original", "patch_function", "slurp_properties"]

F = TypeVar("F", bound=Callable[..., Any])


class _Record:
    """What the patcher did. With the hub's thread-local, greenlane's only mutable global.

    ``originals``: stdlib module name -> {dotted attribute: the value patching replaced}.
    ``groups``: the groups patched. ``hooked``: green modules whose ``__after_patch__`` ran.
    ``reported``: objects already warned about. ``copies``: what ``original()`` built.
    ``deferred``: green modules waiting for their stdlib module's first import.
    ``after_import``: callbacks waiting for a module's first import (``after_import()``).
    The green ``_thread`` keeps its bookkeeping here too: ``thread_count`` (green threads
    started and still running), ``thread_handles`` (their CPython 3.13 handles) and
    ``non_daemon_handles`` (those ``threading._shutdown`` must wait for).
    """

    __slots__ = ("after_import", "copies", "deferred", "groups", "hooked", "non_daemon_handles",
                 "originals", "reported", "thread_count", "thread_handles")

    def __init__(self) -> None:
        self.originals: dict[str, dict[str, Any]] = {}
        self.groups: set[str] = set()
        self.hooked: set[str] = set()
        self.reported: set[str] = set()
        self.copies: dict[str, types.ModuleType] = {}
        # stdlib module not imported yet -> the (group, green module) waiting for its import.
        self.deferred: dict[str, list[tuple[str, str]]] = {}
        self.after_import: dict[str, list[Callable[[], None]]] = {}
        self.thread_count = 0
        self.thread_handles: set[Any] = set()
        self.non_daemon_handles: set[Any] = set()


_saved = _Record()


class _AlreadyPatched(Mapping[str, bool]):
    """eventlet's ``patcher.already_patched``: each group patched so far -> True (read-only).

    A view of the patcher's record, so it never disagrees with ``is_monkey_patched``; eventlet's
    is a plain dict that its ``monkey_patch`` fills in.
    """

    def __getitem__(self, group: str) -> bool:
        if group in _saved.groups:
            return True
        raise KeyError(group)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(_saved.groups))

    def __len__(self) -> int:
        return len(_saved.groups)

    def __repr__(self) -> str:
        return repr(dict(self))


already_patched: Mapping[str, bool] = _AlreadyPatched()
"""The groups ``monkey_patch`` has patched, as eventlet's dict (group name -> True); read-only."""

# Group (eventlet's keyword) -> the green modules that implement it, in the order applied.
_GROUPS: dict[str, tuple[str, ...]] = {
    "thread": ("greenlane.green.thread", "greenlane.green.threading", "greenlane.green.queue"),
    "os": ("greenlane.green.os", "greenlane.green.signal"),
    "time": ("greenlane.green.time",),
    "socket": ("greenlane.green.socket", "greenlane.green._dns", "greenlane.green.ssl"),
    "select": ("greenlane.green.select", "greenlane.green.selectors"),
    "subprocess": ("greenlane.green.subprocess",),
    "psycopg": ("greenlane.green.psycopg",),
    "MySQLdb": ("greenlane.green.MySQLdb",),
    "builtins": ("greenlane.green.builtin",),
}
# Threads first: stdlib modules that the other groups import while being patched then make
# green locks from the start. Off unless named, as in eventlet: MySQLdb and builtins.
_ORDER = ("thread", "os", "time", "socket", "select", "subprocess", "psycopg", "MySQLdb",
          "builtins")
_OFF_BY_DEFAULT = ("MySQLdb", "builtins")

# Green modules applied when their stdlib module is first imported, if it is not yet: loading
# ssl (and OpenSSL) only to patch it would cost more than all the rest of monkey_patch(), and a
# program that never imports ssl needs no green ssl. green module -> (stdlib module, modules
# whose original names must be in place while it is imported): ssl's SSLSocket subclasses the
# socket class it finds in socket, which must be the real one.
_WHEN_IMPORTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "greenlane.green.ssl": ("ssl", ("socket",)),
}

# Green modules written before ``__patches__`` existed: what they patch, until they declare it.
_UNDECLARED: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "greenlane.green.socket": (("socket", "socket", (
        "socket", "SocketType", "socketpair", "fromfd", "create_connection",
        "create_server")),),
    "greenlane.green.ssl": (("socket", "ssl", ("SSLContext.sslsocket_class",)),),
    "greenlane.green.time": (("time", "time", ("sleep",)),),
}


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _set(obj: Any, dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def _has(obj: Any, dotted: str) -> bool:
    try:
        _get(obj, dotted)
    except AttributeError:
        return False
    return True


def _version() -> str:
    impl = sys.implementation.name
    return f"{'CPython' if impl == 'cpython' else impl} {sys.version.split()[0]}"


def monkey_patch(*, all: Optional[bool] = None, os: Optional[bool] = None,
                 select: Optional[bool] = None, socket: Optional[bool] = None,
                 thread: Optional[bool] = None, time: Optional[bool] = None,
                 subprocess: Optional[bool] = None, psycopg: Optional[bool] = None,
                 MySQLdb: Optional[bool] = None, builtins: Optional[bool] = None,
                 **legacy: Optional[bool]) -> None:
    """Make stdlib modules cooperative, in place (eventlet's signature and selection rules).

    With no argument every group is patched except ``MySQLdb`` and ``builtins``. Passing some
    groups as True patches only those; passing some as False patches all the others;
    ``all=False`` patches nothing unless groups are named. ``builtins`` may be spelled
    ``__builtin__``. Calling it again patches what is newly asked for and nothing twice.

    Groups: ``thread`` (``_thread``, ``threading``, ``queue.SimpleQueue``), ``os``, ``time``,
    ``socket`` (with ``ssl``), ``select`` (with ``selectors``), ``subprocess``, ``psycopg``,
    ``MySQLdb``, ``builtins``. A group whose green modules are not written yet is skipped,
    with a ``RuntimeWarning`` if it was named explicitly.

    Raises:
        TypeError: for a keyword eventlet does not accept either.
    """
    for key in legacy:
        if key != "__builtin__":
            raise TypeError(f"monkey_patch() got an unexpected keyword argument {key!r}")
    if builtins is None and "__builtin__" in legacy:
        builtins = legacy["__builtin__"]
    requested = {"os": os, "select": select, "socket": socket, "thread": thread, "time": time,
                 "subprocess": subprocess, "psycopg": psycopg, "MySQLdb": MySQLdb,
                 "builtins": builtins}
    default = all if all is not None else True not in requested.values()
    chosen = [group for group in _ORDER
              if (requested[group] if requested[group] is not None
                  else default and group not in _OFF_BY_DEFAULT)]
    todo = [group for group in chosen if group not in _saved.groups]
    if not todo:
        return
    from greenlane.hubs import get_hub

    get_hub()  # as eventlet: the hub is built from the real modules, before anything changes
    for group in todo:
        applied = _patch_group(group)
        if not applied and requested[group]:
            warnings.warn(f"greenlane.patcher does not patch {group!r} yet; it is left as is",
                          RuntimeWarning, stacklevel=2)


def _import_if_present(name: str) -> Optional[types.ModuleType]:
    # Not importlib.util.find_spec: importing importlib.util costs more than patching does.
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def _declared(module: types.ModuleType) -> Iterable[tuple[str, str, tuple[str, ...]]]:
    patches = getattr(module, "__patches__", None)
    if patches is None:
        return _UNDECLARED.get(module.__name__, ())
    for entry in patches:
        if not (isinstance(entry, tuple) and len(entry) == 3 and entry[0] in _GROUPS):
            raise ValueError(f"{module.__name__}.__patches__ has a bad entry {entry!r}: expected "
                             f"(group, stdlib_module, names) with group one of {sorted(_GROUPS)}")
    return patches  # type: ignore[no-any-return]


def _patch_group(group: str) -> bool:
    # The group's green modules that exist are all imported, then applied in order (or
    # deferred); a missing one is skipped (being written), but one that exists and fails to
    # import is an error worth seeing.
    modules = []
    deferred = False
    for name in _GROUPS[group]:
        when = _WHEN_IMPORTED.get(name)
        if when is not None and when[0] not in sys.modules:
            _defer(when[0], group, name)
            deferred = True
            continue
        green = _import_if_present(name)
        if green is not None:
            modules.append(green)
    for green in modules:
        _patch_module(group, green)
    _saved.groups.add(group)
    return deferred or bool(modules)


def _patch_module(group: str, green: types.ModuleType) -> None:
    for entry_group, target_name, names in _declared(green):
        if entry_group == group:
            _apply(green, target_name, names)
    # Right after its own names: green.thread must give the import machinery back the real
    # _thread before the next module's names trigger any import.
    hook = getattr(green, "__after_patch__", None)
    if hook is not None and green.__name__ not in _saved.hooked:
        _saved.hooked.add(green.__name__)
        hook()


def _defer(trigger: str, group: str, green_name: str) -> None:
    waiting = _saved.deferred.setdefault(trigger, [])
    if (group, green_name) not in waiting:
        waiting.append((group, green_name))
    _watch_imports()


def after_import(module_name: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` right after ``module_name`` is first imported; now if it is already.

    For patches of optional libraries that cost too much to import only to patch them (the
    database drivers of ``greenlane.green.psycopg`` use it). The callback runs once, in the
    importing green thread, after the module's body and before the import returns.

    Differences from eventlet: eventlet has no such hook.
    """
    if module_name in sys.modules:
        callback()
        return
    _saved.after_import.setdefault(module_name, []).append(callback)
    _watch_imports()


def _watch_imports() -> None:
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def _unwatch_imports_if_idle() -> None:
    if not _saved.deferred and not _saved.after_import:
        for finder in [f for f in sys.meta_path if isinstance(f, _PatchOnImport)]:
            sys.meta_path.remove(finder)


def _waits(fullname: str) -> bool:
    # Whether something waits for the import of ``fullname``: a callback, a stdlib module
    # that green modules wait for, or one of those green modules.
    return fullname in _saved.deferred or fullname in _saved.after_import or any(
        green == fullname for waiting in _saved.deferred.values() for _, green in waiting)


def _imported(name: str) -> None:
    # ``name`` has just been executed, a stdlib module (ssl) or a green module that waited
    # for one. The green module is applied once both are loaded: after ssl when ssl came
    # first, after the green module when the green module's own import brought ssl in
    # (it is still executing when ssl is done).
    for group, green_name in list(_saved.deferred.get(name, ())):
        green = sys.modules.get(green_name)
        if green is None:
            _import_if_present(green_name)  # comes back here as a green module
        elif not getattr(getattr(green, "__spec__", None), "_initializing", False):
            _apply_deferred(name, group, green)
    for trigger, waiting in list(_saved.deferred.items()):
        for group, green_name in list(waiting):
            if green_name == name and trigger in sys.modules:
                _apply_deferred(trigger, group, sys.modules[name])
    callbacks = _saved.after_import.pop(name, ())
    if callbacks:
        _unwatch_imports_if_idle()
        for callback in callbacks:
            callback()


def _apply_deferred(trigger: str, group: str, green: types.ModuleType) -> None:
    waiting = _saved.deferred.get(trigger, [])
    if (group, green.__name__) not in waiting:
        return
    _patch_module(group, green)
    waiting.remove((group, green.__name__))
    if not waiting:
        del _saved.deferred[trigger]
    _unwatch_imports_if_idle()


class _ThenPatch:
    """A module loader: the real one, then the deferred patches waiting for that module.

    A plain class, not an ``importlib.abc.Loader``: importing ``importlib.abc`` would cost
    more than the import it defers. Anything but ``create_module``/``exec_module`` goes to
    the real loader.
    """

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: Any) -> Optional[types.ModuleType]:
        module: Optional[types.ModuleType] = self._loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The module keeps the real loader (for inspect, importlib.resources and reload).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        needs = {dep for _, green in _saved.deferred.get(self._name, ())
                 for dep in _WHEN_IMPORTED[green][1]}
        with _unpatched(needs):
            self._loader.exec_module(module)
        _imported(self._name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _unpatched:
    """Context manager: the saved originals back in the named stdlib modules meanwhile.

    Only while a deferred module executes its body, which does not switch green threads, so
    no green thread sees the originals; a real thread creating a socket meanwhile gets a real
    one, which is what real threads should use anyway.
    """

    def __init__(self, modnames: Iterable[str]) -> None:
        self.modnames = [name for name in modnames if name in _saved.originals]
        self.green: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> None:
        for name in self.modnames:
            module = sys.modules[name]
            for attr, value in _saved.originals[name].items():
                self.green.append((module, attr, _get(module, attr)))
                _set(module, attr, value)

    def __exit__(self, *exc: Any) -> None:
        for module, attr, value in reversed(self.green):
            _set(module, attr, value)
        self.green.clear()


class _PatchOnImport:
    """On ``sys.meta_path`` while green modules wait for their stdlib module's first import
    (``_WHEN_IMPORTED``) or callbacks for a module's (``after_import``): gives that module,
    and those green modules, the spec the other finders give, with a loader that patches or
    calls back once the module is executed; leaves ``sys.meta_path`` when nothing waits."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        """The other finders' spec for a module that a deferred patch waits for, else None."""
        if not _waits(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenPatch(spec.loader, fullname)  # type: ignore[assignment]
                return spec
        return None


def _apply(green: types.ModuleType, target_name: str, names: Iterable[str]) -> None:
    target = importlib.import_module(target_name)
    saved = _saved.originals.setdefault(target_name, {})
    for name in names:
        if not _has(green, name):
            raise AttributeError(f"{green.__name__} declares that it patches "
                                 f"{target_name}.{name} but has no {name!r}")
        if name not in saved:
            if not _has(target, name):
                # A CPython release renamed or dropped an internal the green module expected.
                warnings.warn(f"greenlane: {target_name}.{name} does not exist on {_version()}; "
                              f"{green.__name__} expected it, so it is not patched",
                              RuntimeWarning, stacklevel=4)
                continue
            saved[name] = _get(target, name)
        _set(target, name, _get(green, name))


def report_once(key: str, message: str) -> None:
    """Warn (``RuntimeWarning``) about ``key`` the first time only; for green modules' hooks."""
    if key not in _saved.reported:
        _saved.reported.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def is_monkey_patched(module: Any) -> bool:
    """True if ``monkey_patch`` patched ``module``.

    ``module`` is a group name (``"thread"``, ``"socket"``), a stdlib module name
    (``"threading"``, ``"_thread"``) or the module itself. A module that patching waits for
    (``ssl``, patched when first imported) counts as patched.
    """
    name = module if isinstance(module, str) else getattr(module, "__name__", "")
    return name in _saved.groups or name in _saved.originals or name in _saved.deferred


# ----------------------------------------------------------------------------- original()
# Pure-Python modules whose own code looks up the names that patching replaces (socket's
# socketpair() calls socket(), threading's Thread.start() calls _start_new_thread()): a
# namespace with the originals put back would still reach the green ones through its
# functions' globals, so original() executes a private copy of these, with the modules each
# imports that patching changed replaced by their originals while it runs.
_COPY_DEPENDS: dict[str, tuple[str, ...]] = {
    "threading": ("_thread", "time", "os"),
    "queue": ("threading", "time"),
    "socket": ("os", "selectors"),
    "selectors": ("select", "time"),
    "ssl": ("socket", "os", "time"),
    "subprocess": ("os", "select", "selectors", "signal", "threading", "time"),
}


def original(modname: str) -> types.ModuleType:
    """The module ``modname`` as it was before monkey patching.

    A module that was not patched is returned as it is. For ``threading``, ``queue``,
    ``socket``, ``selectors``, ``ssl`` and ``subprocess`` (pure Python, and their own code
    uses the names patching replaces) it is a private copy, executed once on the real versions
    of the modules it imports: ``original("threading").Thread`` starts real threads, with its
    own ``current_thread()`` bookkeeping, and its classes are distinct from the patched
    module's. For other patched modules (``time``, ``_thread``, ``os``, ``select``, ...) it is a
    namespace with the module's attributes and the saved originals put back. Copies are cached
    and registered in ``sys.modules`` as ``__original_module_<name>`` (eventlet's name).
    """
    if modname in _saved.deferred:
        importlib.import_module(modname)  # patched as it is imported: now it has originals
    if modname not in _saved.originals:
        return importlib.import_module(modname)
    cached = _saved.copies.get(modname)
    if cached is not None:
        return cached
    live = importlib.import_module(modname)
    private_name = f"__original_module_{modname}"
    origin = getattr(live, "__file__", None)
    copy: types.ModuleType
    if modname in _COPY_DEPENDS and isinstance(origin, str) and origin.endswith(".py"):
        deps = [dep for dep in _COPY_DEPENDS[modname] if dep in _saved.originals]
        copy = _execute_copy(modname, private_name, origin,
                             [(dep, original(dep)) for dep in deps])
    else:
        copy = types.ModuleType(private_name, live.__doc__)
        copy.__dict__.update(live.__dict__)
        copy.__dict__.update({k: v for k, v in _saved.originals[modname].items() if "." not in k})
        copy.__name__ = private_name
        sys.modules[private_name] = copy
    _saved.copies[modname] = copy
    return copy


def _execute_copy(modname: str, private_name: str, origin: str,
                  modules: list[tuple[str, types.ModuleType]]) -> types.ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location(private_name, origin)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    # Executing needs the name registered (enum._convert_ looks itself up there).
    sys.modules[private_name] = copy
    with _swapped(modules):
        try:
            spec.loader.exec_module(copy)
        except BaseException:
            del sys.modules[private_name]
            raise
    return copy


class _swapped:
    """Context manager: ``sys.modules[name] = module`` for each pair, restored afterwards."""

    def __init__(self, modules: Iterable[tuple[str, types.ModuleType]]) -> None:
        self.modules = list(modules)
        self.before: list[tuple[str, Optional[types.ModuleType]]] = []

    def __enter__(self) -> None:
        for name, module in self.modules:
            self.before.append((name, sys.modules.get(name)))
            sys.modules[name] = module

    def __exit__(self, *exc: Any) -> None:
        for name, module in reversed(self.before):
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        self.before.clear()


# ----------------------------------------------------------------------------- import_patched
# Stdlib module name -> the green module that import_patched() substitutes by default.
_GREEN_FOR = {
    "_thread": "greenlane.green.thread",
    "threading": "greenlane.green.threading",
    "queue": "greenlane.green.queue",
    "os": "greenlane.green.os",
    "time": "greenlane.green.time",
    "socket": "greenlane.green.socket",
    "ssl": "greenlane.green.ssl",
    "select": "greenlane.green.select",
    "selectors": "greenlane.green.selectors",
    "subprocess": "greenlane.green.subprocess",
}


def _default_green_modules() -> list[tuple[str, types.ModuleType]]:
    found = []
    for name, green in _GREEN_FOR.items():
        module = _import_if_present(green)
        if module is not None:
            found.append((name, module))
    return found


def _substitutes(additional_modules: tuple[Any, ...],
                 kw_additional_modules: dict[str, types.ModuleType]
                 ) -> list[tuple[str, types.ModuleType]]:
    pairs = [(name, module) for name, module in additional_modules]
    pairs += list(kw_additional_modules.items())
    return pairs or _default_green_modules()


def import_patched(module_name: str, *additional_modules: tuple[str, types.ModuleType],
                   **kw_additional_modules: types.ModuleType) -> types.ModuleType:
    """Import a private copy of ``module_name`` that sees green modules in place of stdlib ones.

    ``additional_modules`` are ``(name, module)`` pairs, ``kw_additional_modules`` the same as
    keywords; without either, every green module greenlane has stands in for its stdlib module
    (``socket``, ``ssl``, ``threading``, ``time``, ...). While the copy is imported, those are
    what ``sys.modules`` holds; afterwards ``sys.modules`` is restored and ``module_name`` (if
    it was imported already) is the original module again. The submodules of ``module_name``
    are imported afresh too, so a package that imports from its own submodules gets patched
    copies of them (the originals are put back afterwards, unlike eventlet, which left the
    copies in ``sys.modules``). The copy is registered as ``__patched_module_<name>``. Each
    call makes a new copy with the substitutes it names (eventlet returns the copy registered
    by an earlier call, whatever substitutes that one had).

    This makes a second copy of the module, as eventlet's does: its classes are distinct from
    the original module's, and modules it imports for the first time while being imported keep
    the green substitutes. Prefer ``monkey_patch()``.
    """
    return _import_copy(module_name, _substitutes(additional_modules, kw_additional_modules))


def _import_copy(module_name: str, substitutes: list[tuple[str, types.ModuleType]]
                 ) -> types.ModuleType:
    # The module and its submodules are imported afresh, so that a package whose __init__
    # imports from its submodules (``from .sub import f``) gets patched copies of those too;
    # the originals are put back afterwards, and the parent package's attribute with them.
    prefix = module_name + "."
    before = {name: sys.modules.pop(name) for name in list(sys.modules)
              if name == module_name or name.startswith(prefix)}
    parent_name, _, child = module_name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    parent_had = parent is not None and child in vars(parent)
    parent_value = vars(parent).get(child) if parent is not None else None
    try:
        with _swapped(substitutes):
            module = importlib.import_module(module_name)
    finally:
        for name in [name for name in sys.modules
                     if name == module_name or name.startswith(prefix)]:
            del sys.modules[name]
        sys.modules.update(before)
        parent = sys.modules.get(parent_name) if parent_name else None
        if parent is not None:
            if parent_had:
                setattr(parent, child, parent_value)
            else:
                vars(parent).pop(child, None)
    sys.modules[f"__patched_module_{module_name}"] = module
    return module


def inject(module_name: str, new_globals: Optional[dict[str, Any]],
           *additional_modules: tuple[str, types.ModuleType]) -> types.ModuleType:
    """Like ``import_patched``, and copy the new module's names into ``new_globals`` if given.

    eventlet's green modules were built this way (``inject("threading", globals(), ...)``);
    greenlane's are not, see the module docstring.
    """
    module = _import_copy(module_name, _substitutes(additional_modules, {}))
    if new_globals is not None:
        new_globals.update({k: v for k, v in vars(module).items()
                            if k not in ("__name__", "__spec__", "__loader__", "__package__")})
    return module


def patch_function(func: F, *additional_modules: tuple[str, types.ModuleType]) -> F:
    """Wrap ``func`` so that the imports it makes while it runs get green modules.

    ``additional_modules`` are ``(name, module)`` pairs (default: every green module). Only
    imports executed during the call are affected; ``sys.modules`` is restored afterwards.
    """
    substitutes = _substitutes(additional_modules, {})

    def patched(*args: Any, **kwargs: Any) -> Any:
        with _swapped(substitutes):
            return func(*args, **kwargs)

    patched.__name__ = getattr(func, "__name__", "patched")
    patched.__qualname__ = getattr(func, "__qualname__", patched.__name__)
    patched.__doc__ = func.__doc__
    patched.__wrapped__ = func  # type: ignore[attr-defined]
    return patched  # type: ignore[return-value]


def slurp_properties(source: Any, destination: dict[str, Any],
                     ignore: Optional[Iterable[str]] = None,
                     srckeys: Optional[Iterable[str]] = None) -> None:
    """Copy ``source``'s public attributes (or those named in ``srckeys``) into ``destination``.

    eventlet's helper for building green modules: names in ``ignore`` and dunder names are
    skipped.
    """
    skip = set(ignore or ())
    for name in (srckeys if srckeys is not None else dir(source)):
        if name.startswith("__") or name in skip:
            continue
        destination[name] = getattr(source, name)


# ----------------------------------------------------------------------------- command line
_USAGE = """usage: python -m greenlane.patcher script.py [args...]
       python -m greenlane.patcher -m module [args...]

Patch the whole standard library (greenlane.monkey_patch()), then run the script or module as
__main__, with sys.argv shifted so that it sees its own arguments."""


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m greenlane.patcher``: run a script (or ``-m module``) fully patched."""
    import runpy

    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    monkey_patch()
    if args[0] == "-m":
        if len(args) < 2:
            print(_USAGE, file=sys.stderr)
            return 2
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    # Run as a script this file is module __main__; the record must be the importable one's.
    from greenlane import patcher as _patcher

    sys.exit(_patcher.main())
