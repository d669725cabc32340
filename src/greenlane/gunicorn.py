"""A Gunicorn worker that serves with greenlane: ``gunicorn -k greenlane.gunicorn.Worker app:app``.

Gunicorn (the master process: binding, worker management, HUP reload, TTIN/TTOU, logging,
configuration) forks this worker, which serves the application with greenlane's own HTTP/1.1
server (:class:`greenlane.wsgi.Server`, the one ``greenlane serve`` runs): one green thread per
connection, greenlane's strict parser and timeouts, websockets through
``environ["eventlet.input"].get_socket()``. It replaces Gunicorn's eventlet worker, removed in
Gunicorn 26. Gunicorn 25 and 27 are supported; Gunicorn is optional for greenlane (importing
this module without it raises an ImportError saying so). Also selectable as
``-k egg:greenlane#greenlane`` (the ``gunicorn.workers`` entry point).

After the fork, in order: monkey patching (below), a fresh hub (greenlane makes one per
process), then Gunicorn's own worker set-up (``raw_env``, user and group, signals, loading the
application, the ``post_worker_init`` hook), then serving the inherited listening sockets.

Monkey patching: by default the whole standard library (``greenlane.monkey_patch()``), so that
the application's blocking calls (sockets, ``time.sleep``, locks, ...) only block their green
thread. ``GREENLANE_MONKEY_PATCH`` changes that, read from Gunicorn's ``raw_env`` (``--env``) or
else the environment: ``0``/``false``/``no``/``off`` patches nothing (for an application that
patches itself, or uses greenlane's API only), a comma-separated list of groups
(``socket,time``) patches those (``greenlane.monkey_patch(socket=True, time=True)``). With
``--preload`` the application is imported by the master, before any patching: modules that
copied a name (``from time import sleep``) keep the blocking original, so patch in the
application itself or do not preload.

Gunicorn settings and what they become:

* ``worker_connections``: ``max_connections`` (connections served at once; more wait in the
  listen backlog).
* ``keepalive``: the idle timeout of a kept-alive connection; ``0`` answers one request per
  connection.
* ``timeout``: the heartbeat. The worker's main green thread tells the master it is alive about
  once a second; a green thread that keeps the CPU (never yields) stops the heartbeat, and the
  master kills the worker after ``timeout`` seconds (``worker_abort`` hook, then a new worker),
  as with Gunicorn's other async workers. It does not bound the duration of a request that
  yields.
* ``graceful_timeout``: how long SIGTERM lets requests in flight finish.
* ``max_requests`` and ``max_requests_jitter``: after that many requests the worker stops
  accepting, answers the requests in flight with ``Connection: close`` and exits; the master
  starts a new one.
* ``limit_request_line`` (0: 8190, Gunicorn's cap), ``limit_request_fields``: the server's
  ``max_request_line`` and ``max_header_count``. ``limit_request_field_size`` (0: 8190) bounds
  each field line (``max_header_field_size``; a longer one gets 431, Gunicorn answers 400) and
  the whole header section to ``limit_request_fields * (limit_request_field_size + 2) + 2``
  bytes, the bound Gunicorn's parser implies.
* ``forwarded_allow_ips`` and ``secure_scheme_headers``: from a trusted peer the scheme headers
  decide ``wsgi.url_scheme``, as in Gunicorn. As in Gunicorn, ``REMOTE_ADDR`` stays the peer's
  address unless ``GREENLANE_PROXY_HEADERS=1`` (``raw_env`` or the environment): then
  ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``Forwarded`` from those peers set the
  client's address, scheme and host (see ``greenlane.wsgi._proxy``).
* ``certfile``, ``keyfile``, ``ca_certs``, ``cert_reqs``, ``ciphers`` and the ``ssl_context``
  hook: the TLS context is Gunicorn's own (``gunicorn.sock.ssl_context``), with ALPN limited
  to ``http/1.1``.
* ``accesslog`` and ``access_log_format``: Gunicorn's access log, with its format atoms;
  ``errorlog``/``loglevel``: the server's error lines and application tracebacks.
* Hooks: ``pre_request(worker, req)`` and ``post_request(worker, req, environ, resp)`` (the
  same ``req`` object for both, so a hook may leave attributes on it); ``post_worker_init``;
  ``worker_int`` (SIGINT/SIGQUIT); ``worker_abort`` (SIGABRT, the heartbeat timeout);
  ``worker_exit`` (called by Gunicorn when the worker ends). ``req`` has ``method``, ``uri``,
  ``path``, ``query``, ``fragment``, ``version``, ``scheme`` and ``headers`` (upper-case names,
  as Gunicorn's); ``resp`` has ``status``, ``status_code``, ``headers`` and ``sent``.
* ``proxy_protocol`` is refused at start (greenlane's server does not read PROXY headers);
  ``http_protocols`` other than ``h1`` are ignored with a warning (HTTP/1.1 only).

Signals (to the worker; the master turns its own TERM, INT, QUIT, HUP, TTIN, TTOU into these):
SIGTERM stops gracefully (no new connections, idle ones closed, requests in flight finish
within ``graceful_timeout``); SIGINT and SIGQUIT stop at once (after the ``worker_int`` hook);
SIGUSR1 reopens the log files; SIGABRT (the master's heartbeat timeout) calls ``worker_abort``
and exits. No handler runs blocking code in the green thread it interrupted: they hand the
work to the hub (``Server.stop`` and ``hub.call_threadsafe``). A worker whose master died
(its parent process changed) stops gracefully by itself.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import logging
import os
import signal
from typing import TYPE_CHECKING, Any, Optional

from greenlane import _originals as real
from greenlane.greenthread import spawn_n
from greenlane.timeout import Timeout

__all__ = ["MONKEY_PATCH_ENV", "PROXY_HEADERS_ENV", "Worker"]

MONKEY_PATCH_ENV = "GREENLANE_MONKEY_PATCH"
"""The setting (``raw_env`` or environment) that chooses the monkey patching: see the module
docstring."""

PROXY_HEADERS_ENV = "GREENLANE_PROXY_HEADERS"
"""The setting that makes trusted ``X-Forwarded-*`` headers set ``REMOTE_ADDR`` (default off)."""

# Gunicorn's own caps (gunicorn/http/message.py) for its "0 means unlimited" settings.
_GUNICORN_MAX_REQUEST_LINE = 8190
_GUNICORN_MAX_HEADERS = 32768
_GUNICORN_MAX_FIELD_SIZE = 8190

# The heartbeat is at least this frequent (Gunicorn's async workers also notify every second).
_HEARTBEAT = 1.0

# Where the request object handed to pre_request waits for post_request.
_REQUEST_KEY = "greenlane.gunicorn_request"

_TRUE = ("", "1", "true", "yes", "on", "all")
_FALSE = ("0", "false", "no", "off", "none")


def _gunicorn_base() -> Any:
    try:
        return importlib.import_module("gunicorn.workers.base")
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "gunicorn":
            raise  # Gunicorn is there but one of its own imports failed: show that
        raise ImportError("greenlane.gunicorn is a worker class for Gunicorn, which is not "
                          "installed: pip install gunicorn") from exc


if TYPE_CHECKING:
    class _GunicornWorker:
        """The part of ``gunicorn.workers.base.Worker`` this module relies on."""

        pid: Any
        ppid: int
        sockets: list[Any]
        timeout: float
        cfg: Any
        log: Any
        alive: bool
        max_requests: int
        wsgi: Any

        def __init__(self, age: int, ppid: int, sockets: list[Any], app: Any, timeout: float,
                     cfg: Any, log: Any) -> None: ...
        def notify(self) -> None: ...
        def init_process(self) -> None: ...
        def handle_usr1(self, sig: int, frame: Any) -> None: ...
        def handle_quit(self, sig: int, frame: Any) -> None: ...
else:
    _GunicornWorker = _gunicorn_base().Worker


def _setting(cfg: Any, name: str) -> Optional[str]:
    """A ``GREENLANE_*`` setting: Gunicorn's ``raw_env`` first, then the environment."""
    env = getattr(cfg, "env", None) or {}
    if name in env:
        return str(env[name])
    return os.environ.get(name)


