"""Where the server's lines go: startup and shutdown, errors, and the access log.

Destinations, as eventlet's ``log`` argument allows:

* ``log=None`` (the default): the ``logging`` logger ``"greenlane.wsgi"``. If nothing in that
  logger's hierarchy has a handler when the server starts (logging was never configured), info
  lines are written to ``sys.stderr`` instead, as eventlet does; warnings and errors still go
  through ``logging``, whose last-resort handler prints them.
* an object with callable ``info`` and ``debug`` (a ``logging.Logger`` or adapter): used as is.
* anything else with ``write``: a file; each line is written with a trailing newline.

The access log costs nothing when it is off (``log_output=False``): the connection checks one
attribute for None. When on, the line is formatted with eventlet's ``log_format`` fields.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Callable, Optional

__all__ = ["DEFAULT_LOG_FORMAT", "LOGGER_NAME", "AccessLog", "ServerLog"]

LOGGER_NAME = "greenlane.wsgi"

DEFAULT_LOG_FORMAT = ('%(client_ip)s - - [%(date_time)s] "%(request_line)s"'
                      ' %(status_code)s %(body_length)s %(wall_seconds).6f')
"""eventlet's access-log format; the same field names are available to ``log_format``:
``client_ip``, ``client_port``, ``date_time``, ``request_line``, ``status_code``,
``body_length`` (body bytes sent; eventlet also counted the head and chunk framing) and
``wall_seconds``."""

_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_logger(obj: Any) -> bool:
    return callable(getattr(obj, "info", None)) and callable(getattr(obj, "debug", None))


class ServerLog:
    """The server's own messages (not the access log).

    Args:
        log: eventlet's ``log`` argument (see the module docstring).
        log_output: False silences info and debug lines (startup, shutdown); errors are
            still reported, unlike eventlet, where ``log_output=False`` also hid application
            tracebacks.
        debug: emit debug lines (accepted connections, timeouts), as eventlet's ``debug``.
    """

    __slots__ = ("_debug", "_error", "_info", "_warning", "logger")

    def __init__(self, log: Any = None, log_output: bool = True, debug: bool = False) -> None:
        self.logger: Optional[Any] = None
        write: Optional[Callable[[str], Any]] = None
        if log is None:
            logger = logging.getLogger(LOGGER_NAME)
            self.logger = logger
            if not logger.hasHandlers():
                write = sys.stderr.write
        elif _is_logger(log):
            self.logger = log
        else:
            write = log.write

        def info_to_file(msg: str) -> None:
            assert write is not None
            write(msg + "\n")

        def info_to_logger(msg: str) -> None:
            assert self.logger is not None
            self.logger.info(msg)

        def debug_to_logger(msg: str) -> None:
            assert self.logger is not None
            self.logger.debug(msg)

        def nothing(msg: str) -> None:
            pass

        info = info_to_file if write is not None else info_to_logger
        self._info: Callable[[str], None] = info if log_output else nothing
        self._debug: Callable[[str], None] = nothing
        if log_output and debug:
            self._debug = info_to_file if write is not None else debug_to_logger

        if write is not None and log is not None:
            # A file: errors go there too, traceback included.
            def error(msg: str, exc_info: bool = False) -> None:
                if exc_info:
                    import traceback

                    msg = msg + "\n" + traceback.format_exc().rstrip("\n")
                info_to_file(msg)

            self._error: Callable[..., None] = error
            self._warning: Callable[[str], None] = info_to_file
        else:
            target = self.logger if self.logger is not None else logging.getLogger(LOGGER_NAME)
            self._error = target.error
            self._warning = target.warning

    def info(self, msg: str) -> None:
        """An informational line (startup, shutdown); dropped with ``log_output=False``."""
        self._info(msg)

    def debug(self, msg: str) -> None:
        """A debug line; emitted only with ``debug=True`` and ``log_output=True``."""
        self._debug(msg)

    def warning(self, msg: str) -> None:
        """A warning; always emitted."""
        self._warning(msg)

    def error(self, msg: str, exc_info: bool = False) -> None:
        """An error, with the current exception's traceback if ``exc_info``; always emitted."""
        self._error(msg, exc_info=exc_info)

    def access_writer(self) -> Callable[[str], None]:
        """The callable that receives formatted access-log lines (the info destination)."""
        return self._info


class AccessLog:
    """Formats one access-log line per response (only constructed when logging is on).

    Args:
        emit: receives each formatted line.
        log_format: eventlet's ``log_format`` (a ``%``-format over named fields).
        log_x_forwarded_for: prefix ``client_ip`` with the ``X-Forwarded-For`` value, as
            eventlet does.
    """

    __slots__ = ("_date", "_date_second", "emit", "log_format", "log_x_forwarded_for")

    def __init__(self, emit: Callable[[str], None], log_format: str = DEFAULT_LOG_FORMAT,
                 log_x_forwarded_for: bool = True) -> None:
        self.emit = emit
        self.log_format = log_format
        self.log_x_forwarded_for = log_x_forwarded_for
        self._date_second = -1
        self._date = ""

    def date_time(self, now: float) -> str:
        """Local time as eventlet logs it (``24/Nov/2026 14:38:00``), cached per second."""
        second = int(now)
        if second != self._date_second:
            t = time.localtime(second)
            self._date = (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year:04d} "
                          f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
            self._date_second = second
        return self._date

    def log(self, environ: dict[str, Any], request_line: str, status_code: int,
            body_length: int, wall_seconds: float) -> None:
        """Format and emit the line for one finished response."""
        client_ip = environ.get("REMOTE_ADDR", "")
        if self.log_x_forwarded_for:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            if forwarded:
                # eventlet's format: the list without its spaces ("1.2.3.4,5.6.7.8,peer").
                client_ip = f"{forwarded.replace(' ', '')},{client_ip}"
        fields = {
            "client_ip": client_ip,
            "client_port": environ.get("REMOTE_PORT", ""),
            "date_time": self.date_time(time.time()),
            "request_line": request_line,
            "status_code": status_code,
            "body_length": body_length,
            "wall_seconds": wall_seconds,
        }
        self.emit(self.log_format % fields)
