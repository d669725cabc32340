"""What the stdlib runner skips, and why: one ``Skip`` per entry, one reason each.

An entry names tests by id, as ``module.Class.method`` or ``module.Class`` (every test of the
class) or ``module`` (the whole module), with the ``test.`` package prefix left off:
``test_socket.GeneralModuleTests.testSendtoErrors``. Shell-style wildcards are allowed
(``test_socket.*SendfileTest.testNonBlocking``); ``*`` also crosses dots. Matching tests are
taken out of the suite before it runs and reported as skipped with the reason, so the test
sources are never rewritten, and a class whose tests are all skipped never runs its
``setUpClass``.

Every entry has a ``kind``, which also says in which mode it applies:

* ``GREEN``: cannot work under greenlet-based patching, whatever greenlane does (it checks
  ``__module__`` of a patched object, interrupts the main thread with ``pthread_kill``, needs
  two threads to run Python code at the same time). Patched runs only.
* ``FLAKY``: timing-sensitive, and fails now and then on a loaded 2-core machine with or
  without greenlane. Both modes, so that the comparison stays fair.
* ``INTERNET``: would reach the internet (a name lookup or connection to a public host). Both
  modes.
* ``ENVIRONMENT``: fails without greenlane too, because of this machine or interpreter build
  (an OpenSSL version, a kernel setting). Both modes.

A test that fails because greenlane lacks something or has a bug never goes here: it is a
failure to fix, and the runner's exit status says so.

Conditions narrow an entry: ``since``/``before`` (a ``(major, minor)`` Python version,
inclusive/exclusive), ``implementation`` (``"cpython"`` or ``"pypy"``), ``ci`` (True: only when
the ``CI`` environment variable is set; False: only when it is not).

``NETWORK_MODULES`` are the modules whose tests may use the 'network' resource (otherwise off,
so that nothing reaches the internet): each only talks to the loopback interface, but asks for
'network' for the whole module.

Used by the child (``bootstrap``) to filter the suite and by the parent to report entries that
matched nothing (stale). Imports only the standard library.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass
from typing import Iterable, Optional

__all__ = ["ENVIRONMENT", "FLAKY", "GREEN", "INTERNET", "KINDS", "NETWORK_MODULES", "SKIPS",
           "Platform", "Skip", "active_skips", "check_skips", "find_skip"]

GREEN = "green"
FLAKY = "flaky"
INTERNET = "internet"
ENVIRONMENT = "environment"
KINDS = (GREEN, FLAKY, INTERNET, ENVIRONMENT)


@dataclass(frozen=True)
class Platform:
    """Where and how a run happens: what a ``Skip``'s conditions are checked against."""

    version: tuple[int, int]
    implementation: str  # sys.implementation.name: "cpython", "pypy"
    ci: bool
    patched: bool

    @classmethod
    def current(cls, *, patched: bool) -> Platform:
        """The running interpreter; ``ci`` is true when ``CI`` is set to anything but ""/0/false."""
        ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
        return cls(version=(sys.version_info[0], sys.version_info[1]),
                   implementation=sys.implementation.name, ci=ci, patched=patched)