def _patch_groups(text: Optional[str]) -> Optional[dict[str, bool]]:
    """Parse ``GREENLANE_MONKEY_PATCH``: the keyword arguments for ``monkey_patch()``, or None
    for no patching.

    Raises:
        ValueError: a word is neither a boolean nor a group ``monkey_patch()`` knows.
    """
    value = (text or "").strip().lower()
    if value in _TRUE:
        return {}
    if value in _FALSE:
        return None
    from greenlane.patcher import monkey_patch

    known = {name.lower(): name for name, p in inspect.signature(monkey_patch).parameters.items()
             if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "all"}
    groups: dict[str, bool] = {}
    for word in value.replace(" ", ",").split(","):
        if not word:
            continue
        if word not in known:
            raise ValueError(f"{MONKEY_PATCH_ENV}={text!r}: {word!r} is not 1/0 or one of "
                             f"{', '.join(sorted(known.values()))}")
        groups[known[word]] = True
    return groups


def _flag(cfg: Any, name: str) -> bool:
    text = _setting(cfg, name)
    value = (text or "0").strip().lower()
    if value in _TRUE and value:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={text!r}: expected 1/0, true/false, yes/no or on/off")


def _server_limits(cfg: Any) -> dict[str, int]:
    """Gunicorn's ``limit_request_*`` settings as ``Server`` keyword arguments."""
    line = int(cfg.limit_request_line)
    if line <= 0 or line > _GUNICORN_MAX_REQUEST_LINE:
        line = _GUNICORN_MAX_REQUEST_LINE
    fields = int(cfg.limit_request_fields)
    if fields <= 0 or fields > _GUNICORN_MAX_HEADERS:
        fields = _GUNICORN_MAX_HEADERS
    field_size = int(cfg.limit_request_field_size)
    if field_size <= 0:
        field_size = _GUNICORN_MAX_FIELD_SIZE
    # Each field line is at most field_size bytes plus CRLF; then the empty line.
    return {"max_request_line": line, "max_header_count": fields,
            "max_header_field_size": field_size,
            "max_header_bytes": fields * (field_size + 2) + 2}


