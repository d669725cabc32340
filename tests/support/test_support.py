"""greenlane.support: get_errno, bytes_to_str and the greenlets re-export."""

from __future__ import annotations

import errno

import greenlet

from greenlane import spawn
from greenlane.support import bytes_to_str, get_errno, greenlets


def test_get_errno_prefers_the_errno_attribute() -> None:
    assert get_errno(OSError(errno.EPIPE, "broken pipe")) == errno.EPIPE
    assert get_errno(ConnectionResetError(errno.ECONNRESET, "reset")) == errno.ECONNRESET


def test_get_errno_falls_back_to_the_first_argument() -> None:
    assert get_errno(OSError("no errno here")) == "no errno here"
    assert get_errno(RuntimeError(7, "seven")) == 7
    assert get_errno(RuntimeError()) is None


def test_bytes_to_str_decodes_ascii_by_default() -> None:
    assert bytes_to_str(b"abc") == "abc"
    assert bytes_to_str("é".encode(), "utf-8") == "é"


def test_greenlets_are_greenlet_itself() -> None:
    assert greenlets.greenlet is greenlet.greenlet
    assert greenlets.GreenletExit is greenlet.GreenletExit
    assert greenlets.getcurrent() is greenlet.getcurrent()
    gt = spawn(greenlets.getcurrent)
    assert isinstance(gt, greenlets.greenlet)
    assert gt.wait() is gt
