"""The command line: ``greenlane serve MODULE:APP`` (also ``python -m greenlane serve ...``).

It builds the same :class:`greenlane.wsgi.Server` that ``wsgi.server()`` builds, so serving
from the command line costs nothing per request. In order:

1. parse the options (command-line flags win over ``GREENLANE_*`` environment variables);
2. monkey patch (unless ``--no-monkey-patch``), before the application is imported;
3. load the TLS certificate and key, bind every ``--bind`` address;
4. drop privileges (``--user``/``--group``) once the sockets are bound, so that a
   privileged port can be served by an unprivileged process;
5. import the application (``module:name``, ``module:obj.attr``, or a factory call with
   literal arguments such as ``'hello:create_app("prod", debug=False)'``, parsed with
   ``ast``, never ``eval``);
6. serve until SIGTERM or Ctrl-C (graceful; a second Ctrl-C cuts requests in flight off).

Bad input (an unknown module, a missing attribute, a factory that raises, a port in use, bad
TLS files, a malformed ``--bind``, an unknown user) prints one line to stderr and exits with
status 2, without a traceback (``--log-level debug`` adds it). ``--reload`` runs the server
in a child process and restarts it when a Python file changes (with ``watchfiles`` if it is
installed, else by polling); it is for development only.

There is no process manager here: for several processes use Gunicorn with greenlane's worker
(``gunicorn -k greenlane.gunicorn.Worker``), for several machines a load balancer. Not in
eventlet, which has no command line.
"""

from __future__ import annotations

import argparse
import ast
import errno
import importlib
import inspect
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from types import FrameType
from typing import Any, Callable, Iterable, Optional, TextIO

__all__ = ["main"]

PROG = "greenlane"
EXIT_USAGE = 2
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_PORT = 8000
DEFAULT_BACKLOG = 2048  # Gunicorn's default; the kernel caps it at net.core.somaxconn
_CHILD_MARKER = "_GREENLANE_RELOADER_CHILD"
_RELOAD_POLL_SECONDS = 1.0
_LOGGER = "greenlane"

_EPILOG = """\
environment variables (for containers; a command-line flag wins over its variable):
  GREENLANE_APP, GREENLANE_BIND (several: separated by spaces or commas),
  GREENLANE_BACKLOG, GREENLANE_TLS_CERT, GREENLANE_TLS_KEY, GREENLANE_MAX_CONNECTIONS,
  GREENLANE_MAX_REQUESTS, GREENLANE_READ_HEADER_TIMEOUT, GREENLANE_IDLE_TIMEOUT,
  GREENLANE_BODY_TIMEOUT, GREENLANE_WRITE_TIMEOUT, GREENLANE_SHUTDOWN_TIMEOUT,
  GREENLANE_MAX_REQUEST_LINE, GREENLANE_MAX_HEADER_BYTES, GREENLANE_MAX_HEADER_COUNT,
  GREENLANE_KEEPALIVE, GREENLANE_ACCESS_LOG, GREENLANE_ACCESS_LOG_FORMAT,
  GREENLANE_LOG_LEVEL, GREENLANE_DEBUG, GREENLANE_PROXY_HEADERS,
  GREENLANE_FORWARDED_ALLOW_IPS, GREENLANE_USER, GREENLANE_GROUP, GREENLANE_RELOAD,
  GREENLANE_RELOAD_DIRS, GREENLANE_MONKEY_PATCH, GREENLANE_APP_DIR.
  Booleans take 1/0, true/false, yes/no, on/off.

one process, one core: greenlane serves thousands of connections in one process, on one
core. greenlane has no process manager of its own. To use several cores, run it under
Gunicorn with greenlane's worker:
    gunicorn -k greenlane.gunicorn.Worker -w 4 hello:app
and for several machines, put a load balancer in front of them.

behind a reverse proxy (nginx): bind 127.0.0.1 or a Unix socket, not 0.0.0.0, and use
--proxy-headers so that REMOTE_ADDR and the scheme are the client's. Never run the
application as root: bind ports 80/443 as root with --user to drop privileges, or let the
proxy own those ports.

examples:
  greenlane serve hello:app
  greenlane serve 'hello:create_app()' --bind 0.0.0.0:8080
  greenlane serve hello:app --bind unix:/run/hello.sock --proxy-headers
  sudo greenlane serve hello:app --bind 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem \\
      --user www-data
"""


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