@dataclass(frozen=True)
class Skip:
    """One skip-list entry: a test id pattern, why it is skipped, and when.

    Raises ``ValueError`` on construction for an empty pattern or reason, an unknown kind or
    implementation, or a version range that is empty.
    """

    pattern: str
    reason: str
    kind: str
    since: Optional[tuple[int, int]] = None
    before: Optional[tuple[int, int]] = None
    implementation: Optional[str] = None
    ci: Optional[bool] = None

    def __post_init__(self) -> None:
        if not self.pattern or self.pattern != self.pattern.strip() or " " in self.pattern:
            raise ValueError(f"skip pattern {self.pattern!r} must be a test id without spaces")
        if not self.reason.strip():
            raise ValueError(f"skip {self.pattern!r} has no reason")
        if self.kind not in KINDS:
            raise ValueError(f"skip {self.pattern!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.implementation not in (None, "cpython", "pypy"):
            raise ValueError(f"skip {self.pattern!r}: implementation {self.implementation!r} "
                             f"is not 'cpython' or 'pypy'")
        if self.since is not None and self.before is not None and self.since >= self.before:
            raise ValueError(f"skip {self.pattern!r}: since={self.since} is not before "
                             f"before={self.before}")

    @property
    def module(self) -> str:
        """The test module the pattern names (its first dotted part)."""
        return self.pattern.split(".", 1)[0]

    def applies(self, platform: Platform) -> bool:
        """Whether the entry is in force on ``platform`` (mode, version, implementation, CI)."""
        if self.kind == GREEN and not platform.patched:
            return False
        if self.since is not None and platform.version < self.since:
            return False
        if self.before is not None and platform.version >= self.before:
            return False
        if self.implementation is not None and platform.implementation != self.implementation:
            return False
        return self.ci is None or self.ci == platform.ci

    def matches(self, test_id: str) -> bool:
        """Whether ``test_id`` (``module.Class.method``) is the pattern or lies under it."""
        return (fnmatch.fnmatchcase(test_id, self.pattern)
                or fnmatch.fnmatchcase(test_id, self.pattern + ".*"))


def active_skips(platform: Platform, skips: Optional[Iterable[Skip]] = None) -> list[Skip]:
    """The entries of ``skips`` (default: ``SKIPS``) in force on ``platform``."""
    return [skip for skip in (SKIPS if skips is None else skips) if skip.applies(platform)]


def find_skip(test_id: str, skips: Iterable[Skip]) -> Optional[Skip]:
    """The first entry of ``skips`` matching ``test_id``, or None."""
    for skip in skips:
        if skip.matches(test_id):
            return skip
    return None


def check_skips(skips: Iterable[Skip]) -> None:
    """Raise ``ValueError`` if two entries share a pattern and could both be in force."""
    seen: dict[str, list[Skip]] = {}
    for skip in skips:
        for other in seen.get(skip.pattern, []):
            disjoint = (skip.implementation not in (None, other.implementation)
                        and other.implementation is not None) or (
                skip.ci is not None and other.ci is not None and skip.ci != other.ci) or (
                _before(skip, other) or _before(other, skip))
            if not disjoint:
                raise ValueError(f"skip list names {skip.pattern!r} twice with overlapping "
                                 f"conditions")
        seen.setdefault(skip.pattern, []).append(skip)


def _before(first: Skip, second: Skip) -> bool:
    # True if every version ``first`` covers is older than every version ``second`` covers.
    return (first.before is not None and second.since is not None
            and first.before <= second.since)


# Modules that ask for the 'network' resource for everything, while talking only to loopback.
NETWORK_MODULES = frozenset({
    "test_socketserver",  # module level requires("network"); every server binds 127.0.0.1
    "test_timeout",  # setUpModule requires('network'); the internet-bound tests are skipped
})

SKIPS: tuple[Skip, ...] = (
    # ---------------------------------------------------------------- this machine
    Skip("test_socket.ThreadedVSOCKSocketStreamTest",
         "the machine has /dev/vsock but a connection to the local CID never completes: "
         "setUp's accept() blocks forever without greenlane too", ENVIRONMENT),
    Skip("test_socket.GeneralModuleTests.test_getaddrinfo_ipv6_scopeid_symbolic",
         "PyPy 7.3.11's socket module has no if_nameindex()", ENVIRONMENT,
         implementation="pypy"),
    Skip("test_socket.GeneralModuleTests.test_getnameinfo_ipv6_scopeid_symbolic",
         "PyPy 7.3.11's socket module has no if_nameindex()", ENVIRONMENT,
         implementation="pypy"),
    # ---------------------------------------------------------------- green threads
    # The fd under a green socket is always O_NONBLOCK (the hub waits on it), whatever the
    # socket's timeout; gettimeout() and getblocking() are what these tests check first, and
    # those pass. Only the fcntl() check of the fd's flag cannot.
    Skip("test_socket.NonBlockingTCPTests.testSetBlocking",
         "checks with fcntl() that the fd has no O_NONBLOCK when the timeout is None; a "
         "green socket's fd is always non-blocking so that the hub can wait on it", GREEN),
    Skip("test_socket.NonBlockingTCPTests.testSetBlocking_overflow",
         "fcntl() check of O_NONBLOCK, as testSetBlocking", GREEN),
    Skip("test_socket.NonblockConstantTest.test_SOCK_NONBLOCK",
         "fcntl() check of O_NONBLOCK after setblocking(True), as testSetBlocking", GREEN),
    Skip("test_socket.GeneralModuleTests.test_SocketType_is_socketobject",
         "asserts socket.SocketType is _socket.socket; greenlane's SocketType is GreenSocket "
         "(as eventlet's), which wraps a real socket instead of subclassing it, so that "
         "isinstance(socket.socket(), socket.SocketType) holds", GREEN),
    Skip("test_threading.ThreadTests.test_various_ops*",
         "expects each thread to have its own native (OS) thread id; green threads share "
         "their OS thread's, and get_native_id() does not pretend otherwise", GREEN),
    Skip("test_threading.ThreadTests.test_PyThreadState_SetAsyncExc",
         "targets a thread's C thread state by its id through ctypes; green threads share "
         "their OS thread's state", GREEN),
    Skip("test_threading.InterruptMainTests.test_can_interrupt_tight_loops",
         "the main thread busy-waits for a worker that busy-waits too: needs preemptive "
         "threads (a green thread runs only when the running one blocks)", GREEN,
         since=(3, 10)),
    Skip("test_signal.StressTest.test_stress_modifying_handlers",
         "a thread raising signals in a loop and the main thread changing handlers in a loop, "
         "neither blocking: needs preemptive threads, hangs with green ones", GREEN),
    Skip("test_queue.*.test_shutdown_all_methods_in_many_threads",
         "reader threads poll get(block=False) in a loop until shutdown() is called by "
         "another thread: busy-waiting that needs preemptive threads", GREEN, since=(3, 13)),
    Skip("test_queue.*.test_shutdown_immediate_all_methods_in_many_threads",
         "busy-polling readers, as test_shutdown_all_methods_in_many_threads", GREEN,
         since=(3, 13)),
    # ---------------------------------------------------------------- the internet
    Skip("test_timeout.TCPTimeoutTestCase",
         "setUp resolves www.python.org and two tests connect to pythontest.net: the internet",
         INTERNET),
)

check_skips(SKIPS)
