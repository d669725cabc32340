"""The WSGI environ (PEP 3333): one prebuilt base per listener, one copy per request.

Per request the server copies the listener's base dict (the keys that never change) and sets
only what the request decides. Header names map to ``HTTP_*`` keys through a per-server cache,
so the ``upper().replace()`` runs once per distinct header name, not once per request.

Keys, and where they differ from eventlet 0.41:

* ``SERVER_PROTOCOL`` is the request's version (eventlet hard-codes ``HTTP/1.0``).
* ``QUERY_STRING`` is always present, ``""`` without a query (eventlet omits it).
* ``CONTENT_TYPE`` and ``CONTENT_LENGTH`` only when the client sent them (eventlet invents
  ``text/plain``).
* ``PATH_INFO`` is percent-decoded as latin-1 (PEP 3333's "bytes as latin-1 str"), and
  ``RAW_PATH_INFO`` keeps the undecoded path, as eventlet. An absolute-form target
  (``GET http://host/p``) yields the path part, and its authority is ``HTTP_HOST``.
* ``REQUEST_URI`` and ``RAW_URI`` hold the request-target exactly as sent, as Gunicorn's and
  uWSGI's environ do (eventlet has neither): only they tell ``/p?`` from ``/p``.
* Header fields whose name contains ``_`` are not turned into ``HTTP_*`` keys (the same
  anti-spoofing rule as eventlet #959, nginx and Apache): ``X_Forwarded_For`` must not pose as
  ``X-Forwarded-For``. Repeated fields are joined with ``,`` (``Cookie`` with ``; ``).
* No ``headers_raw`` (eventlet's tuple of raw fields): PEP 3333 and ``wsgiref.validate`` require
  every key without a dot to be a ``str``.
* ``wsgi.input_terminated`` is True: ``wsgi.input`` returns EOF at the end of the body even for
  chunked uploads (Werkzeug/Flask read nothing without it, the eventlet bug this fixes).
* ``wsgi.file_wrapper`` is provided and served with ``sendfile`` where possible.
* ``wsgi.multithread`` is True (other requests run concurrently, as eventlet says).
* ``eventlet.input`` (same object as ``wsgi.input``), ``eventlet.posthooks`` and
  ``eventlet.set_idle`` exist for code written for eventlet.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote_to_bytes

if TYPE_CHECKING:
    from greenlane._http1 import Request

__all__ = ["EnvironBuilder", "split_target"]

# Cache at most this many distinct header names per server; names past it are computed every
# time, so a client inventing names cannot grow the cache without bound.
_MAX_CACHED_NAMES = 512

_SERVER_PROTOCOL = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}

# Fields that the WSGI spec maps without the HTTP_ prefix (PEP 3333, CGI RFC 3875 4.1).
_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


def _header_key(name: str) -> Optional[str]:
    if "_" in name:
        return None
    special = _SPECIAL.get(name)
    if special is not None:
        return special
    return "HTTP_" + name.upper().replace("-", "_")


def split_target(target: str) -> tuple[str, str]:
    """Split a request-target into (raw path, query string).

    Origin-form (``/p?q``) is the common case; absolute-form (``http://h/p?q``) keeps the
    path; asterisk-form (``*``) becomes path ``*``.
    """
    if target[:1] != "/" and target != "*":
        # absolute-form (RFC 9112 3.2.2): drop "scheme://authority"; the parser validated it.
        scheme_end = target.find("://")
        if scheme_end >= 0:
            slash = target.find("/", scheme_end + 3)
            qmark = target.find("?", scheme_end + 3)
            if slash < 0 or (0 <= qmark < slash):
                target = "/" + (target[qmark:] if qmark >= 0 else "")
            else:
                target = target[slash:]
    path, _, query = target.partition("?")
    return path, query


def address_strings(addr: Any) -> tuple[str, str]:
    """(host, port) strings of a socket address; Unix sockets give ``("unix", "")``."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        return str(addr[0]), str(addr[1])
    return "unix", ""


class EnvironBuilder:
    """Builds each request's environ from a per-listener base dict.

    Args:
        server_addr: the listener's ``getsockname()``.
        url_scheme: ``"http"`` or ``"https"``.
        extra: eventlet's ``environ`` argument, merged into every environ.
        file_wrapper: the ``wsgi.file_wrapper`` callable.
    """

    __slots__ = ("_keys", "base")

    def __init__(self, server_addr: Any, url_scheme: str, extra: Optional[dict[str, Any]],
                 file_wrapper: Any) -> None:
        host, port = address_strings(server_addr)
        base: dict[str, Any] = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": port,
            "SERVER_SOFTWARE": "greenlane",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url_scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": file_wrapper,
        }
        if url_scheme == "https":
            base["HTTPS"] = "on"
        if extra:
            base.update(extra)
        self.base = base
        self._keys: dict[str, Optional[str]] = {}

    def for_connection(self, local_addr: Any) -> dict[str, Any]:
        """The base for one connection: SERVER_NAME/PORT from the address it arrived on.

        Only needed for a wildcard listener (``0.0.0.0``, ``::``), where the listener's own
        address is not the one the client connected to.
        """
        host, port = address_strings(local_addr)
        base = self.base.copy()
        base["SERVER_NAME"] = host
        base["SERVER_PORT"] = port
        return base

    def build(self, base: dict[str, Any], req: Request, remote_addr: str,
              remote_port: str) -> dict[str, Any]:
        """The environ of ``req``, without the ``wsgi.input`` and ``eventlet.*`` objects."""
        env = base.copy()
        env["REQUEST_METHOD"] = req.method
        target = req.target
        if target[:1] == "/":
            path, _, query = target.partition("?")
        else:
            path, query = split_target(target)
        env["RAW_PATH_INFO"] = path
        env["REQUEST_URI"] = env["RAW_URI"] = target
        env["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
        env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = _SERVER_PROTOCOL[req.http_version]
        env["REMOTE_ADDR"] = remote_addr
        env["REMOTE_PORT"] = remote_port
        headers = req.headers
        keys = self._keys
        for name, value in headers:
            try:
                key = keys[name]
            except KeyError:
                key = _header_key(name)
                if len(keys) < _MAX_CACHED_NAMES:
                    keys[name] = key
            if key is None:
                continue
            old = env.get(key)
            if old is None:
                env[key] = value
            elif key == "HTTP_COOKIE":
                env[key] = f"{old}; {value}"
            else:
                env[key] = f"{old},{value}"
        if target[:1] != "/" and req.host is not None:
            # absolute-form: the target's authority replaces the Host field (RFC 9112 3.2.2)
            env["HTTP_HOST"] = req.host
        return env


def is_wildcard(addr: Any) -> bool:
    """True for a listener bound to every interface (``0.0.0.0`` or ``::``)."""
    if isinstance(addr, tuple) and addr:
        return addr[0] in ("0.0.0.0", "::", "")
    return False