# ====================================================================== option parsing

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env(name: str, convert: Callable[[str], Any], default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return convert(raw)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise UsageError(f"environment variable {name}={raw!r}: {exc}") from None


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> Optional[float]:
    """A timeout: a positive number of seconds, or ``none``/``off`` for no timeout."""
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds (or 'none'), "
                                         f"not {text!r}")
    return value


def _nonnegative_seconds(text: str) -> Optional[float]:
    if text.strip() in ("0", "0.0"):
        return 0.0
    return _seconds(text)


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), not the whole usage."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _build_parser() -> _Parser:
    from greenlane import __version__
    from greenlane.wsgi import DEFAULT_FORWARDED_ALLOW_IPS, DEFAULT_LOG_FORMAT, Server

    defaults = inspect.signature(Server).parameters

    def default(name: str) -> Any:
        return defaults[name].default

    parser = _Parser(
        prog=PROG,
        description="greenlane: green threads with eventlet's API, and a fast, strict WSGI "
                    "server.",
        epilog="'greenlane serve --help' for its options.\n"
               "Several processes: gunicorn -k greenlane.gunicorn.Worker; several machines: a "
               "load balancer.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve a WSGI application",
        description="Serve a WSGI application (Flask, Django, ...) with greenlane's HTTP/1.1\n"
                    "server: one green thread per connection, keep-alive, strict parsing,\n"
                    "timeouts, graceful stop on SIGTERM/Ctrl-C (a second Ctrl-C cuts requests\n"
                    "in flight off).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)

    serve.add_argument(
        "app", nargs="?", default=_env("GREENLANE_APP", str, None), metavar="MODULE:APP",
        help="the application: 'module:name', 'module:obj.attr', or an app factory called "
             "with literal arguments, 'hello:create_app()' (quote it for the shell); "
             "without ':NAME', 'app'")
    where = serve.add_argument_group("where to listen")
    where.add_argument(
        "-b", "--bind", action="append", metavar="ADDRESS",
        help=f"HOST:PORT, HOST (port {DEFAULT_PORT}), PORT, [IPV6]:PORT or unix:PATH; "
             f"repeat for several (default {DEFAULT_BIND}). 0.0.0.0 and [::] listen on every "
             "interface: behind a reverse proxy, bind 127.0.0.1 or a Unix socket instead")
    where.add_argument("--backlog", type=_positive_int,
                       default=_env("GREENLANE_BACKLOG", _positive_int, DEFAULT_BACKLOG),
                       help="connections the kernel queues before they are accepted "
                            "(default %(default)s)")
    where.add_argument("--tls-cert", metavar="FILE", default=_env("GREENLANE_TLS_CERT", str, None),
                       help="serve HTTPS with this PEM certificate (chain)")
    where.add_argument("--tls-key", metavar="FILE", default=_env("GREENLANE_TLS_KEY", str, None),
                       help="its private key (default: in the certificate file)")

    limits = serve.add_argument_group("limits and timeouts (seconds; 'none' turns one off)")
    limits.add_argument("--max-connections", type=_positive_int, metavar="N",
                        default=_env("GREENLANE_MAX_CONNECTIONS", _positive_int,
                                     default("max_connections")),
                        help="connections served at once; more wait in the backlog "
                             "(default %(default)s)")
    limits.add_argument("--max-requests", type=_positive_int, metavar="N",
                        default=_env("GREENLANE_MAX_REQUESTS", _positive_int, None),
                        help="stop gracefully after this many requests (default: no limit)")
    for flag, name, what in (
            ("--read-header-timeout", "read_header_timeout", "to receive a request head"),
            ("--idle-timeout", "idle_timeout", "a keep-alive connection may stay idle"),
            ("--body-timeout", "body_timeout", "without request-body bytes while the "
                                               "application reads"),
            ("--write-timeout", "write_timeout", "a response write may make no progress")):
        limits.add_argument(flag, type=_seconds, metavar="S",
                            default=_env(f"GREENLANE_{name.upper()}", _seconds, default(name)),
                            help=f"{what} (default %(default)s)")
    limits.add_argument("--shutdown-timeout", type=_nonnegative_seconds, metavar="S",
                        default=_env("GREENLANE_SHUTDOWN_TIMEOUT", _nonnegative_seconds,
                                     default("shutdown_timeout")),
                        help="how long a graceful stop lets requests finish "
                             "(default %(default)s)")
    for flag, name in (("--max-request-line", "max_request_line"),
                       ("--max-header-bytes", "max_header_bytes"),
                       ("--max-header-count", "max_header_count")):
        limits.add_argument(flag, type=_positive_int, metavar="N",
                            default=_env(f"GREENLANE_{name.upper()}", _positive_int,
                                         default(name)),
                            help="(default %(default)s)")
    limits.add_argument("--keepalive", action=argparse.BooleanOptionalAction,
                        default=_env("GREENLANE_KEEPALIVE", _bool, True),
                        help="reuse connections for several requests (default: yes)")

    logs = serve.add_argument_group("logging")
    logs.add_argument("--access-log", metavar="off|-|FILE",
                      default=_env("GREENLANE_ACCESS_LOG", str, "off"),
                      help="one line per request: 'off' (default), '-' for standard output, "
                           "or a file to append to")
    logs.add_argument("--access-log-format", metavar="FORMAT",
                      default=_env("GREENLANE_ACCESS_LOG_FORMAT", str, DEFAULT_LOG_FORMAT),
                      help="eventlet's log_format fields: %%(client_ip)s %%(client_port)s "
                           "%%(date_time)s %%(request_line)s %%(status_code)s "
                           "%%(body_length)s %%(wall_seconds)s")
    logs.add_argument("--log-level", type=str.lower,
                      choices=("debug", "info", "warning", "error", "critical"),
                      default=_env("GREENLANE_LOG_LEVEL", str.lower, "info"),
                      help="the server's own messages, on standard error (default info)")
    logs.add_argument("--debug", action=argparse.BooleanOptionalAction,
                      default=_env("GREENLANE_DEBUG", _bool, False),
                      help="tracebacks in 500 responses and debug lines: development only")

    proxy = serve.add_argument_group("behind a reverse proxy")
    proxy.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction,
                       default=_env("GREENLANE_PROXY_HEADERS", _bool, False),
                       help="take REMOTE_ADDR, the scheme and the host from X-Forwarded-For/"
                            "-Proto/-Host and Forwarded, from trusted peers only")
    proxy.add_argument("--forwarded-allow-ips", metavar="LIST",
                       default=_env("GREENLANE_FORWARDED_ALLOW_IPS", str,
                                    DEFAULT_FORWARDED_ALLOW_IPS),
                       help="the trusted proxies: addresses and networks, comma-separated "
                            "(default %(default)s); '*' trusts every peer, which lets any "
                            "client claim any address")

    process = serve.add_argument_group("process")
    process.add_argument("--user", default=_env("GREENLANE_USER", str, None),
                         help="after binding, run as this user (name or uid); needs root")
    process.add_argument("--group", default=_env("GREENLANE_GROUP", str, None),
                         help="and this group (default: the user's primary group)")
    process.add_argument("--monkey-patch", action=argparse.BooleanOptionalAction,
                         default=_env("GREENLANE_MONKEY_PATCH", _bool, True),
                         help="patch the standard library (sockets, time, threads, ...) "
                              "before importing the application, so its blocking calls "
                              "only block their green thread (default: yes)")
    process.add_argument("--app-dir", metavar="DIR",
                         default=_env("GREENLANE_APP_DIR", str, "."),
                         help="import the application from this directory (default: the "
                              "current one)")
    process.add_argument("--reload", action=argparse.BooleanOptionalAction,
                         default=_env("GREENLANE_RELOAD", _bool, False),
                         help="restart when a .py file changes (development only; uses "
                              "watchfiles if installed: pip install 'greenlane[reload]')")
    process.add_argument("--reload-dir", action="append", metavar="DIR", dest="reload_dirs",
                         help="a directory to watch (repeatable; default --app-dir)")
    return parser


