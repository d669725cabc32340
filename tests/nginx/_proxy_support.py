"""Reverse proxies in front of greenlane, with the configurations of examples/deploy/.

The proxies run the example files themselves: ``nginx_site`` reads examples/deploy/nginx.conf
and substitutes only what a test must (loopback ports, the backends' addresses, a test
certificate); ``apache_site`` does the same for examples/deploy/apache.conf. Each substitution
must match, so a test fails if an example changes shape without its test.

Backends: ``greenlane serve`` (``cli_backend``) or Gunicorn with greenlane's worker and the
settings of examples/deploy/gunicorn.conf.py (``gunicorn_backend``), serving the test
application of tests/gunicorn (``gapp:app``), trusting 127.0.0.1 as their proxy. Clients send
from 127.0.0.2 (also loopback, but not a trusted proxy), so the address the application sees
tells whether it came from X-Forwarded-For.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Optional, Protocol

from tests._services import free_port, run_nginx, stop_nginx
from tests._support import unavailable
from tests.cli._cli_support import Serving, clean_env
from tests.gunicorn._gunicorn_support import Gunicorn

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "examples" / "deploy"
TIMEOUT = 30.0
CLIENT = "127.0.0.2"  # a loopback address that is not in --forwarded-allow-ips


class Backend(Protocol):
    """A running greenlane process (or Gunicorn master) listening on ``port``."""

    port: int

    def stop(self) -> int: ...
    def kill(self) -> None: ...


class CliBackend:
    """``python -m greenlane serve gapp:app`` behind a proxy on 127.0.0.1."""

    def __init__(self, app_dir: str, port: Optional[int] = None, *extra: str) -> None:
        self.port = port or free_port()
        self.serving = Serving("--app-dir", app_dir, "gapp:app",
                               "--bind", f"127.0.0.1:{self.port}", "--proxy-headers",
                               "--forwarded-allow-ips", "127.0.0.1", *extra)

    def stop(self) -> int:
        return self.serving.stop()

    def kill(self) -> None:
        self.serving.kill()


class GunicornBackend:
    """Gunicorn with examples/deploy/gunicorn.conf.py (one worker, a loopback port)."""

    def __init__(self, app_dir: str, port: Optional[int] = None) -> None:
        self.gunicorn = Gunicorn(app_dir, "-c", str(DEPLOY / "gunicorn.conf.py"), "-w", "1",
                                 port=port)
        self.port = self.gunicorn.port

    def stop(self) -> int:
        return self.gunicorn.stop()

    def kill(self) -> None:
        self.gunicorn.kill()


def start_backend(kind: str, app_dir: str, port: Optional[int] = None) -> Backend:
    if kind == "cli":
        return CliBackend(app_dir, port)
    return GunicornBackend(app_dir, port)


def substitute(text: str, replacements: list[tuple[str, str]], what: str) -> str:
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"{what} no longer contains {old!r}: update its test")
        text = text.replace(old, new)
    return text


# -- nginx -------------------------------------------------------------------------------------



def nginx_site(upstreams: list[str], port: int, tls_port: int, cert: Path, key: Path) -> str:
    """examples/deploy/nginx.conf with test ports, backends and certificate."""
    servers = "".join(f"    server {u} max_fails=0;\n" for u in upstreams)
    return substitute((DEPLOY / "nginx.conf").read_text(), [
        ("    server 127.0.0.1:8000 max_fails=0;\n    server 127.0.0.1:8001 max_fails=0;\n",
         servers),
        ("    listen 80;\n", f"    listen 127.0.0.1:{port};\n"),
        ("    listen 443 ssl;\n", f"    listen 127.0.0.1:{tls_port} ssl;\n"),
        ("/etc/ssl/hello/fullchain.pem", str(cert)),
        ("/etc/ssl/hello/privkey.pem", str(key)),
    ], "examples/deploy/nginx.conf")


class Nginx:
    """nginx running the example site in front of ``upstreams`` (``host:port`` or
    ``unix:path``), with a plain and a TLS listener."""

    def __init__(self, prefix: Path, upstreams: list[str], cert: Path, key: Path) -> None:
        self.port = free_port()
        self.tls_port = free_port()
        self.proc = run_nginx(prefix, nginx_site(upstreams, self.port, self.tls_port, cert, key),
                              self.port)

    def stop(self) -> None:
        stop_nginx(self.proc)


# -- Apache httpd ------------------------------------------------------------------------------

APACHE_MAIN = """
ServerRoot "{prefix}"
DefaultRuntimeDir "{prefix}"
PidFile "{prefix}/httpd.pid"
ErrorLog "{prefix}/error.log"
LogLevel warn
Mutex file:{prefix} default
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{modules}
User {user}
Group {group}
StartServers 1
ThreadsPerChild 25
MaxRequestWorkers 25
Include "{prefix}/site.conf"
"""

APACHE_MODULES = ("mpm_event", "authz_core", "unixd", "proxy", "proxy_http", "headers")


def apache_binary() -> str:
    for candidate in ("/usr/sbin/apache2", "/usr/sbin/httpd"):
        if os.path.exists(candidate):
            return candidate
    found = shutil.which("apache2") or shutil.which("httpd")
    if found is None:
        unavailable("Apache httpd is not installed (apt-get install apache2)")
    return found


def apache_site(backend_port: int, port: int) -> str:
    """examples/deploy/apache.conf with a test port and backend."""
    return substitute((DEPLOY / "apache.conf").read_text(), [
        ("<VirtualHost *:80>", f"<VirtualHost 127.0.0.1:{port}>"),
        ("http://127.0.0.1:8000/", f"http://127.0.0.1:{backend_port}/"),
    ], "examples/deploy/apache.conf")


class Apache:
    """Apache httpd in the foreground running the example site in front of one backend."""

    def __init__(self, prefix: Path, backend_port: int) -> None:
        binary = apache_binary()
        module_dir = Path("/usr/lib/apache2/modules")
        if not module_dir.is_dir():
            module_dir = Path(binary).resolve().parent.parent / "modules"
        listing = subprocess.run([binary, "-l"], capture_output=True, text=True,
                                 timeout=TIMEOUT).stdout
        modules = "\n".join(f"LoadModule {m}_module {module_dir}/mod_{m}.so"
                            for m in APACHE_MODULES if f"mod_{m}.c" not in listing)
        self.port = free_port()
        (prefix / "site.conf").write_text(apache_site(backend_port, self.port))
        user, group = ("nobody", "nogroup") if os.geteuid() == 0 else ("#-1", "#-1")
        conf = prefix / "httpd.conf"
        conf.write_text(APACHE_MAIN.format(prefix=prefix, port=self.port, modules=modules,
                                           user=user, group=group))
        self.prefix = prefix
        self.proc = subprocess.Popen([binary, "-f", str(conf), "-DFOREGROUND"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"]})
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                log = prefix / "error.log"
                if log.exists():
                    err += log.read_text(errors="replace")
                raise AssertionError(f"Apache httpd could not start: {err.strip()[-800:]}")
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=1).connect()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("Apache httpd did not start listening") from None
                time.sleep(0.02)  # another process's port: nothing to wait on

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # httpd: stop now
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


# -- certificates ------------------------------------------------------------------------------

def make_certificate(d: Path) -> tuple[Path, Path, Path]:
    """(certificate, key, CA file) for 127.0.0.1: from trustme (the dev extra) if installed,
    else a self-signed one from the openssl command (the PyPy venv has no trustme)."""
    cert, key, ca = d / "cert.pem", d / "key.pem", d / "ca.pem"
    try:
        import trustme
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            unavailable("neither trustme nor the openssl command is installed")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=TIMEOUT)
        shutil.copy(cert, ca)
        return cert, key, ca
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    authority.cert_pem.write_to_path(str(ca))
    return cert, key, ca


# -- clients -----------------------------------------------------------------------------------

def get(port: int, path: str = "/env", headers: Optional[dict[str, str]] = None,
        source: str = CLIENT, context: Any = None) -> tuple[int, dict[str, str], bytes]:
    """One request from ``source`` (default 127.0.0.2): (status, headers, body)."""
    if context is not None:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=TIMEOUT, source_address=(source, 0), context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT,
                                          source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_env(port: int, **kwargs: Any) -> dict[str, Any]:
    status, _, body = get(port, **kwargs)
    assert status == 200, body
    info: dict[str, Any] = json.loads(body)
    return info


def unit_command(unit: Path, instance: str = "") -> tuple[list[str], dict[str, str]]:
    """A systemd unit's ExecStart as an argv (the venv's programs run as ``python -m``, with
    ``%i`` replaced), and its ``Environment=`` settings."""
    import shlex
    import sys

    command: Optional[list[str]] = None
    env: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if line.startswith("ExecStart="):
            command = shlex.split(line[len("ExecStart="):].replace("%i", instance))
        elif line.startswith("Environment="):
            name, _, value = line[len("Environment="):].partition("=")
            env[name] = value
    assert command is not None, f"{unit} has no ExecStart"
    program = command[0]
    assert program.startswith("/srv/hello/venv/bin/"), program
    return [sys.executable, "-m", os.path.basename(program), *command[1:]], env


def unit_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a unit's process: ours without GREENLANE_* and GUNICORN_*, plus
    ``extra``."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("GUNICORN_")}
    env.update(extra)
    return env


def wait_for_port(port: int, proc: subprocess.Popen[Any]) -> None:
    """Wait until ``proc`` listens on 127.0.0.1:``port`` (it may be importing for a while)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args} exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"{proc.args} did not listen on {port}") from None
            time.sleep(0.02)  # another process's port: nothing to wait on
