"""The only place the WSGI server renders error responses (style anchor 6: one renderer).

Every response the server makes up by itself, rather than relaying from the application, is
built here from ``_http1.build_simple_response``: protocol errors found by the parser (400,
414, 431, 501, 505), the 500 for an application that failed before sending headers, and the
408/503 the server may answer when it gives up on a request. Grep for ``b"HTTP/1.`` should find
nothing else in ``greenlane.wsgi``.

Bodies are short, fixed text: the status line and nothing the client sent. A traceback goes
into the 500 body only when the server runs with ``debug=True`` (eventlet's default was True;
greenlane's is False, because tracebacks disclose paths, code and sometimes secrets).
"""

from __future__ import annotations

from http import HTTPStatus

from greenlane._http1 import RemoteProtocolError, build_simple_response

__all__ = ["reason_phrase", "render_app_error", "render_protocol_error", "render_status"]


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Unknown"`` for unregistered codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def render_status(status: int, *, close: bool = True) -> bytes:
    """A complete response with ``status`` and a one-line text body naming it.

    Args:
        status: a 4xx or 5xx code.
        close: add ``Connection: close`` (every error the server makes up closes the
            connection except when it says otherwise).

    Returns:
        The bytes to send.
    """
    return _render(status, "", close)


def render_protocol_error(exc: RemoteProtocolError) -> bytes:
    """The response to a request the parser rejected; always closes the connection.

    The status is the error's ``error_status_hint``; its message is not echoed, so nothing the
    peer sent is reflected back (the parser promises that anyway, this is belt and braces).
    """
    status = exc.error_status_hint
    if not 400 <= status <= 599:
        status = 400
    return render_status(status)


def render_app_error(traceback_text: str = "") -> bytes:
    """The 500 for an application that raised before its response headers went out.

    Args:
        traceback_text: included in the body only when non-empty, which the server does only
            with ``debug=True``.
    """
    return _render(500, traceback_text, True)


def _render(status: int, detail: str, close: bool) -> bytes:
    # build_simple_response adds the text/plain Content-Type.
    reason = reason_phrase(status)
    text = f"{status} {reason}\n\n{detail}" if detail else f"{status} {reason}\n"
    return build_simple_response(status, reason, text.encode("utf-8", "replace"), close=close)
