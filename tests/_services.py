"""Throw-away servers for integration tests: a PostgreSQL cluster, a Redis server, nginx.

Each listens on 127.0.0.1 on a free port, keeps its files in a temporary directory, is started
once per test session (``postgres`` and ``redis_server`` fixtures, session-scoped) and stopped
at the end. Where the server cannot be started (binaries missing, no ``postgres`` user to run
PostgreSQL as root) the tests that need it fail when ``CI=true`` and skip otherwise, saying why
(``tests._support.unavailable``).

PostgreSQL: Debian's binaries (``/usr/lib/postgresql/<version>/bin``, newest first, else
``initdb``/``pg_ctl`` on PATH). The server refuses to run as root, so as root the commands run
as the ``postgres`` user (``runuser``), with the data directory in a temporary directory that
user owns. The cluster trusts every local connection (``initdb -A trust``) and trades
durability for speed (``--no-sync``, ``fsync=off``): it only lives for the test session.
Redis: ``redis-server`` with persistence off (``--save "" --appendonly no``).
nginx: in the foreground (``daemon off``, ``master_process off``) with a prefix directory of its
own and the site configuration the test gives (``run_nginx``), started per test or module.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Optional

import pytest

from tests._support import unavailable

START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process could take it; rare)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ----------------------------------------------------------------------------- PostgreSQL
@dataclass(frozen=True)
class Postgres:
    """Where the test cluster listens, and how to connect to it."""

    host: str
    port: int
    user: str
    dbname: str

    @property
    def dsn(self) -> str:
        """A libpq connection string (an IP address: libpq resolves names blocking)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"


def _pg_bindir() -> Optional[str]:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2]
                        .isdigit() else 0, reverse=True)
    for bindir in candidates:
        if os.path.exists(os.path.join(bindir, "pg_ctl")):
            return bindir
    found = shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; ``stop()`` removes it all."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.tmp = ""
        self.datadir = ""
        self.port = 0

    def problem(self) -> Optional[str]:
        """Why the cluster cannot be started here, or None."""
        if self.bindir is None:
            return "PostgreSQL is not installed (no pg_ctl; Debian: apt install postgresql)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' user to run PostgreSQL as"
            if shutil.which("runuser") is None:
                return "running as root and the runuser command is missing"
        return None

    def _run(self, *argv: str) -> None:
        assert self.bindir is not None
        done = subprocess.run(_as_server_user([os.path.join(self.bindir, argv[0]), *argv[1:]]),
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = ""
            logfile = os.path.join(self.tmp, "server.log")
            if os.path.exists(logfile):
                with open(logfile) as f:
                    log = f.read()[-2000:]
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}{log}")

    def start(self) -> Postgres:
        """Create and start the cluster; returns where it listens."""
        self.tmp = tempfile.mkdtemp(prefix="greenlane-pg-")
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.tmp, entry.pw_uid, entry.pw_gid)
        self.datadir = os.path.join(self.tmp, "data")
        self._run("initdb", "-D", self.datadir, "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        last: Optional[Exception] = None
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            options = (f"-F -c fsync=off -c full_page_writes=off -c max_connections=300 "
                       f"-k {self.tmp} -p {self.port} -h 127.0.0.1")
            try:
                self._run("pg_ctl", "-D", self.datadir, "-o", options,
                          "-l", os.path.join(self.tmp, "server.log"), "-w",
                          "-t", str(int(START_TIMEOUT)), "start")
            except RuntimeError as exc:
                last = exc
                continue
            return Postgres("127.0.0.1", self.port, "postgres", "postgres")
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def stop(self) -> None:
        """Stop the server (immediately: nothing here needs to survive) and delete its files."""
        if self.datadir and os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            try:
                self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 for the session (trust auth, user postgres)."""
    cluster = PostgresCluster()
    reason = cluster.problem()
    if reason is not None:
        unavailable(reason)
    try:
        server = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        unavailable(f"could not start PostgreSQL: {exc}")
    try:
        yield server
    finally:
        cluster.stop()


# ----------------------------------------------------------------------------- Redis
@dataclass(frozen=True)
class Redis:
    """Where the test Redis server listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """A ``redis://`` URL for redis-py."""
        return f"redis://{self.host}:{self.port}/0"


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` in the foreground, as a child process, with persistence off."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.tmp = ""

    def start(self) -> Redis:
        """Start it and wait until it answers PING; returns where it listens."""
        assert self.binary is not None
        self.tmp = tempfile.mkdtemp(prefix="greenlane-redis-")
        last = ""
        for _ in range(3):  # the free port may be taken between probing and binding
            port = free_port()
            log = os.path.join(self.tmp, "redis.log")
            self.process = subprocess.Popen(
                [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.tmp, "--logfile", log],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if _redis_answers(port):
                    return Redis("127.0.0.1", port)
                time.sleep(0.05)  # polling a child process's readiness: no event to wait on
            self._kill()
            if os.path.exists(log):
                with open(log) as f:
                    last = f.read()[-1000:]
        raise RuntimeError(f"redis-server did not start:\n{last}")

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        self._kill()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """A Redis server on 127.0.0.1 for the session."""
    server = RedisServer()
    if server.binary is None:
        unavailable("redis-server is not installed (Debian: apt install redis-server)")
    try:
        address = server.start()
    except (RuntimeError, OSError) as exc:
        server.stop()
        unavailable(f"could not start redis-server: {exc}")
    try:
        yield address
    finally:
        server.stop()


# ----------------------------------------------------------------------------- nginx
NGINX_MAIN = """
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""


def nginx_unavailable(reason: str) -> NoReturn:
    """Fail (``CI=true``) or skip the test because nginx cannot run here."""
    unavailable(f"nginx: {reason}")


def run_nginx(prefix: Path, site: str, port: int) -> subprocess.Popen[bytes]:
    """Start nginx in ``prefix`` with ``site`` (upstreams and servers, written to
    ``prefix``/site.conf and included by ``NGINX_MAIN``) and wait until it accepts
    connections on 127.0.0.1:``port``."""
    binary = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else shutil.which("nginx")
    if binary is None:
        nginx_unavailable("nginx is not installed (/usr/sbin/nginx)")
    (prefix / "site.conf").write_text(site)
    path = prefix / "nginx.conf"
    path.write_text(NGINX_MAIN.format(prefix=prefix))
    proc = subprocess.Popen([str(binary), "-p", str(prefix), "-c", str(path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            log = prefix / "error.log"
            if log.exists():
                err += log.read_text(errors="replace")
            nginx_unavailable(f"nginx could not start: {err.strip()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait(START_TIMEOUT)
                nginx_unavailable("nginx did not start listening")
            time.sleep(0.02)  # polling a port another process opens: no event to wait for


def stop_nginx(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (nginx's fast shutdown), then SIGKILL if it does not end."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(START_TIMEOUT)
    if proc.stderr is not None:
        proc.stderr.close()
