"""The ``eventlet`` alias: one module object per name, the three ways in, and its refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import greenlane
import greenlane.compat
from greenlane.compat import _alias


def _eventlet_entries() -> dict[str, types.ModuleType]:
    return {k: v for k, v in sys.modules.items() if k == "eventlet" or k.startswith("eventlet.")}


@pytest.fixture(autouse=True)
def _no_alias_leak() -> Iterator[None]:
    # Every test starts and ends without the alias and without eventlet.* modules, so a
    # failing test cannot change what `import eventlet` means for the tests after it.
    saved_path = list(sys.path)
    was_installed = greenlane.compat.is_installed()
    greenlane.compat.uninstall()
    for name in _eventlet_entries():
        del sys.modules[name]
    yield
    greenlane.compat.uninstall()
    for name in _eventlet_entries():
        del sys.modules[name]
    sys.path[:] = saved_path
    if was_installed:
        greenlane.compat.install()


def _run(code: str, env_extra: dict[str, str] | None = None,
         drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_eventlet_names_are_the_greenlane_module_objects() -> None:
    assert greenlane.compat.install() is True
    import eventlet
    import eventlet.event
    import eventlet.hubs.hub

    assert eventlet is greenlane
    assert eventlet.event is sys.modules["greenlane.event"]
    assert sys.modules["eventlet.hubs.hub"] is sys.modules["greenlane.hubs.hub"]
    assert sys.modules["eventlet.hubs"] is sys.modules["greenlane.hubs"]
    # One hub, whichever name reaches it.
    assert eventlet.hubs.get_hub() is greenlane.hubs.get_hub()
    # The modules keep their own identity: importlib's spec is put back.
    assert eventlet.hubs.hub.__spec__.name == "greenlane.hubs.hub"
    assert eventlet.__version__ == greenlane.__version__


def test_from_import_of_a_submodule_not_imported_yet() -> None:
    greenlane.compat.install()
    # Put the original module back afterwards: other tests hold its classes
    # (pickling looks them up by module name and checks identity).
    saved = sys.modules.pop("greenlane.dagpool", None)
    saved_attr = greenlane.__dict__.pop("dagpool", None)
    try:
        from eventlet import dagpool

        assert dagpool is sys.modules["greenlane.dagpool"]
        assert dagpool.DAGPool.__module__ == "greenlane.dagpool"
    finally:
        if saved is not None:
            sys.modules["greenlane.dagpool"] = saved
        if saved_attr is not None:
            greenlane.dagpool = saved_attr  # type: ignore[attr-defined]


def test_missing_module_names_both_sides() -> None:
    greenlane.compat.install()
    with pytest.raises(ModuleNotFoundError) as info:
        import eventlet.no_such_module  # noqa: F401
    message = str(info.value)
    assert "eventlet.no_such_module" in message
    assert "greenlane.no_such_module" in message
    assert info.value.name == "eventlet.no_such_module"
    with pytest.raises(ImportError, match="greenlane.green"):
        from eventlet.green import no_such_module  # noqa: F401


def test_a_greenlane_module_failing_to_import_keeps_its_own_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A target that exists but imports something missing must not be reported as "greenlane
    # does not have it": the real cause would be hidden.
    package = tmp_path / "fakelane"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text("import definitely_not_installed_xyz\n")
    sys.path.insert(0, str(tmp_path))
    monkeypatch.setattr(_alias, "TARGET", "fakelane")
    try:
        greenlane.compat.install()
        with pytest.raises(ModuleNotFoundError) as info:
            import eventlet.broken  # noqa: F401
        assert info.value.name == "definitely_not_installed_xyz"
    finally:
        for name in [n for n in sys.modules if n.startswith("fakelane")]:
            del sys.modules[name]


def test_install_is_idempotent_and_first_on_meta_path() -> None:
    greenlane.compat.install()
    greenlane.compat.install()
    finders = [f for f in sys.meta_path if isinstance(f, greenlane.compat.EventletAliasFinder)]
    assert len(finders) == 1
    assert sys.meta_path[0] is finders[0]


def _fake_real_eventlet(root: Path) -> Path:
    package = root / "eventlet"
    package.mkdir()
    (package / "__init__.py").write_text("REAL = True\n")
    return package / "__init__.py"


def test_alias_wins_over_an_installed_eventlet_and_uninstall_restores_it(
        tmp_path: Path) -> None:
    _fake_real_eventlet(tmp_path)
    sys.path.insert(0, str(tmp_path))
    greenlane.compat.install()
    import eventlet

    assert eventlet is greenlane
    greenlane.compat.uninstall()
    assert "eventlet" not in sys.modules
    assert not greenlane.compat.is_installed()
    import eventlet as real

    assert real is not greenlane
    assert real.REAL is True


def test_install_refuses_when_a_real_eventlet_is_imported(tmp_path: Path) -> None:
    init = _fake_real_eventlet(tmp_path)
    sys.path.insert(0, str(tmp_path))
    import eventlet as real

    with pytest.warns(greenlane.compat.EventletAliasWarning, match=str(init)):
        assert greenlane.compat.install() is False
    assert not greenlane.compat.is_installed()
    assert sys.modules["eventlet"] is real
    # uninstall() leaves a module that is not greenlane's alone.
    greenlane.compat.uninstall()
    assert sys.modules["eventlet"] is real


def test_package_attributes_reach_submodules_lazily() -> None:
    result = _run("""
        import sys, greenlane
        assert "greenlane.hubs" not in sys.modules and "greenlane.event" not in sys.modules
        assert greenlane.event is sys.modules["greenlane.event"]
        assert greenlane.hubs.hub is sys.modules["greenlane.hubs.hub"]
        for name in ("no_such_module", "_http1"):
            try:
                getattr(greenlane, name)
            except AttributeError as exc:
                assert name in str(exc)
            else:
                raise AssertionError(name)
        assert "greenlane._http1" not in sys.modules  # private names are never imported
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_import_module_installs_the_alias_in_a_fresh_interpreter() -> None:
    result = _run("""
        import greenlane.compat.eventlet_alias
        import eventlet, greenlane
        from eventlet import greenthread, timeout
        print(eventlet is greenlane, eventlet.event.Event is greenlane.Event,
              greenthread is greenlane.greenthread, timeout.Timeout is greenlane.Timeout)
    """)
    assert result.stdout.split() == ["True"] * 4, result.stderr


