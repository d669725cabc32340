"""WebSocket servers with eventlet's API: ``WebSocketWSGI`` wraps a handler into a WSGI app.

::

    from greenlane import websocket, wsgi

    @websocket.WebSocketWSGI
    def echo(ws):
        while True:
            message = ws.wait()          # str (text) or bytes (binary); None once closed
            if message is None:
                break
            ws.send(message)

    wsgi.server(greenlane.listen(("127.0.0.1", 8000)), echo)

The protocol is ``greenlane._ws`` (sans-IO RFC 6455 with permessage-deflate); this module
only moves bytes between it and the socket it takes over from the server:
``environ["eventlet.input"].get_socket()`` (greenlane's server then writes nothing more on the
connection and closes it when the application returns), or ``environ["gunicorn.socket"]``
under another server. The handler runs in the connection's green thread.
``environ["eventlet.set_idle"]()`` is called once the handshake succeeded, so a graceful server
stop does not wait for the WebSocket: the server shuts the socket down instead, and ``wait()``
returns None.

Differences from ``eventlet.websocket`` (0.41), all deliberate:

* hixie-75/76 (the pre-RFC drafts, unmasked, obsolete since 2011) are refused unless
  ``support_legacy_versions=True`` is passed, or the eventlet alias set eventlet's defaults
  (``greenlane.compat``); eventlet's plain constructor accepts them by default. Without it
  a request lacking ``Sec-WebSocket-Version`` gets 400.
* ``max_frame_length`` bounds whole messages too, after reassembly *and* decompression (close
  code 1009); eventlet bounds single frames only, so a fragmented message could still grow
  without limit (the class of bug behind CVE-2021-21419).
* Frames are checked as RFC 6455 requires: unmasked client frames, reserved bits, unknown
  opcodes, invalid close codes, misplaced continuations fail the connection with 1002, text
  that is not UTF-8 with 1007 (incrementally: a fragmented message fails at its first bad
  fragment). permessage-deflate offers that RFC 7692 forbids (``server_max_window_bits``
  without a value, unknown parameters) are declined rather than accepted; control frames are
  never compressed.
* Unmasking runs in C (``bytes.translate`` / big-integer XOR), not one Python step per byte.
* A handshake is validated completely before the socket is taken over, so a bad one (400),
  an unsupported version (426, with ``Sec-WebSocket-Version: 13, 8``) or a refused origin
  (403) always gets a proper HTTP answer.
* Closing follows RFC 6455 §7: a Close frame received is answered with the same code; ending
  the handler or ``close()`` sends a Close frame and waits up to ``close_timeout`` (2 s) for
  the peer's before closing the socket; a handler that raises closes with 1011.
* ``send()`` after the WebSocket was closed raises ``BrokenPipeError`` (errno EPIPE), which
  the handler wrapper treats like eventlet's socket errors from a gone client; ``send()``
  also refuses types other than str and bytes-like (eventlet's hixie class sent ``str(x)``).
* ``WebSocket(sock, environ)`` defaults to version 13 (eventlet: 76); ``RFC6455WebSocket`` is
  the same class. Private helpers of eventlet's classes (``_recv_frame``, ``_send``, ``_buf``,
  ``_msgs``) do not exist; ``_remote_close_data`` and ``_pack_message`` do.
* Sending is serialised by a lock created only when two green threads actually send at once,
  so an idle connection does not carry one.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from greenlane import _ws
from greenlane._http1.writers import encode_informational_head
from greenlane._ws import legacy as _legacy
from greenlane._ws.frames import encode_frame as _encode_frame
from greenlane.semaphore import Semaphore
from greenlane.timeout import Timeout

__all__ = [
    "DEFAULT_MAX_FRAME_LENGTH",
    "BadRequest",
    "ConnectionClosedError",
    "FailedConnectionError",
    "ProtocolError",
    "RFC6455WebSocket",
    "WebSocket",
    "WebSocketWSGI",
]

#: The default bound on a received frame *and message*, in bytes (eventlet's value, 8 MiB).
DEFAULT_MAX_FRAME_LENGTH = 8 << 20

#: errnos of a handler's socket error that only mean the client went away (eventlet's set).
ACCEPTABLE_CLIENT_ERRORS = frozenset((errno.ECONNRESET, errno.EPIPE, errno.ESHUTDOWN))

# How long closing waits for the peer's Close frame after sending ours (RFC 6455 §7.1.1 wants
# the server to close TCP first, but only after the closing handshake). Apache lingers 2 s
# after an error response for the same reason, and greenlane's server too.
CLOSE_TIMEOUT = 2.0

# Bytes asked of each recv(): one message of up to 64 KiB (plus its header) in at most two.
_RECV_SIZE = 65536

# The request fields the handshake looks at: lowercase name -> WSGI environ key.
_FIELDS = {
    "upgrade": "HTTP_UPGRADE",
    "connection": "HTTP_CONNECTION",
    "host": "HTTP_HOST",
    "origin": "HTTP_ORIGIN",
    "sec-websocket-key": "HTTP_SEC_WEBSOCKET_KEY",
    "sec-websocket-version": "HTTP_SEC_WEBSOCKET_VERSION",
    "sec-websocket-protocol": "HTTP_SEC_WEBSOCKET_PROTOCOL",
    "sec-websocket-extensions": "HTTP_SEC_WEBSOCKET_EXTENSIONS",
    "sec-websocket-origin": "HTTP_SEC_WEBSOCKET_ORIGIN",
}

_DEFAULT_LIMITS = _ws.Limits(DEFAULT_MAX_FRAME_LENGTH, DEFAULT_MAX_FRAME_LENGTH)
_Message = _ws.Message
_Ping = _ws.Ping
_Close = _ws.Close
_NEED_DATA = _ws.NEED_DATA
_RemoteProtocolError = _ws.RemoteProtocolError
_LocalProtocolError = _ws.LocalProtocolError

Handler = Callable[["WebSocket"], Any]
OriginChecker = Callable[[Optional[str], Optional[str]], bool]


class BadRequest(Exception):
    """The upgrade request was refused (eventlet's name); becomes the HTTP answer.

    Attributes:
        status: the status line, e.g. ``"400 Bad Request"``.
        body: the answer's body (bytes, default empty).
        headers: extra ``(name, value)`` fields of the answer.
    """

    def __init__(self, status: str = "400 Bad Request", body: Optional[bytes] = None,
                 headers: Optional[List[Tuple[str, str]]] = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


class ConnectionClosedError(Exception):
    """The connection ended (eventlet's name; greenlane's ``wait()`` returns None instead of
    raising it, as eventlet's does)."""


class FailedConnectionError(Exception):
    """The WebSocket failed with ``status`` (a close code) and ``message`` (eventlet's name).

    Attributes:
        status: the close code sent to the peer.
        message: why.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


class ProtocolError(ValueError):
    """A send the protocol does not allow: a control frame over 125 bytes, an invalid close
    code (eventlet's name)."""


_STATUS_LINES = {400: "400 Bad Request", 403: "403 Forbidden", 426: "426 Upgrade Required"}


def _deflate_from_extensions(extensions: Optional[Dict[str, Any]]) -> Optional[_ws.DeflateParams]:
    """eventlet's ``extensions={"permessage-deflate": {...}}`` as DeflateParams."""
    if not extensions:
        return None
    options = extensions.get("permessage-deflate")
    if options is None:
        return None
    if isinstance(options, _ws.DeflateParams):
        return options

    def bits(name: str) -> Optional[int]:
        value = options.get(name)
        return None if value is None or value is True or value is False else int(value)

    return _ws.DeflateParams(
        server_no_context_takeover=bool(options.get("server_no_context_takeover")),
        client_no_context_takeover=bool(options.get("client_no_context_takeover")),
        server_max_window_bits=bits("server_max_window_bits"),
        client_max_window_bits=bits("client_max_window_bits"),
    )


class WebSocket:
    """One open WebSocket: what the handler of :class:`WebSocketWSGI` receives.

    Receive with :meth:`wait` from one green thread; :meth:`send` may be called from several
    (frames never interleave). Closed by returning from the handler, by :meth:`close`, by the
    peer, or by the server stopping.

    Args:
        sock: the connected socket, after the opening handshake.
        environ: the WSGI environ of the upgrade request (``{}`` will do).
        version: 13 or 8 (RFC 6455), or 76/75 (hixie legacy framing).
        protocol: the negotiated subprotocol, or None.
        client: True to be the client end (masks frames; eventlet's tests use it).
        extensions: eventlet's form of the negotiated extensions:
            ``{"permessage-deflate": {"server_no_context_takeover": bool, ...}}``.
        max_frame_length: bound on a received frame and on a whole message, in bytes.
        close_timeout: seconds to wait for the peer's Close frame when closing.

    Attributes:
        socket: the socket (also ``_sock``, where python-engineio looks for ``settimeout``).
        environ: the request's WSGI environ.
        origin: ``Origin`` of the request, or None.
        protocol: the negotiated subprotocol, or None.
        path: ``PATH_INFO`` of the request.
        version: the protocol version.
        extensions: the negotiated extensions, in eventlet's form.
    """

    def __init__(self, sock: Any, environ: Dict[str, Any], version: int = 13,
                 protocol: Optional[str] = None, client: bool = False,
                 extensions: Optional[Dict[str, Any]] = None,
                 max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
                 close_timeout: float = CLOSE_TIMEOUT) -> None:
        self.socket = sock
        self.environ = environ
        self.origin: Optional[str] = environ.get("HTTP_ORIGIN")
        self.path: Optional[str] = environ.get("PATH_INFO")
        self.version = version
        self._extensions = extensions or {}
        self.max_frame_length = max_frame_length
        self.close_timeout = close_timeout
        limits = (_DEFAULT_LIMITS if max_frame_length == DEFAULT_MAX_FRAME_LENGTH else
                  _ws.Limits(max_frame_size=max_frame_length, max_message_size=max_frame_length))
        self._proto: Union[_ws.Connection, _ws.LegacyConnection]
        if version in (75, 76):
            self.protocol = protocol or environ.get(
                "HTTP_SEC_WEBSOCKET_PROTOCOL", environ.get("HTTP_WEBSOCKET_PROTOCOL"))
            self._proto = _ws.LegacyConnection(version, limits)
        else:
            self.protocol = protocol
            self._proto = _ws.Connection(client, limits,
                                         _deflate_from_extensions(self._extensions))
        self.websocket_closed = False
        #: The payload of the peer's Close frame (code and reason), eventlet's attribute.
        self._remote_close_data: Optional[bytes] = None
        self._reading = False
        # Send serialisation without a lock per connection: _sending says a send is under
        # way; a second sender creates _send_lock (a semaphore at 0) and parks on it, and the
        # sender that finishes hands the turn on with release() instead of clearing the flag.
        self._sending = False
        self._send_lock: Optional[Semaphore] = None

    def __repr__(self) -> str:
        state = "closed" if self.websocket_closed else "open"
        return f"<greenlane.websocket.WebSocket {self.path!r} version={self.version} {state}>"

    @property
    def _sock(self) -> Any:
        """The socket (python-engineio sets its timeout through ``ws._sock``)."""
        return self.socket

    @property
    def extensions(self) -> Dict[str, Any]:
        """The negotiated extensions, in eventlet's form (``{"permessage-deflate": {...}}``).

        Assigning another value changes the permessage-deflate settings the next message sent
        or received uses, as in eventlet, which reads the attribute for every frame.

        Raises:
            ProtocolError: (on assignment) a fragmented message is being sent or received.
        """
        return self._extensions

    @extensions.setter
    def extensions(self, value: Optional[Dict[str, Any]]) -> None:
        value = value or {}
        proto = self._proto
        if isinstance(proto, _ws.Connection):
            try:
                proto.set_deflate(_deflate_from_extensions(value))
            except _LocalProtocolError as exc:
                raise ProtocolError(str(exc)) from None
        self._extensions = value

    # -- sending ------------------------------------------------------------------------------

    def _take_turn(self) -> None:
        lock = self._send_lock
        if lock is None:
            lock = self._send_lock = Semaphore(0)
        lock.acquire()

    def _pass_turn(self) -> None:
        lock = self._send_lock
        if lock is not None and lock.balance < 0:
            lock.release()  # the first waiter sends next; _sending stays True for it
        else:
            self._sending = False

    def _send_frame(self, encode: Callable[..., bytes], *args: Any) -> None:
        # Encoding happens under the turn too: the compressor and the fragmentation state
        # must see frames in the order they go out.
        if self._sending:
            self._take_turn()
        else:
            self._sending = True
        try:
            self.socket.sendall(encode(*args))
        finally:
            if self._send_lock is None:
                self._sending = False
            else:
                self._pass_turn()

    def send(self, message: Union[str, bytes, bytearray, memoryview],
             control_code: Optional[int] = None) -> None:
        """Send one message: a ``str`` as text, anything bytes-like as binary.

        eventlet's ``control_code=0x9/0xA/0x8`` keyword sends a ping, pong or close frame
        instead.

        Raises:
            BrokenPipeError: the WebSocket is closed (errno EPIPE).
            OSError: the socket failed (the client went away).
            ProtocolError: a control frame over 125 bytes.
        """
        if control_code is not None:
            self._send_control(control_code, message)
            return
        if self._sending:
            self._take_turn()
        else:
            self._sending = True
        try:
            self.socket.sendall(self._proto.send_data(message))
        except _LocalProtocolError:
            raise BrokenPipeError(errno.EPIPE, "the WebSocket is closed") from None
        finally:
            if self._send_lock is None:
                self._sending = False
            else:
                self._pass_turn()

    def _send_control(self, code: int, payload: Any) -> None:
        proto = self._proto
        if isinstance(proto, _ws.LegacyConnection):
            raise ProtocolError("hixie-76 has no control frames")
        if proto.close_sent:
            raise BrokenPipeError(errno.EPIPE, "the WebSocket is closed")
        try:
            if code == 0x9:
                self._send_frame(proto.send_ping, payload)
            elif code == 0xA:
                self._send_frame(proto.send_pong, payload)
            elif code == 0x8:
                if isinstance(payload, (bytes, bytearray)) and len(payload) >= 2:
                    close_code = int.from_bytes(payload[:2], "big")
                    reason = bytes(payload[2:]).decode("utf-8")
                    self._send_frame(proto.send_close, close_code, reason)
                else:
                    self._send_frame(proto.send_close, None)
            else:
                raise ProtocolError(f"unknown control opcode {code!r}")
        except _LocalProtocolError as exc:
            raise ProtocolError(str(exc)) from None

    def _pack_message(self, message: Union[str, bytes, bytearray, memoryview],
                      masked: bool = False, continuation: bool = False, final: bool = True,
                      control_code: Optional[int] = None) -> bytes:
        """The frame carrying ``message`` (eventlet's private helper, which its tests call).

        A ``str`` is text, anything else bytes-like binary; ``continuation`` makes a
        continuation frame, ``final=False`` leaves FIN clear, ``control_code`` (0x8, 0x9,
        0xA) makes a control frame. A non-empty data frame is compressed when
        permessage-deflate is in use, through the connection's compressor (so its context
        takeover state advances, as for ``send``). ``masked`` masks it (an empty payload is
        never masked). Nothing is sent, and the frame is not checked against the role (a
        client may build unmasked frames here).

        Raises:
            ProtocolError: a legacy (hixie) WebSocket, an unknown control code, a fragmented
                control frame or one over 125 bytes.
        """
        proto = self._proto
        if not isinstance(proto, _ws.Connection):
            raise ProtocolError("a hixie-75/76 WebSocket has no RFC 6455 frames")
        text = isinstance(message, str)
        payload = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        if control_code is not None:
            if control_code not in (0x8, 0x9, 0xA):
                raise ProtocolError(f"unknown control opcode {control_code!r}")
            if continuation or not final:
                raise ProtocolError("a control frame cannot be fragmented")
            if len(payload) > 125:
                raise ProtocolError("a control frame payload must be at most 125 bytes")
            return _encode_frame(0x80 | control_code, payload, masked and bool(payload))
        first = 0 if continuation else 1 if text else 2
        deflate = proto.deflate
        if deflate is not None and payload:
            payload = deflate.compress(payload, final)
            if not continuation:
                first |= 0x40  # RSV1: "compressed", on a message's first frame only
        if final:
            first |= 0x80
        return _encode_frame(first, payload, masked and bool(payload))

    def ping(self, data: Union[str, bytes] = b"") -> None:
        """Send a Ping frame (at most 125 bytes); the peer answers with a Pong, which
        ``wait()`` consumes. Not in eventlet.

        Raises:
            ProtocolError: ``data`` is over 125 bytes.
            BrokenPipeError: the WebSocket is closed.
        """
        self._send_control(0x9, data)

    # -- receiving ----------------------------------------------------------------------------

    def wait(self) -> Union[str, bytes, None]:
        """Return the next message: ``str`` for text, ``bytes`` for binary; None once the
        WebSocket is closed (by the peer, by a protocol error, by ``close()``, or because the
        connection ended).

        Pings are answered while waiting. A timeout set on the socket (``settimeout``)
        raises ``socket.timeout`` and leaves the WebSocket usable.
        """
        if self.websocket_closed:
            return None
        proto = self._proto
        self._reading = True
        try:
            while True:
                try:
                    event = proto.next_event()
                except _RemoteProtocolError as exc:
                    self._fail(exc)
                    return None
                if type(event) is _Message:
                    return event.data
                if event is _NEED_DATA:
                    try:
                        data = self.socket.recv(_RECV_SIZE)
                    except socket.timeout:
                        raise
                    except OSError:
                        data = b""  # reset, or closed under us: the connection is gone
                    proto.receive_data(data)
                elif type(event) is _Ping:
                    self._pong(event.payload)
                elif type(event) is _Close:
                    self._closed_by_peer(event)
                    return None
                elif event is _ws.CLOSED:
                    self._shutdown()
                    return None
                # a Pong: nothing to do
        finally:
            self._reading = False

    def _pong(self, payload: bytes) -> None:
        proto = self._proto
        if isinstance(proto, _ws.Connection) and not proto.close_sent:
            try:
                self._send_frame(proto.send_pong, payload)
            except OSError:
                pass  # the next recv says whether the connection is gone

    def _closed_by_peer(self, event: _ws.Close) -> None:
        code = event.code
        self._remote_close_data = (b"" if code == 1005 else
                                   code.to_bytes(2, "big") + event.reason.encode("utf-8"))
        proto = self._proto
        if not proto.close_sent:
            try:
                if isinstance(proto, _ws.Connection):
                    # Echo the code (RFC 6455 §5.5.1); none came: answer with none.
                    reply = None if code == 1005 else code
                    self._send_frame(proto.send_close, reply)
                else:
                    self._send_frame(proto.send_close)
            except (OSError, _LocalProtocolError):
                pass
        self._shutdown()

    def _fail(self, exc: _ws.RemoteProtocolError) -> None:
        proto = self._proto
        if exc.close_code != 1006 and not proto.close_sent:
            reason = str(exc).encode("utf-8")[:123].decode("utf-8", "ignore")
            try:
                self._send_frame(proto.send_close, exc.close_code, reason)
            except (OSError, _LocalProtocolError):
                pass
        self._shutdown()

    def _shutdown(self) -> None:
        """The WebSocket is over: shut the connection down and close the socket."""
        self.websocket_closed = True
        sock = self.socket
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    # -- closing ------------------------------------------------------------------------------

    def close(self, close_data: Optional[Tuple[int, Union[str, bytes]]] = None) -> None:
        """Close the WebSocket: send a Close frame (``close_data`` is ``(code, reason)``,
        default ``(1000, "")``), wait up to ``close_timeout`` seconds for the peer's Close
        (unless another green thread is in ``wait()``), then close the socket. Returning
        from the handler does the same; calling it again does nothing.

        Raises:
            ProtocolError: ``code`` may not be sent (RFC 6455 §7.4), or the reason is over
                123 bytes of UTF-8.
        """
        if close_data is None:
            code, reason = 1000, ""
        else:
            code, raw = close_data
            reason = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        self._close(code, reason)

    def _close(self, code: int, reason: str, drain: bool = True) -> None:
        if self.websocket_closed:
            return
        proto = self._proto
        if not proto.close_sent:
            try:
                self._send_frame(proto.send_close, code, reason)
            except _LocalProtocolError as exc:
                raise ProtocolError(str(exc)) from None
            except OSError:
                drain = False
        if drain and not self._reading and not proto.close_received and self.version != 75:
            self._await_peer_close()  # (hixie-75 has no closing handshake to wait for)
        self._shutdown()

    def _await_peer_close(self) -> None:
        # RFC 6455 §7.1.1: after our Close, read (and drop) until theirs, or EOF, briefly.
        proto = self._proto
        recv = self.socket.recv
        with Timeout(self.close_timeout, False):
            while True:
                try:
                    event = proto.next_event()
                except _RemoteProtocolError:
                    return
                if event is _NEED_DATA:
                    try:
                        data = recv(_RECV_SIZE)
                    except OSError:
                        return
                    proto.receive_data(data)
                elif type(event) is _Close:
                    code = event.code
                    self._remote_close_data = (
                        b"" if code == 1005 else code.to_bytes(2, "big")
                        + event.reason.encode("utf-8"))
                    return
                elif event is _ws.CLOSED:
                    return


#: eventlet's name for the RFC 6455 class: the same class in greenlane.
RFC6455WebSocket = WebSocket


def _environ_headers(environ: Dict[str, Any]) -> Dict[str, str]:
    return {name: environ[key] for name, key in _FIELDS.items() if key in environ}


class WebSocketWSGI:
    """A WSGI application that upgrades each request to a WebSocket and runs ``handler(ws)``.

    Use as ``WebSocketWSGI(handler)`` or as a decorator. The handler runs in the connection's
    green thread; the WebSocket closes when it returns (see :class:`WebSocket`). Requests that
    are not a valid upgrade get 400 (403 for a refused origin, 426 for an unsupported
    ``Sec-WebSocket-Version``), with ``Connection: close`` and an empty body, as eventlet.

    Args:
        handler: ``handler(ws)``, called with a :class:`WebSocket`.
        max_frame_length: the largest frame *and message* accepted, in bytes, after
            decompression (default 8 MiB, eventlet's); larger closes with 1009.
        close_timeout: seconds to wait for the peer's Close frame when closing (default 2).

    Attributes:
        supported_protocols: subprotocols the server speaks; the first one the client lists
            is chosen (``ws.protocol``).
        origin_checker: ``origin_checker(host, origin) -> bool``; false refuses with 403.
        support_legacy_versions: accept hixie-75/76. Unset on an instance, it is the class's:
            False (see the module docs) unless the eventlet alias's eventlet defaults set the class
            attribute True (``greenlane.compat``; eventlet accepted them by default).
    """

    support_legacy_versions: bool = False

    def __init__(self, handler: Handler, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
                 close_timeout: float = CLOSE_TIMEOUT) -> None:
        if type(max_frame_length) is not int or max_frame_length < 1:
            raise ValueError(f"max_frame_length must be a positive int, not "
                             f"{max_frame_length!r}")
        self.handler = handler
        self.max_frame_length = max_frame_length
        self.close_timeout = close_timeout
        self.protocol_version: Optional[int] = None
        self.supported_protocols: List[str] = []
        self.origin_checker: Optional[OriginChecker] = None

    @classmethod
    def configured(cls, handler: Optional[Handler] = None,
                   supported_protocols: Optional[Iterable[str]] = None,
                   origin_checker: Optional[OriginChecker] = None,
                   support_legacy_versions: Optional[bool] = None
                   ) -> Any:
        """``WebSocketWSGI`` with subprotocols, an origin check or legacy versions set; with
        no ``handler``, a decorator that takes it (eventlet API)::

            @WebSocketWSGI.configured(supported_protocols=["chat"])
            def handle(ws): ...
        """
        def decorate(handler: Handler) -> WebSocketWSGI:
            app = cls(handler)
            if support_legacy_versions is not None:
                app.support_legacy_versions = support_legacy_versions
            app.origin_checker = origin_checker
            if supported_protocols:
                app.supported_protocols = list(supported_protocols)
            return app

        if handler is None:
            return decorate
        return decorate(handler)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]
                 ) -> List[bytes]:
        try:
            accept = self._check(environ)
        except BadRequest as exc:
            start_response(exc.status, [("Connection", "close"), *(exc.headers or [])])
            return [exc.body or b""]
        sock = self._take_socket(environ)
        try:
            ws = accept(sock)
        except OSError:
            return []  # the client left during the handshake
        set_idle = environ.get("eventlet.set_idle")
        if set_idle is not None:
            set_idle()
        try:
            self.handler(ws)
        except OSError as exc:
            if exc.errno not in ACCEPTABLE_CLIENT_ERRORS:
                _close_after_error(ws)
                raise
        except Exception:
            _close_after_error(ws)
            raise
        # (A BaseException, such as the server killing the connection, skips closing: no
        # more I/O in a green thread that is being ended; the server closes the socket.)
        ws._close(1000, "")
        return []

    # -- the handshake ------------------------------------------------------------------------

    def _check(self, environ: Dict[str, Any]) -> Callable[[Any], WebSocket]:
        """Validate the upgrade request; return what completes it on the taken socket."""
        headers = _environ_headers(environ)
        if "sec-websocket-version" not in headers and self.support_legacy_versions:
            return self._check_legacy(environ, headers)
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        try:
            request = _ws.validate_request(
                headers, environ.get("REQUEST_METHOD", "GET"),
                protocol[5:] if protocol.startswith("HTTP/") else protocol,
                self.origin_checker)
            chosen = _ws.choose_subprotocol(request.subprotocols, self.supported_protocols)
            deflate = _ws.negotiate(request.extensions)
            head = encode_informational_head(
                101, "Switching Protocols", _ws.response_headers(request, chosen, deflate))
        except _ws.HandshakeError as exc:
            raise BadRequest(_STATUS_LINES.get(exc.status, "400 Bad Request"),
                             headers=list(exc.headers)) from None
        self.protocol_version = request.version
        extensions: Dict[str, Any] = {}
        if deflate is not None:
            extensions["permessage-deflate"] = deflate

        def accept(sock: Any) -> WebSocket:
            sock.sendall(head)
            return WebSocket(sock, environ, request.version, chosen,
                             extensions=extensions, max_frame_length=self.max_frame_length,
                             close_timeout=self.close_timeout)

        return accept

    def _check_legacy(self, environ: Dict[str, Any], headers: Dict[str, str]
                      ) -> Callable[[Any], WebSocket]:
        """hixie-75 (no keys) and hixie-76 (``Sec-WebSocket-Key1``/``Key2``)."""
        if not (_has(headers.get("upgrade"), "websocket")
                and _has(headers.get("connection"), "upgrade")):
            raise BadRequest()
        key1 = environ.get("HTTP_SEC_WEBSOCKET_KEY1")
        key2 = environ.get("HTTP_SEC_WEBSOCKET_KEY2")
        if (key1 is None) != (key2 is None):
            raise BadRequest()
        version = 75 if key1 is None else 76
        origin = environ.get("HTTP_ORIGIN", "")
        if self.origin_checker is not None and not self.origin_checker(
                environ.get("HTTP_HOST"), origin or None):
            raise BadRequest("403 Forbidden")
        scheme = "wss" if environ.get("wsgi.url_scheme") == "https" else "ws"
        location = (f"{scheme}://{environ.get('HTTP_HOST', '')}"
                    f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}")
        query = environ.get("QUERY_STRING")
        if query is not None and (query or environ.get("RAW_PATH_INFO", "").endswith("?")
                                  or environ.get("REQUEST_URI", "").endswith("?")):
            location += "?" + query
        self.protocol_version = version
        if version == 75:
            head = encode_informational_head(101, "Web Socket Protocol Handshake", [
                ("Upgrade", "WebSocket"), ("Connection", "Upgrade"),
                ("WebSocket-Origin", origin), ("WebSocket-Location", location)])
        else:
            fields = [("Upgrade", "WebSocket"), ("Connection", "Upgrade"),
                      ("Sec-WebSocket-Origin", origin)]
            protocol = environ.get("HTTP_SEC_WEBSOCKET_PROTOCOL")
            if protocol is not None:
                fields.append(("Sec-WebSocket-Protocol", protocol))
            fields.append(("Sec-WebSocket-Location", location))
            head = encode_informational_head(101, "WebSocket Protocol Handshake", fields)

        def accept(sock: Any) -> WebSocket:
            data = head
            if version == 76:
                try:
                    key3 = _read_key3(environ, sock)
                    data += _legacy.response_key(str(key1), str(key2), key3)
                except _ws.HandshakeError:
                    raise ConnectionResetError(errno.ECONNRESET, "bad hixie-76 keys") from None
            sock.sendall(data)
            return WebSocket(sock, environ, version, max_frame_length=self.max_frame_length,
                             close_timeout=self.close_timeout)

        return accept

    @staticmethod
    def _take_socket(environ: Dict[str, Any]) -> Any:
        source = environ.get("eventlet.input")
        if source is not None and hasattr(source, "get_socket"):
            return source.get_socket()
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            return sock
        raise RuntimeError("WebSocketWSGI needs environ['eventlet.input'] (greenlane or "
                           "eventlet's server) or environ['gunicorn.socket']")


def _close_after_error(ws: WebSocket) -> None:
    """The handler raised: tell the peer (1011, "internal error") without waiting for its
    answer; the handler's exception is the one to report, not a failure to close."""
    try:
        ws._close(1011, "", drain=False)
    except (OSError, ProtocolError):
        pass


def _has(value: Optional[str], token: str) -> bool:
    return any(part.strip(" \t").lower() == token for part in (value or "").split(","))


def _read_key3(environ: Dict[str, Any], sock: Any) -> bytes:
    """The 8 bytes after a hixie-76 request head: those the server already read past the
    head, then the socket for the rest (the client sends them with the head)."""
    source = environ.get("eventlet.input")
    pending = getattr(source, "pipelined_data", None)
    key3 = pending() if pending is not None else b""
    with Timeout(CLOSE_TIMEOUT, False):
        while len(key3) < 8:
            chunk = sock.recv(8 - len(key3))
            if not chunk:
                break
            key3 += chunk
    return key3[:8]