def _proxy_protocol_on(cfg: Any) -> bool:
    value = getattr(cfg, "proxy_protocol", False)
    if isinstance(value, str):
        return value.lower() not in ("", "off", "false", "none")
    return bool(value)


class _Request:
    """The ``req`` that Gunicorn's hooks and access log receive, read from the environ.

    Gunicorn's workers pass their parser's request object; greenlane's server has its own
    parser, so this carries the same commonly used attributes. Hooks may set attributes on it.
    """

    def __init__(self, environ: dict[str, Any]) -> None:
        self.method: str = environ["REQUEST_METHOD"]
        path: str = environ.get("RAW_PATH_INFO", environ.get("PATH_INFO", ""))
        query: str = environ.get("QUERY_STRING", "")
        self.path = path
        self.query = query
        self.fragment = ""
        self.uri = f"{path}?{query}" if query else path
        protocol: str = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        major, _, minor = protocol[5:].partition(".")
        self.version = (int(major or 1), int(minor or 0))
        self.scheme: str = environ.get("wsgi.url_scheme", "http")
        headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-"), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                headers.append((key.replace("_", "-"), value))
        self.headers: list[tuple[str, str]] = headers

    def __repr__(self) -> str:
        return f"<greenlane.gunicorn request {self.method} {self.uri}>"


class _Response:
    """The ``resp`` that Gunicorn's ``post_request`` hook and access log receive."""

    __slots__ = ("headers", "sent", "status", "status_code")

    def __init__(self, status: str, headers: list[tuple[str, str]], sent: int) -> None:
        self.status = status
        code = status.split(" ", 1)[0]
        self.status_code: Optional[int] = int(code) if code.isdigit() else None
        self.headers = headers
        self.sent = sent

    @property
    def response_length(self) -> int:
        """Gunicorn's name for the body bytes sent."""
        return self.sent


