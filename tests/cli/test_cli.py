"""``greenlane serve`` as a real process: loading applications, binding, TLS, logging, proxy
headers, environment variables, privileges, signals, reload; and every kind of bad input as
one line on stderr with exit status 2."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from greenlane import __version__
from greenlane._cli import UsageError, load_app, parse_bind
from tests._services import free_port
from tests._support import has_ipv6_loopback, unavailable, write_apps

from ._cli_support import (
    APPS,
    TIMEOUT,
    Serving,
    body,
    clean_env,
    http_get,
    read_all,
    run_cli,
)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_apps(tmp_path_factory, APPS, "apps")


@pytest.fixture
def serving() -> Iterator[list[Serving]]:
    started: list[Serving] = []
    yield started
    for proc in started:
        proc.kill()


def serve(started: list[Serving], apps: str, *args: str, **kwargs: object) -> Serving:
    proc = Serving("--app-dir", apps, "--no-monkey-patch", *args, **kwargs)  # type: ignore
    started.append(proc)
    return proc


# -- the basics ----------------------------------------------------------------------------------

def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"greenlane {__version__}"


def test_help_points_to_gunicorn_and_a_load_balancer() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    text = result.stdout
    assert "gunicorn -k greenlane.gunicorn.Worker" in text
    assert "load balancer" in text and "no process manager" in text
    assert "GREENLANE_BIND" in text and "--proxy-headers" in text and "--user" in text
    top = run_cli("--help").stdout
    assert "gunicorn -k greenlane.gunicorn.Worker" in top


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_cli()
    assert result.returncode == 2 and "serve" in result.stderr


def test_console_script() -> None:
    script = shutil.which("greenlane", path=os.path.dirname(sys.executable))
    if script is None:
        unavailable("the greenlane console script is not installed (pyproject "
                    "[project.scripts]; reinstall the package)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True,
                            timeout=TIMEOUT, env=clean_env())
    assert result.returncode == 0 and result.stdout.strip() == f"greenlane {__version__}"


def test_serves_an_application(serving: list[Serving], apps: str) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}")
    assert body(http_get(port)) == b"hello from cliapp"
    assert f"wsgi starting up on http://127.0.0.1:{port}" in proc.stderr
    assert proc.stop() == 0
    assert "wsgi exited" in proc.stderr


@pytest.mark.parametrize(("spec", "expected"), [
    ('cliapp:create_app("ab", times=2)', b"abab"),
    ("cliapp:create_app()", b"hi"),
    ("cliapp:make()", b"hello from cliapp"),
    ("cliapp:holder.app", b"hello from cliapp"),
    ("cliapp", b"hello from cliapp"),  # ':app' by default
])
def test_application_specs(serving: list[Serving], apps: str, spec: str,
                           expected: bytes) -> None:
    port = free_port()
    serve(serving, apps, spec, "--bind", f"127.0.0.1:{port}")
    assert body(http_get(port)) == expected


def test_several_binds_and_ipv6(serving: list[Serving], apps: str) -> None:
    ports = [free_port(), free_port()]
    args = ["cliapp:app", "--bind", f"127.0.0.1:{ports[0]}", "-b", f"127.0.0.1:{ports[1]}"]
    v6 = has_ipv6_loopback()
    if v6:
        ports.append(free_port())
        args += ["--bind", f"[::1]:{ports[2]}"]
    serve(serving, apps, *args)
    assert body(http_get(ports[0])) == body(http_get(ports[1])) == b"hello from cliapp"
    if v6:
        assert body(http_get(ports[2], host="::1")) == b"hello from cliapp"


def test_unix_socket_bind(serving: list[Serving], apps: str, tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    proc = serve(serving, apps, "cliapp:app", "--bind", f"unix:{path}")
    assert f"wsgi starting up on unix:{path}" in proc.stderr
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert body(read_all(s)) == b"hello from cliapp"
    assert proc.stop() == 0
    assert not os.path.exists(path)  # removed on exit


def test_a_stale_unix_socket_file_is_replaced(serving: list[Serving], apps: str,
                                              tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # bound, never listening: what a killed server leaves behind
    serve(serving, apps, "cliapp:app", "--bind", f"unix:{path}")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert body(read_all(s)) == b"hello from cliapp"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("certs")
    files = {"cert": str(d / "cert.pem"), "key": str(d / "key.pem"),
             "other_key": str(d / "other.pem"), "garbage": str(d / "garbage.pem")}
    try:
        for key in ("key", "other_key"):
            subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                            "-out", files[key]], check=True, capture_output=True, timeout=60)
        subprocess.run(["openssl", "req", "-x509", "-key", files["key"], "-out", files["cert"],
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable(f"openssl cannot make a certificate: {exc}")
    Path(files["garbage"]).write_text("not a certificate\n")
    return files


def test_tls(serving: list[Serving], apps: str, certs: dict[str, str]) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:env", "--bind", f"127.0.0.1:{port}",
                 "--tls-cert", certs["cert"], "--tls-key", certs["key"])
    assert f"https://127.0.0.1:{port}" in proc.stderr
    context = ssl.create_default_context(cafile=certs["cert"])
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT),
                             server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    assert b"wsgi.url_scheme=https" in body(data)


# -- logging ---------------------------------------------------------------------------------------

def test_access_log_is_off_by_default(serving: list[Serving], apps: str) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}",
                 stdout=subprocess.PIPE)
    http_get(port, "/marker")
    assert proc.stop() == 0
    assert proc.proc.stdout is not None
    assert "/marker" not in proc.proc.stdout.read() and "/marker" not in proc.stderr


def test_access_log_to_stdout(serving: list[Serving], apps: str) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}", "--access-log",
                 "-", stdout=subprocess.PIPE)
    http_get(port, "/marker")
    assert proc.proc.stdout is not None
    line = proc.proc.stdout.readline()  # written through at once, not when the buffer fills
    assert '"GET /marker HTTP/1.1" 200 17' in line
    proc.stop()


def test_access_log_to_a_file(serving: list[Serving], apps: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "access.log"
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}", "--access-log",
                 str(log), "--access-log-format", "%(request_line)s|%(status_code)s")
    http_get(port, "/one")
    assert proc.stop() == 0
    assert log.read_text() == "GET /one HTTP/1.1|200\n"


def test_log_level_warning_hides_the_startup_line(serving: list[Serving], apps: str) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}", "--log-level",
                 "warning", ready="")  # "" matches the first line, or EOF: nothing to wait for
    assert body(http_get(port)) == b"hello from cliapp"
    proc.stop()
    assert "starting up" not in proc.stderr


# -- proxy headers, environment variables --------------------------------------------------------

def test_proxy_headers(serving: list[Serving], apps: str) -> None:
    port, plain = free_port(), free_port()
    serve(serving, apps, "cliapp:env", "--bind", f"127.0.0.1:{port}", "--proxy-headers")
    serve(serving, apps, "cliapp:env", "--bind", f"127.0.0.1:{plain}")
    headers = "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
    assert body(http_get(port, headers=headers)).startswith(
        b"REMOTE_ADDR=203.0.113.7 wsgi.url_scheme=https")
    assert body(http_get(plain, headers=headers)).startswith(
        b"REMOTE_ADDR=127.0.0.1 wsgi.url_scheme=http")


def test_proxy_headers_from_an_untrusted_peer(serving: list[Serving], apps: str) -> None:
    port = free_port()
    serve(serving, apps, "cliapp:env", "--bind", f"127.0.0.1:{port}", "--proxy-headers",
          "--forwarded-allow-ips", "10.0.0.0/8")
    assert body(http_get(port, headers="X-Forwarded-For: 203.0.113.7\r\n")).startswith(
        b"REMOTE_ADDR=127.0.0.1")


def test_environment_variables_and_flags_win(serving: list[Serving], apps: str) -> None:
    env_port, flag_port = free_port(), free_port()
    env = clean_env(GREENLANE_BIND=f"127.0.0.1:{env_port}", GREENLANE_APP="cliapp:env",
                    GREENLANE_PROXY_HEADERS="yes", GREENLANE_ACCESS_LOG="off")
    serve(serving, apps, env=env)
    assert body(http_get(env_port, headers="X-Forwarded-For: 203.0.113.7\r\n")).startswith(
        b"REMOTE_ADDR=203.0.113.7")
    serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{flag_port}",
          "--no-proxy-headers", env=dict(env, GREENLANE_BIND=f"127.0.0.1:{free_port()}"))
    assert body(http_get(flag_port)) == b"hello from cliapp"


# -- monkey patching -------------------------------------------------------------------------------

def test_monkey_patches_by_default_before_the_import(serving: list[Serving],
                                                     apps: str) -> None:
    port, unpatched = free_port(), free_port()
    started = Serving("--app-dir", apps, "cliapp:patched", "--bind", f"127.0.0.1:{port}")
    serving.append(started)
    serve(serving, apps, "cliapp:patched", "--bind", f"127.0.0.1:{unpatched}")
    assert body(http_get(port)) == b"True"
    assert body(http_get(unpatched)) == b"False"
    assert started.stop() == 0


# -- signals ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_gracefully(serving: list[Serving], apps: str, signum: int) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:slow", "--bind", f"127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /?0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(65536)
        while b"start" not in data:
            data += s.recv(65536)
        proc.signal(signum)
        data += read_all(s)  # the request in flight completes, then the connection closes
    assert data.endswith(b"end\r\n0\r\n\r\n")
    assert proc.proc.wait(TIMEOUT) == 0


@pytest.mark.slow
def test_second_sigint_cuts_requests_off(serving: list[Serving], apps: str) -> None:
    port = free_port()
    proc = serve(serving, apps, "cliapp:slow", "--bind", f"127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /?60 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(65536)
        while b"start" not in data:
            data += s.recv(65536)
        proc.signal(signal.SIGINT)
        # The first SIGINT is handled once nothing accepts any more.
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
            except ConnectionRefusedError:
                break
            except ConnectionResetError:
                pass  # the listener closed while this probe was connecting: look again
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert proc.proc.poll() is None  # waiting for the request in flight
        started = time.monotonic()
        proc.signal(signal.SIGINT)
        assert proc.proc.wait(TIMEOUT) == 0
        assert time.monotonic() - started < 5
        data += read_all(s)
    assert not data.endswith(b"0\r\n\r\n")


# -- privileges ------------------------------------------------------------------------------------

def _free_privileged_port() -> int:
    for port in range(990, 900, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


def test_binds_a_privileged_port_then_drops_to_nobody(serving: list[Serving], apps: str,
                                                      request: pytest.FixtureRequest) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    port = _free_privileged_port()
    # tmp_path's parents are private to root: nobody must be able to import the app.
    app_dir = Path(tempfile.mkdtemp(prefix="greenlane-cli-"))
    request.addfinalizer(lambda: shutil.rmtree(app_dir, ignore_errors=True))
    os.chmod(app_dir, 0o755)
    shutil.copy(Path(apps) / "cliapp.py", app_dir / "cliapp.py")
    proc = serve(serving, str(app_dir), "cliapp:whoami", "--bind", f"127.0.0.1:{port}",
                 "--user", "nobody")
    assert body(http_get(port)) == f"{nobody.pw_uid} {nobody.pw_gid} cannot-regain-root".encode()
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == [str(nobody.pw_uid)] * 4  # real, effective, saved, filesystem
    assert "running as root" not in proc.stderr
    assert proc.stop() == 0


def test_root_without_user_is_warned(serving: list[Serving], apps: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    port = free_port()
    proc = serve(serving, apps, "cliapp:app", "--bind", f"127.0.0.1:{port}")
    warnings = [line for line in proc.stderr.splitlines() if "root" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING:") and "--user" in warnings[0]


# -- reload ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_reload_restarts_on_a_change(serving: list[Serving], tmp_path: Path) -> None:
    module = tmp_path / "live.py"
    module.write_text("def app(e, s):\n    s('200 OK', [])\n    return [b'one']\n")
    port = free_port()
    proc = Serving("--app-dir", str(tmp_path), "live:app", "--bind", f"127.0.0.1:{port}",
                   "--reload", "--no-monkey-patch")
    serving.append(proc)
    assert body(http_get(port)) == b"one"
    assert "development only" in proc.stderr
    time.sleep(1.1)  # a coarse filesystem clock must see a newer modification time
    module.write_text("def app(e, s):\n    s('200 OK', [])\n    return [b'two']\n")
    assert proc.wait_for_line("wsgi starting up on", TIMEOUT, count=2), proc.stderr
    assert body(http_get(port)) == b"two"
    assert "live.py changed: restarting" in proc.stderr
    assert proc.stop() == 0


# -- bad input: one line on stderr, exit status 2, never a traceback -----------------------------

BAD_APPS = [
    ("nosuchmodule_xyz:app", "cannot import 'nosuchmodule_xyz': no module named"),
    ("cliapp:nope", "'cliapp' has no attribute 'nope'"),
    ("cliapp:holder.nope", "'cliapp.holder' has no attribute 'nope'"),
    ("cliapp:failing_factory()", "cliapp:failing_factory() raised ValueError: database is not "
                                 "configured"),
    ("cliapp:not_callable", "cliapp:not_callable is not a WSGI application"),
    ("cliapp:make", "if it is an app factory, call it: 'cliapp:make()'"),
    ("cliapp:create_app(__import__('os'))", "factory arguments must be literals"),
    ("cliapp:create_app(", "is not a name or a call"),
    ("cliapp:1 + 1", "expected a name"),
    ("broken_mod:app", "importing 'broken_mod' failed: ModuleNotFoundError: No module named "
                       "'missing_dependency_xyz'"),
    ("syntax_mod:app", "importing 'syntax_mod' failed: SyntaxError"),
    ("not a module:app", "expected MODULE:APP"),
]


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("greenlane serve: error: "), lines
    assert expected in lines[0], lines


@pytest.mark.parametrize(("spec", "expected"), BAD_APPS, ids=[spec for spec, _ in BAD_APPS])
def test_bad_application(apps: str, spec: str, expected: str) -> None:
    result = run_cli("serve", "--app-dir", apps, "--log-level", "error", "--no-monkey-patch",
                     "--bind", f"127.0.0.1:{free_port()}", spec)
    assert_one_line_error(result, expected)


def test_a_failing_factory_without_quiet_logging_still_shows_no_traceback(apps: str) -> None:
    result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--bind",
                     f"127.0.0.1:{free_port()}", "cliapp:failing_factory()")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "greenlane serve: error: cliapp:failing_factory() raised ValueError" in result.stderr


def test_debug_log_level_adds_the_traceback(apps: str) -> None:
    result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--log-level", "debug",
                     "--bind", f"127.0.0.1:{free_port()}", "cliapp:failing_factory()")
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_port_in_use(apps: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--bind",
                         f"127.0.0.1:{port}", "cliapp:app")
    assert_one_line_error(result, f"cannot bind 127.0.0.1:{port}: address already in use")


def test_unix_socket_in_use(serving: list[Serving], apps: str, tmp_path: Path) -> None:
    path = str(tmp_path / "busy.sock")
    serve(serving, apps, "cliapp:app", "--bind", f"unix:{path}")
    result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--log-level", "error",
                     "--bind", f"unix:{path}", "cliapp:app")
    assert_one_line_error(result, "address already in use")


@pytest.mark.parametrize(("files", "expected"), [
    (("missing.pem", None), "TLS certificate file 'missing.pem': no such file"),
    (("cert", "missing.pem"), "TLS key file 'missing.pem': no such file"),
    (("garbage", "key"), "cannot load the TLS certificate"),
    (("cert", "other_key"), "the key does not belong to the certificate"),
    (("cert", None), "no private key in the certificate file: give --tls-key"),
])
def test_bad_tls_files(apps: str, certs: dict[str, str], files: tuple[str, object],
                       expected: str) -> None:
    cert, key = (certs.get(str(name), name) for name in files)
    args = ["serve", "--app-dir", apps, "--no-monkey-patch", "--log-level", "error", "--bind",
            f"127.0.0.1:{free_port()}", "--tls-cert", str(cert)]
    if key is not None:
        args += ["--tls-key", str(key)]
    assert_one_line_error(run_cli(*args, "cliapp:app"), expected)


@pytest.mark.parametrize(("bind", "expected"), [
    ("127.0.0.1:http", "the port must be a number"),
    ("127.0.0.1:70000", "the port must be a number"),
    ("[::1", "missing ']'"),
    ("[::1]x", "expected [IPV6]:PORT"),
    ("[nonsense]:80", "is not an IPv6 address"),
    ("::1:80", "write IPv6 addresses in brackets"),
    ("unix:", "'unix:' needs a path"),
    (":8000", "no host"),
    ("no-such-host.invalid:80", "unknown host"),
    ("192.0.2.1:8000", "no such address on this machine"),
])
def test_bad_bind(apps: str, bind: str, expected: str) -> None:
    result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--log-level", "error",
                     "--bind", bind, "cliapp:app")
    assert_one_line_error(result, expected)


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--user", "no_such_user_xyz"], {}, "--user 'no_such_user_xyz': no such user"),
    (["--user", "nobody", "--group", "no_such_group_xyz"], {}, "no such group"),
    (["--group", "nogroup"], {}, "--group needs --user"),
    (["--frobnicate"], {}, "unrecognized arguments: --frobnicate"),
    (["--max-connections", "0"], {}, "must be at least 1"),
    (["--idle-timeout", "-1"], {}, "must be a positive number of seconds"),
    (["--log-level", "loud"], {}, "invalid choice"),
    ([], {"GREENLANE_MAX_CONNECTIONS": "lots"}, "environment variable GREENLANE_MAX_CONNECTIONS"),
    ([], {"GREENLANE_PROXY_HEADERS": "perhaps"}, "GREENLANE_PROXY_HEADERS='perhaps'"),
    (["--forwarded-allow-ips", "10.0.0.0/8,nonsense"], {}, "'nonsense' is not an IP address"),
    (["--tls-key", "key.pem"], {}, "--tls-key needs --tls-cert"),
])
def test_bad_options(apps: str, args: list[str], env: dict[str, str], expected: str) -> None:
    result = run_cli("serve", "--app-dir", apps, "--no-monkey-patch", "--log-level", "error",
                     "--bind", f"127.0.0.1:{free_port()}", *args, "cliapp:app",
                     env=clean_env(**env))
    assert_one_line_error(result, expected)


def test_no_application(apps: str) -> None:
    result = run_cli("serve", "--no-monkey-patch")
    assert result.returncode == 2
    assert result.stderr.strip() == ("greenlane serve: error: no application given: greenlane "
                                     "serve MODULE:APP (or set GREENLANE_APP)")


# -- in-process: the parsers -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "family", "host", "port", "path"), [
    ("127.0.0.1:8000", socket.AF_INET, "127.0.0.1", 8000, ""),
    ("0.0.0.0", socket.AF_INET, "0.0.0.0", 8000, ""),
    ("9000", socket.AF_INET, "127.0.0.1", 9000, ""),
    ("localhost:81", socket.AF_INET, "localhost", 81, ""),
    ("[::]", socket.AF_INET6, "::", 8000, ""),
    ("[::1]:8001", socket.AF_INET6, "::1", 8001, ""),
    ("unix:/run/app.sock", socket.AF_UNIX, "", 0, "/run/app.sock"),
])
def test_parse_bind(text: str, family: int, host: str, port: int, path: str) -> None:
    address = parse_bind(text)
    assert (address.family, address.host, address.port, address.path) == (
        family, host, port, path)


def test_load_app_never_evaluates_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "evalprobe.py").write_text("def f(*a, **k):\n    return lambda e, s: []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="literals"):
        load_app(f"evalprobe:f(open({str(marker)!r}, 'w'))")
    assert not marker.exists()
    assert callable(load_app("evalprobe:f([1, {'a': (2, None)}], x=-1.5)"))