# ====================================================================== addresses

class BindAddress:
    """One ``--bind`` value, parsed: a TCP (host, port) or a Unix socket path."""

    __slots__ = ("family", "host", "path", "port", "text")

    def __init__(self, text: str, family: int, host: str = "", port: int = 0,
                 path: str = "") -> None:
        self.text = text
        self.family = family
        self.host = host
        self.port = port
        self.path = path

    def __repr__(self) -> str:
        return f"BindAddress({self.text!r})"


def parse_bind(text: str) -> BindAddress:
    """``127.0.0.1:8000``, ``0.0.0.0``, ``8000``, ``[::]:80``, ``[::1]``, ``localhost:80``,
    ``unix:/run/app.sock``.

    Raises:
        UsageError: anything else.
    """
    value = text.strip()
    if value.startswith("unix:"):
        path = value[5:]
        if not path:
            raise UsageError(f"bad --bind {text!r}: 'unix:' needs a path (unix:/run/app.sock)")
        if not hasattr(socket, "AF_UNIX"):
            raise UsageError("Unix sockets are not available on this platform")
        return BindAddress(text, socket.AF_UNIX, path=path)
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise UsageError(f"bad --bind {text!r}: missing ']' after the IPv6 address")
        host, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            raise UsageError(f"bad --bind {text!r}: expected [IPV6]:PORT")
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
        family = socket.AF_INET6
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except OSError:
            raise UsageError(f"bad --bind {text!r}: {host!r} is not an IPv6 address") from None
    elif value.count(":") > 1:
        raise UsageError(f"bad --bind {text!r}: write IPv6 addresses in brackets, "
                         f"[{value}] or [::1]:8000")
    elif value.isdigit():
        host, port_text, family = "127.0.0.1", value, socket.AF_INET
    else:
        host, sep, port_text = value.partition(":")
        if not sep:
            port_text = str(DEFAULT_PORT)
        if not host:
            raise UsageError(f"bad --bind {text!r}: no host (127.0.0.1:PORT, or 0.0.0.0:PORT "
                             "for every interface)")
        family = socket.AF_INET
    if not (port_text.isdigit() and port_text.isascii() and 0 <= int(port_text) <= 65535):
        raise UsageError(f"bad --bind {text!r}: the port must be a number from 0 to 65535")
    return BindAddress(text, family, host=host, port=int(port_text))


