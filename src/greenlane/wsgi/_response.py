"""The response side of one request: ``start_response``, ``write`` and sending the body.

Per-request state lives in a slotted :class:`Response`; the application gets its bound methods
``start_response`` and ``write``. There are no closures over mutable cells (eventlet's
``headers_set = []``, ``use_chunked = [False]``): every piece of state is a named, typed slot.
A Response talks to its connection only through :class:`ResponseChannel` (a few calls that
write bytes) and to the sans-IO parser it is given, so it can be driven without a socket.

How a response goes out (the head never goes out on its own if a body byte is known):

* a list or tuple body (the common case, including every "hello world"): joined, its
  Content-Length added when the application gave none, and head and body sent with one
  ``sendall``;
* any other iterable: the head goes out with the first non-empty chunk (PEP 3333 forbids
  sending it earlier), each later chunk is sent as soon as it is produced (streaming and
  server-sent events are not held back, unlike eventlet's default 4 KiB buffering; set
  ``minimum_chunk_size`` to buffer), framed by the application's Content-Length or chunked;
* an iterable that produces nothing: ``Content-Length: 0`` (eventlet sent an empty chunked
  body);
* ``wsgi.file_wrapper`` over a regular file on a plain TCP socket: head, then ``os.sendfile``;
* ``write()`` (the legacy PEP 3333 callable): sent immediately.

``start_response`` enforces PEP 3333: status is a ``str`` like ``"200 OK"``; headers are a list
of ``(str, str)`` tuples (eventlet also took a dict), each name an RFC 9110 token (eventlet
also sent latin-1 letters); hop-by-hop fields are refused, except ``Connection: close`` (honoured:
the connection closes after the response) and ``Transfer-Encoding: chunked`` (dropped: the
server frames the body); a second call needs ``exc_info``, and with ``exc_info`` after the head
went out re-raises it. Field values are checked for CR/LF/NUL and latin-1 when the head is
encoded (``_http1``), before anything is sent.

Body pieces must be bytes (PEP 3333); as in eventlet, a ``str`` piece is accepted when it is
latin-1 (encoded as such). Any other ``str`` fails the response with a ValueError that says
so: a 500 if nothing was sent yet, else the connection is closed mid-body.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Protocol, Union

from greenlane._http1 import parse_content_length
from greenlane._http1.abnf import TOKEN

if TYPE_CHECKING:
    from greenlane._http1 import Request, ServerConnection

__all__ = ["FileWrapper", "HeaderPolicy", "Response", "ResponseChannel"]

_TOKEN_MATCH = TOKEN.fullmatch

# Statuses and header names seen by one server are few; cache that many of each.
_MAX_CACHED = 512

# Header kinds, as the policy classifies names.
_PLAIN = 0
_LENGTH = 1
_FORBIDDEN = 2

# RFC 9110 7.6.1 / PEP 3333: hop-by-hop fields an application must not set. Connection and
# Transfer-Encoding are handled by _http1 (see the module docstring).
_HOP_BY_HOP = frozenset(
    ["keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "upgrade", "proxy-connection"]
)

# Send big bodies in slices of this size, so the write timeout bounds the time without
# progress, not the time the whole body takes to reach a slow client.
WRITE_SLICE = 1 << 20


class ResponseChannel(Protocol):
    """What a :class:`Response` needs from the connection it answers on.

    ``greenlane.wsgi._conn.Connection`` is the real one; a test can pass anything with these
    members. The response's framing state lives in the ``ServerConnection`` passed alongside.
    """

    #: The checks and caches applied to the application's status and headers.
    header_policy: HeaderPolicy
    #: ``os.sendfile`` may be used (plain TCP, not TLS).
    can_sendfile: bool
    #: An HTTP/1.0-only server: a body of unknown length is collected, never chunked.
    http10_only: bool

    def send(self, data: Union[bytes, memoryview]) -> None:
        """Write all of ``data`` (raising a BaseException if the client is gone)."""

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        """Write ``count`` bytes of file ``fd`` from ``offset``."""


def _not_str(name: Any, value: Any) -> TypeError:
    return TypeError(f"header values must be str, not {type(value).__name__}: {name}: {value!r}")


def _hop_by_hop(name: str) -> ValueError:
    return ValueError(f"hop-by-hop header {name!r} is not allowed from a WSGI application "
                      "(PEP 3333)")


class HeaderPolicy:
    """Checks applications' statuses and header names, with per-server caches.

    Args:
        capitalize: emit names as ``Content-Type`` whatever case the application used
            (eventlet's ``capitalize_response_headers``, default True).
    """

    __slots__ = ("_kinds", "_names", "_statuses", "capitalize")

    def __init__(self, capitalize: bool = True) -> None:
        self.capitalize = capitalize
        self._statuses: dict[str, tuple[int, str]] = {}
        self._names: dict[str, tuple[str, int]] = {}
        # The names of _names that are emitted as given -> their kind: the fast path.
        self._kinds: dict[str, int] = {}

    def status(self, status: Any) -> tuple[int, str]:
        """``"200 OK"`` -> ``(200, "OK")``.

        Raises:
            TypeError: not a str.
            ValueError: not three digits, a space and a reason; or an informational status.
        """
        try:
            return self._statuses[status]
        except (KeyError, TypeError):
            pass
        if type(status) is not str:
            raise TypeError(f"status must be a str like '200 OK', not {type(status).__name__}")
        code_text, sep, reason = status.partition(" ")
        if len(code_text) != 3 or not code_text.isdigit() or not code_text.isascii() or (
            not sep and len(status) != 3
        ):
            raise ValueError(f"status must be three digits, a space and a reason: {status!r}")
        code = int(code_text)
        if code < 200:
            raise ValueError(f"status {code} is informational; a WSGI response must be final")
        result = (code, reason)
        if len(self._statuses) < _MAX_CACHED:
            self._statuses[status] = result
        return result

    def _classify(self, name: Any) -> tuple[str, int]:
        if type(name) is not str:
            raise TypeError(f"header names must be str, not {type(name).__name__}: {name!r}")
        if _TOKEN_MATCH(name) is None:
            raise ValueError(f"invalid header name {name!r}")
        lname = name.lower()
        if lname == "content-length":
            kind = _LENGTH
        elif lname in _HOP_BY_HOP:
            kind = _FORBIDDEN
        else:
            kind = _PLAIN
        out = name
        if self.capitalize:
            out = "-".join(part.capitalize() for part in name.split("-"))
            if out == name:
                out = name  # keep the identity: lets headers() skip copying the list
        entry = (out, kind)
        if len(self._names) < _MAX_CACHED:
            self._names[name] = entry
            if out is name:
                self._kinds[name] = kind
        return entry

    def headers(self, headers: Any) -> tuple[list[tuple[str, str]], bool]:
        """Check the application's headers; return (headers to send, has Content-Length).

        The application's own list is returned when nothing needs changing.

        Raises:
            TypeError: not a list of (str, str) tuples.
            ValueError: a malformed or hop-by-hop name.
        """
        if type(headers) is not list:
            if not isinstance(headers, (list, tuple)):
                raise TypeError(f"headers must be a list of (name, value) tuples, not "
                                f"{type(headers).__name__}")
            headers = list(headers)
        # The common case in one pass without bookkeeping: every name already seen and
        # emitted as the application spelled it. Anything else takes _headers_slow.
        kinds = self._kinds
        has_length = False
        for name, value in headers:
            try:
                kind = kinds[name]
            except (KeyError, TypeError):
                return self._headers_slow(headers)
            if type(value) is not str:
                raise _not_str(name, value)
            if kind:
                if kind != _LENGTH:
                    raise _hop_by_hop(name)
                has_length = True
        return headers, has_length

    def _headers_slow(self, headers: list[Any]) -> tuple[list[tuple[str, str]], bool]:
        names = self._names
        has_length = False
        renamed: Optional[list[tuple[str, str]]] = None
        for index, (name, value) in enumerate(headers):
            try:
                out, kind = names[name]
            except (KeyError, TypeError):
                out, kind = self._classify(name)
            if type(value) is not str:
                raise _not_str(name, value)
            if kind:
                if kind != _LENGTH:
                    raise _hop_by_hop(name)
                has_length = True
            if renamed is not None:
                renamed.append((out, value))
            elif out is not name:
                renamed = headers[:index]
                renamed.append((out, value))
        if renamed is not None:
            headers = renamed
        return headers, has_length


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server send a file with ``os.sendfile``.

    Iterating it reads ``block_size`` bytes at a time, so it also works as a plain iterable
    (on TLS, or for objects that are not regular files). ``close()`` closes the file.
    """

    __slots__ = ("block_size", "filelike")

    def __init__(self, filelike: Any, block_size: int = 8192) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> FileWrapper:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.block_size)
        if data:
            return bytes(data)
        raise StopIteration

    def close(self) -> None:
        """Close the wrapped file, if it can be closed."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class _SendfileBody:
    # Stands for the file's bytes when asking _http1 to frame them: with Content-Length framing
    # send_data() only needs len() and returns its argument untouched (h11's data passthrough),
    # so the bytes themselves never enter Python.
    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        return self.length > 0


class Response:
    """State of one response; ``start_response`` and ``write`` are its bound methods.

    Args:
        channel: the connection the bytes go to (see :class:`ResponseChannel`).
        parser: the connection's sans-IO state, which frames the body.
        request: the request being answered.

    Attributes:
        code: status code from ``start_response`` (0 before it is called), or the status
            the server answered with itself (500, 408) when the application failed.
        reason: reason phrase.
        headers: the checked header list; None before ``start_response``.
        has_length: the application gave a Content-Length.
        headers_sent: the head has been handed to the socket.
        body_bytes: body bytes sent so far (for the access log).
    """

    __slots__ = (
        "body_bytes",
        "channel",
        "code",
        "has_length",
        "headers",
        "headers_sent",
        "parser",
        "reason",
        "request",
    )

    def __init__(self, channel: ResponseChannel, parser: ServerConnection,
                 request: Request) -> None:
        self.channel = channel
        self.parser = parser
        self.request = request
        self.code = 0
        self.reason = ""
        self.headers: Optional[list[tuple[str, str]]] = None
        self.has_length = False
        self.headers_sent = False
        self.body_bytes = 0

    @property
    def status(self) -> str:
        """``"200 OK"``: the status as PEP 3333 spells it; ``""`` before there is one."""
        return f"{self.code} {self.reason}" if self.code else ""

    # -- the application's side ---------------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        """PEP 3333 ``start_response``; returns ``write``."""
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.headers is not None:
            raise AssertionError("start_response() called a second time without exc_info "
                                 "(PEP 3333)")
        policy = self.channel.header_policy
        try:
            code, reason = policy._statuses[status]  # the cache in front of policy.status()
        except (KeyError, TypeError):
            code, reason = policy.status(status)
        checked, has_length = policy.headers(headers)
        self.code = code
        self.reason = reason
        self.headers = checked
        self.has_length = has_length
        return self.write

    def write(self, data: bytes) -> None:
        """PEP 3333 ``write``: send ``data`` now (the head first, if not yet sent)."""
        if self.headers is None:
            raise AssertionError("write() called before start_response()")
        if type(data) is not bytes:
            data = _as_bytes(data)
        if self.headers_sent:
            if data:
                self.body_bytes += len(data)
                self.channel.send(self.parser.send_data(data))
            return
        out = self._head()
        if data:
            self.body_bytes += len(data)
            out += self.parser.send_data(data)
        self.channel.send(out)

    # -- the server's side --------------------------------------------------------------------

    def _head(self) -> bytes:
        assert self.headers is not None
        head = self.parser.send_response(self.code, self.reason, self.headers)
        self.headers_sent = True
        return head

    def _may_add_length(self, length: int) -> bool:
        # RFC 9110 8.6: never on 204; on 304 it would describe the representation, which the
        # application did not tell us; on HEAD an empty body says nothing about the GET's.
        code = self.code
        if code == 204 or code == 304:
            return False
        return length > 0 or self.request.method != "HEAD"

    def send_list(self, body_parts: list[bytes]) -> None:
        """Send a response whose body is a list or tuple: head and body in one write."""
        if self.headers is None:
            raise AssertionError("the application returned without calling start_response()")
        n = len(body_parts)
        if n == 1:
            body = body_parts[0]
            if type(body) is not bytes:
                body = _as_bytes(body)
        elif n == 0:
            body = b""
        else:
            body = b"".join([p if type(p) is bytes else _as_bytes(p) for p in body_parts])
        parser = self.parser
        if self.headers_sent:
            out = parser.send_last(body)
        else:
            if not self.has_length and self._may_add_length(len(body)):
                self.headers = [*self.headers, ("Content-Length", str(len(body)))]
                self.has_length = True
            out = self._head() + parser.send_last(body)
        self.body_bytes += len(body)
        if out:
            self.channel.send(out)

    def send_iterable(self, body: Iterable[bytes], minimum_chunk_size: int) -> None:
        """Send a response whose body is any other iterable, chunk by chunk."""
        channel = self.channel
        parser = self.parser
        if channel.http10_only and not self.has_length and not self.headers_sent:
            # An HTTP/1.0 server cannot chunk: learn the length by reading the whole body.
            self.send_list([data if type(data) is bytes else _as_bytes(data) for data in body])
            return
        if minimum_chunk_size > 0:
            body = _coalesce(body, minimum_chunk_size)
        for data in body:
            if type(data) is not bytes:
                data = _as_bytes(data)
            if not data:
                continue
            if self.headers_sent:
                out = parser.send_data(data)
            else:
                if self.headers is None:
                    raise AssertionError("the application produced body data before calling "
                                         "start_response()")
                out = self._head() + parser.send_data(data)
            self.body_bytes += len(data)
            channel.send(out)
        self.finish()

    def finish(self) -> None:
        """End the body (sending the head first if nothing was sent)."""
        parser = self.parser
        if self.headers_sent:
            out = parser.send_eom()
        else:
            if self.headers is None:
                raise AssertionError("the application returned without calling "
                                     "start_response()")
            if not self.has_length and self._may_add_length(0):
                self.headers = [*self.headers, ("Content-Length", "0")]
                self.has_length = True
            out = self._head() + parser.send_eom()
        if out:
            self.channel.send(out)

    def send_file(self, wrapper: FileWrapper) -> bool:
        """Send a ``wsgi.file_wrapper`` body with ``os.sendfile``; False if it cannot be.

        Possible when nothing was sent yet, the socket is plain TCP, and the object is a
        regular file with ``fileno()``. The Content-Length is the application's, else the
        rest of the file from its current position.
        """
        channel = self.channel
        if self.headers_sent or self.headers is None or not channel.can_sendfile:
            return False
        filelike = wrapper.filelike
        try:
            fd = filelike.fileno()
            st = os.fstat(fd)
            offset = filelike.tell() if hasattr(filelike, "tell") else 0
        except (AttributeError, OSError, ValueError):
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        available = max(0, st.st_size - offset)
        if self.has_length:
            count = _declared_length(self.headers)
            if count is None or count > available:
                return False
        else:
            count = available
            if self._may_add_length(count):
                self.headers = [*self.headers, ("Content-Length", str(count))]
                self.has_length = True
        parser = self.parser
        out = self._head()
        framed = parser.send_data(_SendfileBody(count))  # type: ignore[arg-type]
        if isinstance(framed, _SendfileBody):
            channel.send(out)
            channel.sendfile(fd, offset, count)
            self.body_bytes += count
            if hasattr(filelike, "seek"):
                filelike.seek(offset + count)
        else:
            channel.send(out + framed)  # HEAD: nothing to send
        tail = parser.send_eom()
        if tail:
            channel.send(tail)
        return True


def _declared_length(headers: list[tuple[str, str]]) -> Optional[int]:
    for name, value in headers:
        if name.lower() == "content-length":
            try:
                return parse_content_length(value)  # the parser's rule, digit cap included
            except ValueError:
                return None
    return None


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        # PEP 3333 wants bytes; eventlet took a str too, and so does greenlane when it holds
        # only latin-1 characters (the "native string" convention of PEP 3333 for headers).
        try:
            return data.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"a WSGI application must produce bytes (PEP 3333); a str is accepted only "
                f"when it is latin-1, and this one is not: {data[:60]!r}; encode it "
                "(e.g. text.encode('utf-8')) and say the charset in Content-Type") from None
    raise TypeError(f"a WSGI application must produce bytes, not {type(data).__name__} "
                    "(PEP 3333)")


def _coalesce(body: Iterable[bytes], minimum: int) -> Iterable[bytes]:
    # eventlet's minimum_chunk_size: hold small pieces back until `minimum` bytes are ready.
    pending: list[bytes] = []
    size = 0
    for data in body:
        if type(data) is not bytes:
            data = _as_bytes(data)
        pending.append(data)
        size += len(data)
        if size >= minimum:
            yield b"".join(pending)
            pending = []
            size = 0
    if pending:
        yield b"".join(pending)
