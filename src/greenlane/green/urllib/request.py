"""The ``urllib.request`` module with cooperative HTTP(S): ``greenlane.green.urllib.request``.

Every name of the stdlib ``urllib.request`` module is here. Replaced:

* ``HTTPHandler`` and ``HTTPSHandler``: subclasses of the stdlib's that open their connections
  with ``greenlane.green.http.client``'s classes, so HTTP and HTTPS suspend only the calling
  green thread even without ``monkey_patch()``.
* ``build_opener(*handlers)``: the stdlib's, with those two handlers as defaults. A handler
  passed for HTTP or HTTPS replaces the green default, as in the stdlib; pass this module's
  ``HTTPSHandler(context=...)`` for a custom TLS context.
* ``urlopen()``: the stdlib's contract (``url``, ``data``, ``timeout``, ``context``); it uses
  the opener installed with ``install_opener()`` if that one is green (built by this module's
  ``build_opener``, or any opener once ``socket`` is monkey patched), else a green opener. The
  stdlib's ``urlopen`` caches an opener of its own in the same place, which is not green
  without patching; that is why an installed opener is checked rather than trusted.

Not made green (they use the stdlib's ``urlopen`` or plain sockets; cooperative once the stdlib
is monkey patched): ``urlretrieve``, the legacy ``URLopener`` classes, ``FTPHandler``. The
deprecated ``cafile``/``capath``/``cadefault`` arguments of ``urlopen`` (removed in Python 3.13)
are not accepted: pass ``context``.

Differences from eventlet's ``eventlet.green.urllib.request``: eventlet re-imports a private
copy of the stdlib module on green ``http.client``/``socket``/``ssl`` modules, so its classes
are distinct from the stdlib's; here every name but the four above is the stdlib's object.
"""

from __future__ import annotations

import http.client as _stdclient
import socket as _stdsocket
import urllib.request as _stdrequest
from typing import TYPE_CHECKING, Any, Optional, Union

from greenlane.green.http import client as _green_client

if not TYPE_CHECKING:
    # The stdlib's names; hidden from mypy, for which the definitions below would otherwise
    # be redefinitions of the stdlib's.
    from urllib.request import *  # noqa: F403

__all__ = list(_stdrequest.__all__)

_GREEN_CLASSES: dict[type, type] = {
    _stdclient.HTTPConnection: _green_client.HTTPConnection,
    _stdclient.HTTPSConnection: _green_client.HTTPSConnection,
}


def _green(http_class: Any) -> Any:
    return _GREEN_CLASSES.get(http_class, http_class)


class HTTPHandler(_stdrequest.HTTPHandler):
    """``urllib.request.HTTPHandler`` opening ``greenlane.green.http.client`` connections."""

    def do_open(self, http_class: Any, req: Any, **http_conn_args: Any) -> Any:
        """Open ``req`` with the green counterpart of ``http_class``."""
        return super().do_open(_green(http_class), req, **http_conn_args)


class HTTPSHandler(_stdrequest.HTTPSHandler):
    """``urllib.request.HTTPSHandler`` opening ``greenlane.green.http.client`` connections.

    Same constructor (``debuglevel``, ``context``, ``check_hostname``) as the stdlib's.
    """

    def do_open(self, http_class: Any, req: Any, **http_conn_args: Any) -> Any:
        """Open ``req`` with the green counterpart of ``http_class``."""
        return super().do_open(_green(http_class), req, **http_conn_args)


def _handles(handler: Any, base: type) -> bool:
    # The stdlib's rule for replacing a default handler: a subclass, or an instance of one.
    if isinstance(handler, type):
        return issubclass(handler, base)
    return isinstance(handler, base)


def build_opener(*handlers: Union[_stdrequest.BaseHandler, type[_stdrequest.BaseHandler]]
                 ) -> _stdrequest.OpenerDirector:
    """An ``OpenerDirector`` with the stdlib's default handlers, green HTTP and HTTPS ones.

    As with the stdlib's: ``handlers`` (instances or classes) are added, and replace the
    default handler they subclass.
    """
    defaults = [green for green, base in ((HTTPHandler, _stdrequest.HTTPHandler),
                                          (HTTPSHandler, _stdrequest.HTTPSHandler))
                if not any(_handles(h, base) for h in handlers)]
    return _stdrequest.build_opener(*defaults, *handlers)


def _is_green(opener: _stdrequest.OpenerDirector) -> bool:
    from greenlane.patcher import is_monkey_patched

    if is_monkey_patched("socket"):
        return True
    handlers = getattr(opener, "handlers", ())
    return any(isinstance(h, (HTTPHandler, HTTPSHandler)) for h in handlers)


def urlopen(url: Union[str, _stdrequest.Request], data: Optional[Any] = None,
            timeout: Optional[float] = _stdsocket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
            *, context: Optional[Any] = None) -> Any:
    """Open ``url`` (a string or a ``Request``) and return the response, cooperatively.

    Same contract as ``urllib.request.urlopen``: ``data`` makes it a POST, ``timeout`` is the
    socket timeout in seconds, ``context`` an ``ssl.SSLContext`` for HTTPS. Raises
    ``urllib.error.URLError`` (``HTTPError`` for an error status) as the stdlib does.
    """
    opener: Optional[_stdrequest.OpenerDirector]
    if context is not None:
        opener = build_opener(HTTPSHandler(context=context))
    else:
        opener = getattr(_stdrequest, "_opener", None)
        if opener is None or not _is_green(opener):
            opener = build_opener()
    return opener.open(url, data, timeout)
