"""greenlane.green._dns: the system resolver in the thread pool, numeric fast paths inline.

Every look-up here is answered locally (``/etc/hosts``, the services database, numeric
addresses), so nothing leaves the machine. Whether a call went through the thread pool is
observed the way a user would notice it: with the pool's only thread busy, a call that needs
the pool waits (and times out), while one that does not returns at once.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from greenlane import tpool
from greenlane.green import _dns
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import _context
from greenlane.timeout import Timeout

WAIT = 10.0


@pytest.fixture
def busy_pool() -> Iterator[None]:
    """A pool of one thread, kept busy for the duration of the test."""
    tpool.set_num_threads(1)
    gate = threading.Event()
    blocker = spawn(tpool.execute, gate.wait, WAIT)
    sleep(0)
    try:
        yield
    finally:
        gate.set()
        blocker.wait()
        tpool.set_num_threads(tpool.DEFAULT_SIZE)


def _needs_pool(fn: Callable[..., Any], *args: Any) -> bool:
    """With the pool busy: True if the call had to wait for it (it timed out)."""
    try:
        with Timeout(0.05):
            fn(*args)
    except Timeout:
        return True
    return False


@pytest.mark.parametrize("args", [
    ("localhost", 80),
    ("localhost", 80, socket.AF_INET, socket.SOCK_STREAM),
    ("localhost", "http", 0, 0, 0, socket.AI_CANONNAME),
    ("127.0.0.1", 443),
    ("::1", "80", socket.AF_INET6),
    (None, 8080, 0, socket.SOCK_DGRAM, 0, socket.AI_PASSIVE),
    ("127.0.0.1", b"80", 0, 0, 0, socket.AI_NUMERICHOST | socket.AI_NUMERICSERV),
])
def test_getaddrinfo_answers_as_the_stdlib(args: tuple[Any, ...]) -> None:
    try:
        expected = socket.getaddrinfo(*args)
    except socket.gaierror as exc:  # e.g. no IPv6 on this machine: the same error then
        with pytest.raises(socket.gaierror) as info:
            _dns.getaddrinfo(*args)
        assert info.value.args == exc.args
        return
    assert _dns.getaddrinfo(*args) == expected


def test_the_other_functions_answer_as_the_stdlib() -> None:
    assert _dns.gethostbyname("localhost") == socket.gethostbyname("localhost")
    assert _dns.gethostbyname("10.1.2.3") == "10.1.2.3"
    assert _dns.gethostbyname_ex("localhost") == socket.gethostbyname_ex("localhost")
    assert _dns.gethostbyaddr("127.0.0.1") == socket.gethostbyaddr("127.0.0.1")
    assert _dns.getnameinfo(("127.0.0.1", 80), 0) == socket.getnameinfo(("127.0.0.1", 80), 0)
    numeric = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    assert _dns.getnameinfo(("127.0.0.1", 80), numeric) == ("127.0.0.1", "80")
    assert _dns.getfqdn("localhost") == socket.getfqdn("localhost")


def test_errors_are_the_resolvers_own() -> None:
    with pytest.raises(socket.gaierror) as expected:
        socket.getaddrinfo("localhost", "no-such-service-here")
    with pytest.raises(socket.gaierror) as got:
        _dns.getaddrinfo("localhost", "no-such-service-here")
    assert type(got.value) is type(expected.value)
    assert got.value.args == expected.value.args  # EAI_SERVICE and its message
    # A bad argument: whatever this interpreter raises (OSError on CPython, TypeError on PyPy).
    with pytest.raises(Exception) as bad:
        socket.getaddrinfo("localhost", 1.5)
    with pytest.raises(type(bad.value)) as got_bad:
        _dns.getaddrinfo("localhost", 1.5)
    assert got_bad.value.args == bad.value.args


def test_names_are_resolved_in_the_pool_while_other_green_threads_run(busy_pool: None) -> None:
    gt = spawn(_dns.getaddrinfo, "localhost", 80)
    ticks = 0
    for _ in range(10):
        sleep(0)
        ticks += 1
    assert ticks == 10 and not gt.dead  # waiting for the pool, without blocking the hub
    gt.kill()
    for fn, args in [(_dns.getaddrinfo, ("localhost", 80)),
                     (_dns.getaddrinfo, ("127.0.0.1", "http")),  # a service name
                     (_dns.getaddrinfo, ("127.0.0.1", 80, 0, 0, 0, socket.AI_CANONNAME)),
                     (_dns.gethostbyname, ("localhost",)),
                     (_dns.gethostbyname_ex, ("localhost",)),
                     (_dns.gethostbyaddr, ("127.0.0.1",)),
                     (_dns.getnameinfo, (("127.0.0.1", 80), 0)),
                     (_dns.getfqdn, ("localhost",))]:
        assert _needs_pool(fn, *args), (fn.__name__, args)


def test_numeric_addresses_never_need_the_pool(busy_pool: None) -> None:
    numeric = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    for fn, args in [(_dns.getaddrinfo, ("127.0.0.1", 80)),
                     (_dns.getaddrinfo, ("::1", "8080", socket.AF_INET6)),
                     (_dns.getaddrinfo, (None, 80, 0, 0, 0, socket.AI_PASSIVE)),
                     (_dns.getaddrinfo, ("127.0.0.1", "443", 0, 0, 0,
                                         socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)),
                     (_dns.gethostbyname, ("10.0.0.1",)),
                     (_dns.gethostbyname_ex, ("10.0.0.1",)),
                     (_dns.getnameinfo, (("127.0.0.1", 80), numeric))]:
        try:
            assert not _needs_pool(fn, *args), (fn.__name__, args)
        except socket.gaierror:
            assert args[0] == "::1"  # no IPv6 here: the error came at once all the same


def test_a_thread_without_a_hub_resolves_in_place(busy_pool: None) -> None:
    out: list[Any] = []

    def plain_thread() -> None:
        out.append(_dns.getaddrinfo("localhost", 80))
        out.append(_context.current.hub)

    t = threading.Thread(target=plain_thread)
    t.start()
    t.join(WAIT)  # with the pool busy, a trip through it would take WAIT seconds
    assert not t.is_alive()
    assert out == [socket.getaddrinfo("localhost", 80), None]  # and no hub was made there


def test_patch_declaration() -> None:
    ((group, module, names),) = _dns.__patches__
    assert (group, module) == ("socket", "socket")
    assert set(names) == set(_dns.__all__)
    for name in names:
        assert callable(getattr(_dns, name)) and hasattr(socket, name)


def test_getnameinfo_refuses_a_non_tuple_in_the_calling_thread(busy_pool: None) -> None:
    # CPython's testRefCountGetNameInfo: the TypeError comes at once (the busy pool is not
    # waited for) and is the stdlib's, and handling it keeps no extra reference to the
    # argument (an error raised in the pool would, through its traceback's frames).
    name = "".join(["not", "-a-tuple"])
    with pytest.raises(TypeError) as expected:
        socket.getnameinfo(name, 0)  # type: ignore[arg-type]
    refcount = getattr(sys, "getrefcount", None)  # CPython only
    before = refcount(name) if refcount is not None else 0
    try:
        with Timeout(0.05):
            _dns.getnameinfo(name, 0)  # type: ignore[arg-type]
    except TypeError as exc:
        assert exc.args == expected.value.args
        if refcount is not None:
            assert refcount(name) == before
    else:
        pytest.fail("getnameinfo accepted a string as sockaddr")