def _bind(address: BindAddress, backlog: int) -> Any:
    """A listening green socket for ``address``.

    Raises:
        UsageError: the address cannot be bound (in use, not allowed, unknown host).
    """
    from greenlane.greenio import GreenSocket

    family = address.family
    if family == getattr(socket, "AF_UNIX", None):
        _remove_stale_unix_socket(address)
        sockaddr: Any = address.path
    else:
        try:
            infos = socket.getaddrinfo(address.host, address.port, family if family ==
                                       socket.AF_INET6 else socket.AF_UNSPEC,
                                       socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise UsageError(f"cannot bind {address.text}: unknown host {address.host!r} "
                             f"({exc.strerror})") from None
        family, _, _, _, sockaddr = infos[0]
    sock = GreenSocket(family, socket.SOCK_STREAM)
    try:
        if family != getattr(socket, "AF_UNIX", None):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # As nginx: [::] is IPv6 only, so that 0.0.0.0 can be bound beside it.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot bind {address.text}: {_bind_reason(exc)}") from None
    return sock


def _bind_reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (another server is listening there)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need root: bind as root with --user, " \
               "or use a port above 1023 behind a reverse proxy)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine"
    return exc.strerror or str(exc)


def _remove_stale_unix_socket(address: BindAddress) -> None:
    """Remove a socket file left by a server that is gone; refuse one still in use."""
    import stat

    path = address.path
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISSOCK(mode):
        raise UsageError(f"cannot bind {address.text}: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: stale
        return
    finally:
        probe.close()
    raise UsageError(f"cannot bind {address.text}: address already in use (a server is "
                     "listening on that socket)")


def _tls_context(cert: str, key: Optional[str]) -> Any:
    import ssl

    for label, path in (("certificate", cert), ("key", key)):
        if path is None:
            continue
        if not os.path.exists(path):
            raise UsageError(f"TLS {label} file {path!r}: no such file")
        if not os.path.isfile(path):
            raise UsageError(f"TLS {label} file {path!r}: not a file")
        if not os.access(path, os.R_OK):
            raise UsageError(f"TLS {label} file {path!r}: permission denied")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        detail = exc.reason or str(exc)
        if exc.reason == "KEY_VALUES_MISMATCH":
            detail = "the key does not belong to the certificate"
        elif key is None:
            detail += " (no private key in the certificate file: give --tls-key)"
        raise UsageError(f"cannot load the TLS certificate {cert!r}"
                         f"{f' and key {key!r}' if key else ''}: {detail}") from None
    except OSError as exc:
        raise UsageError(f"cannot read the TLS files: {exc.strerror or exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


# ====================================================================== the application

def _summary(exc: BaseException) -> str:
    """``ValueError: bad thing``: the exception's first line, for a one-line message."""
    if isinstance(exc, SyntaxError):
        where = f" ({exc.filename}, line {exc.lineno})" if exc.filename else ""
        return f"SyntaxError: {exc.msg}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _attribute_path(node: ast.expr, spec: str) -> list[str]:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise UsageError(f"bad application {spec!r}: after ':' expected a name, a dotted "
                         "name, or a call with literal arguments ('create_app()')")
    names.append(node.id)
    return names[::-1]


def load_app(spec: str) -> Callable[..., Any]:
    """Import the WSGI application named by ``spec`` (see ``greenlane serve --help``).

    Raises:
        UsageError: the module or attribute does not exist, the import or the factory call
            failed, or the result is not callable.
    """
    module_name, _, expr = spec.partition(":")
    module_name = module_name.strip()
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise UsageError(f"bad application {spec!r}: expected MODULE:APP, such as hello:app")
    expr = expr.strip() or "app"
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise UsageError(f"bad application {spec!r}: {expr!r} is not a name or a call") from None
    call: Optional[ast.Call] = None
    if isinstance(node, ast.Call):
        call = node
        node = node.func
    path = _attribute_path(node, spec)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if call is not None:
        try:
            for arg in call.args:
                if isinstance(arg, ast.Starred):
                    raise ValueError("*args")
                args.append(ast.literal_eval(arg))
            for keyword in call.keywords:
                if keyword.arg is None:
                    raise ValueError("**kwargs")
                kwargs[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise UsageError(f"bad application {spec!r}: factory arguments must be literals "
                             "(strings, numbers, True/False/None, lists, dicts)") from None
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise UsageError(f"cannot import {module_name!r}: no module named {missing!r} "
                             f"(is it on the path? see --app-dir)") from exc
        raise UsageError(f"importing {module_name!r} failed: {_summary(exc)}") from exc
    except Exception as exc:  # any failure of the application's import is reported
        raise UsageError(f"importing {module_name!r} failed: {_summary(exc)}") from exc
    for depth, name in enumerate(path):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            owner = ".".join([module_name, *path[:depth]])
            raise UsageError(f"{owner!r} has no attribute {name!r}") from None
    target = f"{module_name}:{'.'.join(path)}"
    if call is not None:
        if not callable(obj):
            raise UsageError(f"{target} is not callable, so {spec!r} cannot call it")
        try:
            obj = obj(*args, **kwargs)
        except Exception as exc:  # the factory's failure is reported
            raise UsageError(f"{spec} raised {_summary(exc)}") from exc
        target = spec
    if not callable(obj):
        raise UsageError(f"{target} is not a WSGI application: a {type(obj).__name__} is "
                         "not callable")
    if call is None:
        _check_not_a_factory(obj, target)
    return obj  # type: ignore[no-any-return]


def _check_not_a_factory(obj: Any, target: str) -> None:
    # 'hello:create_app' (no parentheses) names the factory, not the app: every request
    # would then fail with a TypeError. Catch it now when the signature says so.
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return
    try:
        signature.bind({}, None)
    except TypeError:
        raise UsageError(f"{target} cannot be called as a WSGI application (environ, "
                         f"start_response); if it is an app factory, call it: "
                         f"'{target}()'") from None


# ====================================================================== privileges

def _resolve_user(user: Optional[str], group: Optional[str]) -> Optional[tuple[int, int, str]]:
    """(uid, gid, user name) for ``--user``/``--group``; None without ``--user``."""
    if user is None:
        if group is not None:
            raise UsageError("--group needs --user")
        return None
    try:
        import grp
        import pwd
    except ImportError:
        raise UsageError("--user is not supported on this platform") from None
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise UsageError(f"--user {user!r}: no such user") from None
    gid = entry.pw_gid
    if group is not None:
        try:
            gid = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(
                group).gr_gid
        except KeyError:
            raise UsageError(f"--group {group!r}: no such group") from None
    return entry.pw_uid, gid, entry.pw_name


def _drop_privileges(uid: int, gid: int, name: str) -> None:
    if os.geteuid() != 0:
        if os.geteuid() == uid and os.getegid() == gid:
            return
        raise UsageError(f"--user {name}: changing user needs root (running as uid "
                         f"{os.geteuid()})")
    try:
        os.initgroups(name, gid)
    except OSError:
        os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    try:
        os.setuid(0)
    except OSError:
        return
    raise RuntimeError("dropping privileges failed: the process could become root again")


# ====================================================================== logging

class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _configure_logging(level: str) -> logging.Logger:
    logger = logging.getLogger(_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


class _LineWriter:
    """An access-log destination that writes each line through at once."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


# ====================================================================== serve

def _serve(args: argparse.Namespace) -> int:
    if args.app is None:
        raise UsageError("no application given: greenlane serve MODULE:APP (or set "
                         "GREENLANE_APP)")
    log = _configure_logging(args.log_level)
    binds = [parse_bind(text) for text in args.bind] if args.bind else (
        [parse_bind(text) for text in _env("GREENLANE_BIND", _words, [])] or
        [parse_bind(DEFAULT_BIND)])
    account = _resolve_user(args.user, args.group)
    if args.access_log not in ("off", "-") and not args.access_log:
        raise UsageError("--access-log needs 'off', '-' or a file name")
    if args.tls_key is not None and args.tls_cert is None:
        raise UsageError("--tls-key needs --tls-cert")

    if args.monkey_patch:
        import greenlane

        greenlane.monkey_patch()
    from greenlane import wrap_ssl
    from greenlane.wsgi import Server

    context = _tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    listeners: list[Any] = []
    unix_paths: list[str] = []
    access: Any = False
    try:
        for address in binds:
            sock = _bind(address, args.backlog)
            listeners.append(sock)
            if address.path:
                unix_paths.append(address.path)
        # Opened before dropping privileges, as the sockets are: /var/log may be root's.
        if args.access_log == "-":
            access = _LineWriter(sys.stdout)
        elif args.access_log != "off":
            try:
                access = _LineWriter(open(args.access_log, "a", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"--access-log {args.access_log!r}: "
                                 f"{exc.strerror or exc}") from None
        if account is not None:
            uid, gid, name = account
            for path in unix_paths:
                os.chown(path, uid, gid)  # the application's user may remove it at exit
            _drop_privileges(uid, gid, name)
        elif hasattr(os, "geteuid") and os.geteuid() == 0:
            log.warning("greenlane serve is running as root without --user: the application "
                        "runs as root too. Add --user (e.g. --user nobody) to drop privileges "
                        "once the sockets are bound, or run it as an unprivileged user behind "
                        "a reverse proxy")
        app_dir = os.path.abspath(args.app_dir)
        if app_dir not in sys.path:
            sys.path.insert(0, app_dir)
        app = load_app(args.app)
        if context is not None:
            listeners = [wrap_ssl(sock, server_side=True, context=context)
                         for sock in listeners]
        try:
            srv = Server(
                app, listeners,
                max_connections=args.max_connections,
                read_header_timeout=args.read_header_timeout,
                idle_timeout=args.idle_timeout,
                body_timeout=args.body_timeout,
                write_timeout=args.write_timeout,
                keepalive=args.keepalive,
                max_request_line=args.max_request_line,
                max_header_bytes=args.max_header_bytes,
                max_header_count=args.max_header_count,
                debug=args.debug,
                log=logging.getLogger("greenlane.wsgi"),
                log_output=True,
                access_log=access,
                log_format=args.access_log_format,
                # REMOTE_ADDR already is the client when proxy headers are trusted.
                log_x_forwarded_for=not args.proxy_headers,
                shutdown_timeout=args.shutdown_timeout,
                proxy_headers=args.proxy_headers,
                forwarded_allow_ips=args.forwarded_allow_ips,
                max_requests=args.max_requests,
                warn_if_root=False,
            )
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
        srv.serve_forever(stop_signals=True)
        return 0
    finally:
        for sock in listeners:
            try:
                sock.close()
            except OSError:
                pass
        for path in unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        if isinstance(access, _LineWriter) and args.access_log not in ("-", "off"):
            access._stream.close()


# ====================================================================== --reload

class _Watcher:
    """Reports changed ``.py`` files under some directories: watchfiles if installed, else
    a poll of modification times every second."""

    _SKIP = {"__pycache__", "node_modules", "site-packages", "venv"}

    def __init__(self, dirs: list[str], log: logging.Logger) -> None:
        self.dirs = [os.path.abspath(d) for d in dirs]
        self.changes: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        try:
            watchfiles = importlib.import_module("watchfiles")  # the optional extra
        except ImportError:
            log.warning("--reload: watchfiles is not installed (pip install "
                        "'greenlane[reload]'); polling .py files every "
                        f"{_RELOAD_POLL_SECONDS:g} s instead")
            target: Callable[[], None] = self._poll
        else:
            self._watchfiles = watchfiles
            target = self._watch
        threading.Thread(target=target, name="greenlane-reload", daemon=True).start()

    def _files(self) -> Iterable[str]:
        for top in self.dirs:
            for root, dirnames, filenames in os.walk(top):
                dirnames[:] = [d for d in dirnames
                               if not d.startswith(".") and d not in self._SKIP]
                for name in filenames:
                    if name.endswith(".py"):
                        yield os.path.join(root, name)

    def _snapshot(self) -> dict[str, float]:
        stamps = {}
        for path in self._files():
            try:
                stamps[path] = os.stat(path).st_mtime
            except OSError:
                pass
        return stamps

    def _poll(self) -> None:
        before = self._snapshot()
        while not self._stop.wait(_RELOAD_POLL_SECONDS):
            now = self._snapshot()
            if now != before:
                changed = sorted(set(now.items()) ^ set(before.items()))
                self.changes.put(changed[0][0] if changed else "?")
                before = now

    def _watch(self) -> None:
        watch = self._watchfiles.watch
        for changes in watch(*self.dirs, watch_filter=self._watchfiles.PythonFilter(),
                             stop_event=self._stop):
            for _, path in changes:
                self.changes.put(path)
                break

    def wait(self, timeout: float) -> Optional[str]:
        """A changed file, or None after ``timeout`` seconds."""
        try:
            path = self.changes.get(timeout=timeout)
        except queue.Empty:
            return None
        while True:  # one restart for a burst of changes (an editor saving several files)
            try:
                self.changes.get(timeout=0.1)
            except queue.Empty:
                return path

    def stop(self) -> None:
        self._stop.set()


def _reload(args: argparse.Namespace, argv: list[str]) -> int:
    log = _configure_logging(args.log_level)
    log.warning("--reload restarts the server whenever a .py file changes: for development "
                "only")
    watcher = _Watcher(args.reload_dirs or [args.app_dir], log)
    command = [sys.executable, "-m", "greenlane", *argv]
    env = dict(os.environ, **{_CHILD_MARKER: "1"})
    stopping = threading.Event()

    def on_signal(signo: int, frame: Optional[FrameType]) -> None:
        stopping.set()

    previous = {signum: signal.signal(signum, on_signal)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    child: Optional[subprocess.Popen[bytes]] = None
    try:
        while not stopping.is_set():
            child = subprocess.Popen(command, env=env)
            changed = None
            while changed is None and child.poll() is None and not stopping.is_set():
                changed = watcher.wait(0.2)
            if stopping.is_set():
                break
            if changed is None:
                log.warning(f"the server exited with status {child.returncode}; restarting "
                            "when a file changes")
                while changed is None and not stopping.is_set():
                    changed = watcher.wait(0.2)
                if changed is None:
                    break
            else:
                log.info(f"{os.path.relpath(changed)} changed: restarting")
            _end_child(child, args.shutdown_timeout)
        return 0
    finally:
        if child is not None:
            _end_child(child, args.shutdown_timeout)
        watcher.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _end_child(child: subprocess.Popen[bytes], grace: Optional[float]) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait((grace or 0) + 5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# ====================================================================== entry point

def main(argv: Optional[list[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    The ``greenlane`` console script and ``python -m greenlane`` call this.
    """
    if argv is None:
        argv = sys.argv[1:]
    try:
        parser = _build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see "
                             f"'{PROG} serve --help')")
        if args.command != "serve":
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.reload_dirs is None:
            args.reload_dirs = _env("GREENLANE_RELOAD_DIRS", _words, None)
        if args.reload and os.environ.get(_CHILD_MARKER) != "1":
            return _reload(args, argv)
        return _serve(args)
    except UsageError as exc:
        sys.stderr.write(f"{PROG} serve: error: {exc}\n")
        if logging.getLogger(_LOGGER).isEnabledFor(logging.DEBUG) and exc.__cause__:
            import traceback

            traceback.print_exception(type(exc.__cause__), exc.__cause__,
                                      exc.__cause__.__traceback__)
        return EXIT_USAGE