def test_pth_installs_the_alias_only_when_the_variable_is_set(tmp_path: Path) -> None:
    install = subprocess.run(
        [sys.executable, "-m", "greenlane.compat", "install-pth", "--site-dir", str(tmp_path)],
        capture_output=True, text=True, check=True)
    pth = tmp_path / greenlane.compat.PTH_NAME
    assert str(pth) in install.stdout
    lines = pth.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("import ")

    probe = f"""
        import site, sys
        site.addsitedir({str(tmp_path)!r})
        try:
            import eventlet
        except ImportError:
            print("none")
        else:
            print(eventlet.__name__)
    """
    on = _run(probe, {greenlane.compat.ENV_VAR: "1"})
    assert on.stdout.strip() == "greenlane", on.stderr
    for value in ("0", "", "no"):
        off = _run(probe, {greenlane.compat.ENV_VAR: value})
        assert off.stdout.strip() in ("none", "eventlet"), (value, off.stderr)
    unset = _run(probe, drop=(greenlane.compat.ENV_VAR,))
    assert unset.stdout.strip() in ("none", "eventlet"), unset.stderr

    subprocess.run([sys.executable, "-m", "greenlane.compat", "uninstall-pth", "--site-dir",
                    str(tmp_path)], check=True, capture_output=True)
    assert not pth.exists()
    assert greenlane.compat.uninstall_pth(tmp_path) is None


def test_pth_alias_reaches_child_processes(tmp_path: Path) -> None:
    # The point of the variable: an interpreter started by an aliased one is aliased too
    # (eventlet's own test suite runs its isolated scripts that way).
    greenlane.compat.install_pth(tmp_path)
    child = f"import site; site.addsitedir({str(tmp_path)!r}); import eventlet; " \
            "print(eventlet.__name__)"
    result = _run(f"""
        import site, subprocess, sys
        site.addsitedir({str(tmp_path)!r})
        import eventlet
        out = subprocess.run([sys.executable, "-c", {child!r}], capture_output=True,
                             text=True).stdout.strip()
        print(eventlet.__name__, out)
    """, {greenlane.compat.ENV_VAR: "yes"})
    assert result.stdout.split() == ["greenlane", "greenlane"], result.stderr