class Worker(_GunicornWorker):
    """Gunicorn's worker class for greenlane: ``gunicorn -k greenlane.gunicorn.Worker``.

    A subclass of Gunicorn's ``base.Worker`` (not its ``AsyncWorker``): requests are parsed and
    answered by greenlane's server, not Gunicorn's parser, so Gunicorn's HTTP/2, PROXY protocol
    and ``wsgi.early_hints`` are not available; the settings it honours are in the module
    docstring. Not in eventlet, whose Gunicorn worker lived in Gunicorn (removed in 26.0).

    Attributes:
        server: the :class:`greenlane.wsgi.Server` once the worker runs (None before).
    """

    server: Any = None

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """Refuse settings this worker cannot honour (called by the master at start).

        Raises:
            RuntimeError: Gunicorn prints it as ``Error: ...`` and exits with status 1.
        """
        if _proxy_protocol_on(cfg):
            raise RuntimeError("greenlane.gunicorn.Worker does not read the PROXY protocol: "
                               "turn proxy_protocol off and let the proxy send "
                               "X-Forwarded-For instead (see forwarded_allow_ips)")
        protocols = getattr(cfg, "http_protocols", None) or ["h1"]
        if any(p != "h1" for p in protocols):
            log.warning("greenlane.gunicorn.Worker serves HTTP/1.1 only; http_protocols "
                        f"{','.join(protocols)} is ignored")
        try:
            _patch_groups(_setting(cfg, MONKEY_PATCH_ENV))
            _flag(cfg, PROXY_HEADERS_ENV)
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None

    def init_process(self) -> None:
        """After the fork: monkey patch as configured, then Gunicorn's set-up and ``run()``."""
        # Until Gunicorn installs the worker's handlers (after patching and its set-up), the
        # master's handlers inherited through fork would swallow a SIGTERM sent now (a HUP
        # while this worker boots): the worker would serve on as if never asked to stop.
        real.signal(signal.SIGTERM, self.handle_exit)
        real.signal(signal.SIGINT, self.handle_quit)
        real.signal(signal.SIGQUIT, self.handle_quit)
        groups = _patch_groups(_setting(self.cfg, MONKEY_PATCH_ENV))
        if groups is not None:
            from greenlane.patcher import monkey_patch

            monkey_patch(**groups)
        super().init_process()

    # -- the heartbeat ------------------------------------------------------------------------

    def notify(self) -> None:
        """Tell the master the worker is alive; stop gracefully if the master is gone."""
        super().notify()
        if self.alive and self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            self._stop(self.cfg.graceful_timeout)

    # -- signals ------------------------------------------------------------------------------
    # Python runs a handler in whichever green thread (or the hub) the signal interrupted: the
    # handlers below only set flags and hand work to the hub.

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: graceful stop within ``graceful_timeout``."""
        self._stop(self.cfg.graceful_timeout)

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGINT, SIGQUIT: the ``worker_int`` hook, then stop at once."""
        hub = self._running_hub()
        if hub is None:
            # Still booting (importing the application, say): Gunicorn's own quick exit.
            super().handle_quit(sig, frame)
            return
        self.alive = False
        hub.call_threadsafe(spawn_n, self._quit)

    def handle_usr1(self, sig: int, frame: Any) -> None:
        """SIGUSR1: reopen the log files (in a green thread of its own: it takes locks)."""
        hub = self._running_hub()
        if hub is None:
            super().handle_usr1(sig, frame)
            return
        hub.call_threadsafe(spawn_n, self._reopen_logs)

    def _running_hub(self) -> Any:
        server = self.server
        return server.hub if server is not None else None

    def _stop(self, timeout: Optional[float]) -> None:
        self.alive = False
        server = self.server
        if server is not None:
            server.stop(timeout)  # safe here: it only queues a call for the hub

    def _quit(self) -> None:
        try:
            self.cfg.worker_int(self)
        except Exception:
            self.log.exception("Exception in worker_int hook")
        self._stop(0)

    def _reopen_logs(self) -> None:
        super().handle_usr1(0, None)

    def _on_max_requests(self) -> None:
        self.log.info("Autorestarting worker after current request.")
        self._stop(self.cfg.graceful_timeout)

    # -- serving ------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until stopped, notifying the master; called by Gunicorn's ``init_process``."""
        if not self.alive:  # SIGTERM while booting
            return
        server = self._make_server()
        server.start()
        self.server = server  # from now on the signal handlers reach the hub
        if not self.alive:
            server.stop(self.cfg.graceful_timeout)
        interval = min(_HEARTBEAT, self.timeout) if self.timeout > 0 else _HEARTBEAT
        stopping = False
        while True:
            self.notify()
            if not self.alive and not stopping:
                # Turned off outside the hub (Gunicorn's --reload runs in an OS thread):
                # seen here, within a heartbeat.
                stopping = True
                server.stop(self.cfg.graceful_timeout)
            with Timeout(interval, False):
                graceful = server.wait()
                break
        if not graceful and self.cfg.graceful_timeout:
            self.log.warning("Worker graceful timeout (pid:%s)", self.pid)

    def _make_server(self) -> Any:
        from greenlane.greenio import GreenSocket
        from greenlane.wsgi import Server

        cfg = self.cfg
        listeners: list[Any] = []
        context = self._tls_context() if cfg.is_ssl else None
        for gsock in self.sockets:
            sock = gsock.sock  # Gunicorn's listener objects wrap a stdlib socket
            if context is not None:
                from greenlane import wrap_ssl

                listeners.append(wrap_ssl(sock, server_side=True, context=context))
            else:
                listeners.append(GreenSocket(sock))
        keepalive = cfg.keepalive > 0
        options: dict[str, Any] = dict(_server_limits(cfg))
        if keepalive:
            options["idle_timeout"] = float(cfg.keepalive)
        before, after = self._request_hooks()
        debug_log = self._debug_logging()
        return Server(
            self.wsgi, listeners,
            max_connections=cfg.worker_connections,
            keepalive=keepalive,
            environ={"wsgi.multiprocess": cfg.workers > 1},
            log=self.log,
            # The server's own info lines (startup, shutdown) only at debug level: Gunicorn's
            # master already logs where it listens and which workers it boots.
            log_output=debug_log,
            access_log=False,  # through Gunicorn's logger, in the after_request hook
            log_x_forwarded_for=False,
            proxy_headers=_flag(cfg, PROXY_HEADERS_ENV),
            forwarded_allow_ips=list(cfg.forwarded_allow_ips),
            secure_scheme_headers=cfg.secure_scheme_headers or None,
            before_request=before,
            after_request=after,
            max_requests=self.max_requests if cfg.max_requests > 0 else None,
            on_max_requests=self._on_max_requests,
            shutdown_timeout=cfg.graceful_timeout,
            warn_if_root=False,  # Gunicorn's user/group settings are the way to drop root
            # The master keeps the listening sockets open for the other workers (and this
            # one's replacement): what waits in their queue is theirs to serve.
            accept_backlog_on_stop=False,
            **options,
        )

    def _debug_logging(self) -> bool:
        error_log = getattr(self.log, "error_log", None)  # a custom logger_class may lack it
        return bool(error_log is not None and error_log.isEnabledFor(logging.DEBUG))

    def _tls_context(self) -> Any:
        context = importlib.import_module("gunicorn.sock").ssl_context(self.cfg)
        # greenlane speaks HTTP/1.1 only, whatever ALPN Gunicorn would offer.
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _request_hooks(self) -> tuple[Any, Any]:
        """``before_request``/``after_request`` for the server: None when nothing needs them,
        so that a default configuration adds no work per request."""
        cfg = self.cfg
        settings = cfg.settings
        pre = cfg.pre_request
        # Gunicorn's default pre_request only writes a debug line.
        if pre is settings["pre_request"].default and not self._debug_logging():
            pre = None
        post = cfg.post_request
        if post is settings["post_request"].default:
            post = None
        log = self.log
        enabled = getattr(log, "access_log_enabled", None)  # Gunicorn 25 and later
        access = bool(cfg.accesslog) if enabled is None else bool(enabled)
        # A logger class of its own (Gunicorn's statsd logger, say) counts requests in
        # access(), whether or not the access log is written: Gunicorn always calls it.
        base_logger = getattr(importlib.import_module("gunicorn.glogging"), "Logger", None)
        if getattr(type(log), "access", None) is not getattr(base_logger, "access", None):
            access = True
        worker = self

        before = None
        if pre is not None:
            def before(environ: dict[str, Any]) -> None:
                req = environ[_REQUEST_KEY] = _Request(environ)
                pre(worker, req)

        after = None
        if post is not None or access:
            def after(environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
                      sent: int, seconds: float) -> None:
                req = environ.get(_REQUEST_KEY)
                if req is None:
                    req = _Request(environ)
                resp = _Response(status, headers, sent)
                if access:
                    environ.setdefault("RAW_URI", req.uri)  # Gunicorn's %(r)s reads it
                    log.access(resp, req, environ, datetime.timedelta(seconds=seconds))
                if post is not None:
                    try:
                        post(worker, req, environ, resp)
                    except Exception:
                        log.exception("Exception in post_request hook")

        return before, after