def test_env_enabled_matches_the_pth_test() -> None:
    var = greenlane.compat.ENV_VAR
    assert greenlane.compat.env_enabled({var: "1"})
    assert greenlane.compat.env_enabled({var: " TRUE "})
    assert not greenlane.compat.env_enabled({var: "off"})
    assert not greenlane.compat.env_enabled({})


def test_install_pth_into_a_missing_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        greenlane.compat.install_pth(tmp_path / "nowhere")


def test_status_command(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "greenlane.compat", "status", "--site-dir",
                          str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert "absent" in out


def test_eventlet_defaults_are_the_default_and_uninstall_ends_them() -> None:
    from greenlane.green.threading import CurrentThreadAlias
    from greenlane.websocket import WebSocketWSGI
    from greenlane.wsgi import HttpProtocol, Server

    def settings() -> tuple[object, ...]:
        return (Server.require_host_default, HttpProtocol.minimum_chunk_size,
                WebSocketWSGI.support_legacy_versions, CurrentThreadAlias.warns)

    greenlanes, eventlets = (True, 0, False, True), (False, 4096, True, False)
    assert settings() == greenlanes
    greenlane.compat.install()
    assert greenlane.compat.has_eventlet_defaults()
    assert settings() == eventlets
    # An explicit choice on an instance wins over the mode.
    assert WebSocketWSGI.configured(lambda ws: None,
                                    support_legacy_versions=False).support_legacy_versions is False
    greenlane.compat.uninstall()
    assert not greenlane.compat.has_eventlet_defaults()
    assert settings() == greenlanes
    greenlane.compat.install(eventlet_defaults=False)
    assert not greenlane.compat.has_eventlet_defaults()
    assert settings() == greenlanes


def _status_without_host() -> bytes:
    from greenlane import wsgi

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]

    listener = greenlane.listen(("127.0.0.1", 0))
    server = wsgi.Server(app, [listener], log_output=False, warn_if_root=False)
    server.start()
    try:
        client = greenlane.connect(listener.getsockname())
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        status = client.recv(4096).split(b"\r\n", 1)[0]
        client.close()
        return status
    finally:
        server.stop()
        server.wait()


def test_eventlet_defaults_serve_http11_without_host_greenlanes_refuse() -> None:
    greenlane.compat.install()
    assert _status_without_host() == b"HTTP/1.1 200 OK"
    greenlane.compat.install(eventlet_defaults=False)
    assert _status_without_host() == b"HTTP/1.1 400 Bad Request"


def test_eventlet_defaults_reach_modules_imported_later_and_env_strict_turns_them_off() -> None:
    probe = """
        import sys
        import greenlane.compat.eventlet_alias
        print("greenlane.wsgi" in sys.modules, "greenlane.websocket" in sys.modules)
        from eventlet import websocket, wsgi
        print(wsgi.Server.require_host_default, wsgi.HttpProtocol.minimum_chunk_size,
              websocket.WebSocketWSGI.support_legacy_versions)
    """
    eventlets = _run(probe, drop=(greenlane.compat.ENV_VAR,))
    assert eventlets.stdout.split() == ["False", "False", "False", "4096", "True"], \
        eventlets.stderr
    strict = _run(probe, {greenlane.compat.ENV_VAR: "strict"})
    assert strict.stdout.split() == ["False", "False", "True", "0", "False"], strict.stderr


def test_a_later_import_keeps_what_the_program_set_on_an_earlier_module() -> None:
    result = _run("""
        import sys
        import greenlane.compat.eventlet_alias
        from eventlet import wsgi
        assert "greenlane.websocket" not in sys.modules
        wsgi.HttpProtocol.minimum_chunk_size = 0  # the program's own choice
        from eventlet import websocket
        print(wsgi.HttpProtocol.minimum_chunk_size, websocket.WebSocketWSGI.support_legacy_versions)
    """, drop=(greenlane.compat.ENV_VAR,))
    assert result.stdout.split() == ["0", "True"], result.stderr
