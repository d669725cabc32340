"""Expected results of eventlet's test suite against greenlane, each with its reason.

An entry names a test id (``tests/file.py::Class::test``), a class (``tests/file.py::Class``),
a whole file (``tests/file.py``; it also covers the file failing to be collected) or every file
(``tests/``); the most specific entry covering a test applies. ``message``, a regular
expression, narrows an entry to the failures whose message it finds (a test that passes is then
not covered by it, and must pass unless the baseline says otherwise). ``outcome``: ``"fail"``
(failed or error), ``"skip"``, or ``"any"`` (outcome not meaningful here; say why).
``mode``: ``"per-file"`` or ``"one-process"`` when the entry holds in that mode only. ``kind``
classifies the reason:

* ``missing``: greenlane lacks the feature yet (the work list of issues 8 and 10);
* ``bug``: a greenlane bug, to fix;
* ``difference``: a deliberate difference, documented in the greenlane docstring cited;
* ``internal``: the test checks an internal detail of eventlet, not behaviour users rely on;
* ``triage``: not analysed yet; the reason gives the symptom (to be sorted into the above);
* ``cascade``: the test fails only because an earlier test in the same process left work on the
  hub (eventlet's ``tearDown`` then fails every later test); the earlier test is listed itself.

A test listed here that passes is an unexpected result too: remove its entry. The entries
were drafted from a run (``.cache/last-run.json``) and each reason checked against the test's
source and the greenlane docstring cited; ``python -m compat.eventlet`` prints what no longer
matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

__all__ = ["EXPECTED", "Expect"]

KINDS = ("missing", "bug", "triage", "difference", "internal", "cascade")


@dataclass(frozen=True)
class Expect:
    """One expected non-passing result and why."""

    test: str
    outcome: str
    kind: str
    reason: str
    mode: Optional[str] = None
    message: Optional[str] = None

    def __post_init__(self) -> None:
        if self.outcome not in ("fail", "skip", "any"):
            raise ValueError(f"{self.test}: outcome {self.outcome!r} is not fail/skip/any")
        if self.kind not in KINDS:
            raise ValueError(f"{self.test}: kind {self.kind!r} is not one of {KINDS}")
        if self.mode not in (None, "per-file", "one-process"):
            raise ValueError(f"{self.test}: mode {self.mode!r}")
        if self.message is not None:
            re.compile(self.message)  # a typo in a pattern fails at import, not mid-run
        if not self.reason.strip():
            raise ValueError(f"{self.test}: a reason is required")


def _each(tests: list[str], outcome: str, kind: str, reason: str,
          mode: Optional[str] = None) -> list[Expect]:
    return [Expect(test, outcome, kind, reason, mode) for test in tests]


EXPECTED: list[Expect] = [
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_skip_nonblocking',
    ], 'fail', 'difference',
        'GreenSocket(sock, set_nonblocking=False) is accepted but the descriptor is still made '
        'non-blocking (a blocking one would stall every green thread; greenlane.greenio '
        'GreenSocket docstring); the test asserts it stays blocking'),
    *_each([
        'tests/patcher_test.py::test_blocking_select_methods_are_deleted',
    ], 'fail', 'difference',
        'monkey_patch(select=True) replaces select.poll/epoll and selectors.PollSelector/'
        'EpollSelector with cooperative versions instead of deleting them (greenlane.green.select '
        'and greenlane.green.selectors docstrings); the test asserts they are gone'),
    *_each([
        'tests/patcher_test.py::test_fork_after_monkey_patch',
        'tests/patcher_test.py::test_fork_after_monkey_patch_threading',
        'tests/patcher_test.py::test_fork_in_thread_after_monkey_patch_threading',
    ], 'fail', 'difference',
        'after os.fork() the child keeps only the green thread that forked, on a fresh hub (the '
        'others are marked finished: greenlane.green.threading and greenlane.green.os '
        "docstrings); the tests expect the parent's green threads to go on running in the child "
        "(the first then hangs: the test's own threads never stop once its assert failed)"),
    *_each([
        'tests/patcher_test.py::test_patcher_existing_locks',
    ], 'fail', 'difference',
        "RLocks made before monkey_patch in class attributes, dicts and lists stay real: greenlane "
        "greens logging's and concurrent.futures' locks and reports any other real lock in a "
        "module's globals (greenlane.patcher and greenlane.green.threading docstrings); eventlet "
        'walks every module, class, dict and list for RLocks'),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_recv_into_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_recv_timeout',
    ], 'fail', 'difference',
        'recv(0) and recv_into(empty buffer) on an idle socket with a timeout return b""/0 at '
        "once, as CPython's own sockets do, instead of timing out as eventlet's (and PyPy's "
        'sockets, where this test passes) do (greenlane.greenio GreenSocket docstring)'),
    *_each([
        'tests/greenio_test.py::TestGreenPipe::test_truncate',
    ], 'fail', 'difference',
        "GreenPipe's files truncate as open()'s do, leaving the position where it was (10); "
        "eventlet's moves it to the new size (9) (greenlane.greenio GreenPipe docstring)"),
    *_each([
        'tests/socket_test.py::test_recv_into_type',
        'tests/socket_test.py::test_recv_type',
    ], 'fail', 'difference',
        "the test's server thread ends, closing its listener with the client's connection "
        'still in the backlog, so the kernel resets it: eventlet\'s GreenSocket.recv/recv_into '
        'return b""/0 on ECONNRESET, ENOTCONN and ESHUTDOWN (its SOCKET_CLOSED errnos), '
        "greenlane's raise ConnectionResetError as the stdlib does (greenlane.greenio "
        'GreenSocket docstring)'),
    *_each([
        'tests/wsgi_test.py::IterableAlreadyHandledTest::test_iterable_app_keeps_socket_open_unless_connection_close_sent',
        'tests/wsgi_test.py::ProxiedIterableAlreadyHandledTest::test_iterable_app_keeps_socket_open_unless_connection_close_sent',
        'tests/wsgi_test.py::TestHttpd::test_zero_length_chunked_response',
    ], 'fail', 'difference',
        'an application returning an empty iterable gets Content-Length: 0, not an empty '
        'chunked body (greenlane.wsgi._response docstring: framing)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_012_ssl_server',
    ], 'fail', 'difference',
        "start_response('200 OK', {}): headers must be a list of tuples (PEP 3333; "
        'greenlane.wsgi._response docstring), a dict gets a 500'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_017_ssl_zeroreturnerror',
    ], 'fail', 'internal',
        "builds eventlet's internal wsgi.Server(sock, addr, app, log) positionally; greenlane's "
        'Server is its own class (keyword arguments)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_018b_http_10_keepalive_framing',
    ], 'fail', 'difference',
        'Expect: 100-continue in an HTTP/1.0 request is ignored (RFC 9110 section 10.1.1), so '
        'the unread body sent with it is drained and the connection kept; eventlet closes it'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_024_expect_100_continue',
    ], 'fail', 'difference',
        'after a final response that leaves a body unread the server lingers (reads and drops '
        'up to 256 KiB for up to 2 s) before closing, so a reset cannot destroy the response '
        "(greenlane.wsgi._conn LINGER_*); the test expects its 2.5 MB write to fail at once"),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_024b_expect_100_continue_with_headers_multiple_chunked',
    ], 'fail', 'difference',
        'a chunked request body ends at its last chunk (RFC 9112 section 7.1); the test sends '
        'a second chunked body after it and expects read() to return it too'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post',
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post_bad_chunks',
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post_between_chunks',
    ], 'fail', 'difference',
        'Transfer-Encoding in an HTTP/1.0 request is answered 400 without calling the '
        'application (greenlane.wsgi docstring, strict framing); the test waits for it'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_content_length_and_transfer_encoding_escape_hatch',
    ], 'fail', 'difference',
        'passes a custom protocol class, which greenlane.wsgi.server() refuses with TypeError '
        '(greenlane.wsgi docstring); the request smuggling escape hatch it tests does not exist'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_header_name_capitalization',
    ], 'fail', 'difference',
        'a response header name must be an RFC 9110 token; latin-1 letters in it get a 500 '
        '(greenlane.wsgi._response docstring)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_server_connection_timeout_exception',
    ], 'fail', 'internal',
        "its script uses eventlet.greenio._fileobject, a private eventlet class"),
    *_each([
        'tests/convenience_test.py::TestServe::test_excepting_server',
        'tests/convenience_test.py::TestServe::test_excepting_server_already_closed',
    ], 'fail', 'difference',
        'serve() keeps accepting when a handler raises (greenlane.convenience docstring); the'
        ' test waits for serve() to re-raise and times out, leaving serve() parked'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_server_keepalive_as_timeout',
    ], 'any', 'internal',
        "timing-dependent: the test sleeps exactly the 0.1 s idle timeout before sending its"
        " second request. The idle timeout counts from the end of the response, so the server"
        " normally closes first and the client reads EOF;"
        " if the request still arrives first, the server closes with it unread and the kernel"
        " answers with a reset (ECONNRESET)"),
    *_each([
        'tests/hub_test.py::TestTimerCleanup::test_cancel_accumulated',
        'tests/hub_test.py::TestTimerCleanup::test_cancel_immediate',
    ], 'any', 'difference',
        'in one process, cancelled timers left in the heap by earlier files count in '
        'timers_canceled but not in get_timers_count() (pending timers only, '
        "BaseHub.get_timers_count docstring; eventlet's counts them too), so the asserted "
        'timers_canceled <= get_timers_count() + 1 fails if more than the pending ones are '
        'left; the hub drops them when it next blocks on a timer, which usually happened '
        'before these tests (they pass then, and always per file)', mode='one-process'),
    *_each([
        'tests/convenience_test.py::TestServe::test_exiting_server',
    ], 'any', 'internal',
        "timing-dependent: the handler returns without reading the client's byte, and closing"
        " a socket with unread data makes the kernel reset the connection, so the client's"
        " recv() gets b'' or ECONNRESET depending on when the byte arrived (eventlet's own"
        " result flips the same way under strace)"),
    *_each([
        'tests/convenience_test.py::test_socket_reuse',
    ], 'fail', 'difference',
        'listen() does not set SO_REUSEPORT by default (greenlane.convenience docstring): two'
        ' listeners on one port fail with EADDRINUSE'),
    *_each([
        'tests/hub_test.py::TestHubBlockingDetector::test_block_detect',
    ], 'fail', 'difference',
        'hub_blocking_detection reports a green thread that blocks the hub (stack to stderr) '
        'and does not raise RuntimeError in it (greenlane.debug docstring)'),
    *_each([
        'tests/hub_test.py::TestTimerCleanup::test_cancel_proportion',
    ], 'fail', 'difference',
        'get_timers_count() counts the timers still pending, not the cancelled entries '
        "awaiting compaction in the heap as eventlet's does (BaseHub.get_timers_count "
        'docstring); the test asserts it is at least 3000 with 1000 of those timers cancelled'),
    *_each([
        'tests/hub_test.py::test_use_hub_class',
    ], 'fail', 'difference',
        'use_hub() takes a BaseHub subclass, not any class (TypeError; greenlane.hubs docstring):'
        ' the test passes a plain class and expects get_hub() to return an instance of it'),
    *_each([
        'tests/patcher_test.py::Threading::test_greenlet',
    ], 'fail', 'difference',
        "a spawn_n green thread has its own get_ident() and threading.local, so "
        "threading.current_thread() gives it its own _GreenThread (GreenThread-N); eventlet "
        "returns the OS thread's Thread (the main thread), whose ident is not the green "
        "thread's (greenlane.green.threading docstring)"),
    *_each([
        'tests/patcher_test.py::Threading::test_tpool',
    ], 'fail', 'difference',
        'tpool workers are started with the real _thread.start_new_thread and have no Thread '
        "object, so threading.current_thread() there is the stdlib's _DummyThread, listed in "
        "threading._active like any foreign thread; eventlet's workers are "
        "original('threading') Threads (greenlane.tpool docstring)"),
    *_each([
        'tests/pools_test.py::TestIntPool::test_put_with_timed_out_getters',
    ], 'fail', 'difference',
        'put() hands the item straight to the first waiting getter; the getters killed before'
        ' they ran pass it on when they run, so free_items is 0 right after put() '
        '(greenlane.pools docstring)'),
    *_each([
        'tests/queue_test.py::TestNoWait::test_get_nowait_unlock',
    ], 'fail', 'difference',
        "get_nowait() from a hub timer takes a waiting put's item and wakes that put through "
        "the hub's FIFO ready queue, behind the test's own sleep(0), so the putter is not dead"
        ' yet when the test looks; eventlet switches to it at once (greenlane.queue and '
        'greenlane.hubs.hub docstrings: hand-offs are queued, never switched to)'),
    *_each([
        'tests/semaphore_test.py::TestSemaphore::test_bounded',
    ], 'fail', 'difference',
        "CappedSemaphore keeps one counter, so balance differs from eventlet's pair of "
        'semaphores mid-hand-off (greenlane.semaphore docstring)'),
    *_each([
        'tests/socket_test.py::test_dns_methods_are_green',
    ], 'fail', 'difference',
        "asserts eventlet.green.socket's resolver functions are greendns's; greenlane's green "
        'socket keeps the system resolver in the thread pool, and greendns (dnspython) is used '
        'only when called (greenlane.support.greendns docstring)'),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_accept_deflate_ext_window_max_bits_13',
    ], 'fail', 'difference',
        'permessage-deflate offers RFC 7692 forbids are declined rather than accepted '
        '(greenlane.websocket docstring)'),
    *_each([
        'tests/websocket_test.py::TestWebSocket::test_client_invalid_packet_76',
    ], 'fail', 'difference',
        'a hixie-76 frame of an unknown type fails the connection inside the WebSocket (wait() '
        'returns None, as for RFC 6455 protocol errors: greenlane.websocket docstring); '
        "eventlet's wait() raises ValueError, and the test asserts the application raised"),
    *_each([
        'tests/websocket_test.py::TestWebSocketObject::test_close_ws',
        'tests/websocket_test.py::TestWebSocketObject::test_recieve',
        'tests/websocket_test.py::TestWebSocketObject::test_send_to_ws',
    ], 'fail', 'difference',
        "drives eventlet's hixie-76 WebSocket object with mocks; greenlane's WebSocket(sock, "
        'environ) defaults to version 13 and send() refuses types other than str and bytes '
        '(greenlane.websocket docstring)'),
    *_each([
        'tests/wsgi_test.py::TestChunkedInput::test_dirt',
    ], 'fail', 'difference',
        'a chunk extension must follow RFC 9112 section 7.1.1 (";" name ["=" value], tokens or '
        'quoted strings); the test sends one with spaces and a NUL, which strict parsing '
        'answers 400 (greenlane._http1 docstring); lax chunk-extension parsing has been a '
        'request-smuggling vector'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_log_unix_address',
    ], 'fail', 'difference',
        "the startup line names a Unix socket unix:/path (greenlane serve's --bind syntax); "
        'eventlet printed http:/path'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_030_reject_long_header_lines',
    ], 'fail', 'difference',
        'the limit is on the whole header section (64 KiB, 100 fields), not 8 KiB per line '
        '(README limits)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_031_reject_large_headers',
    ], 'fail', 'difference',
        'an oversized header section gets 431 Request Header Fields Too Large, not 400 '
        '(README limits; greenlane._http1)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_debug',
    ], 'fail', 'difference',
        'debug defaults to False: no traceback in the 500 body (greenlane.wsgi docstring)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_headers_raw',
    ], 'fail', 'difference',
        'no headers_raw environ key (greenlane.wsgi docstring)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_partial_writes_are_handled',
    ], 'fail', 'internal',
        "the test replaces a method on a GreenSocket instance (eventlet's is a plain object);"
        " greenlane's GreenSocket uses __slots__"),
    *_each([
        'tests/debug_test.py::TestSpew::test_line_global',
    ], 'fail', 'internal',
        "asserts 'eventlet.debug.Spew' in the printed repr of a Spew object; greenlane's "
        "class is greenlane.debug.Spew (alias-only failure, reference eventlet.md section 3)"),
    *_each([
        'tests/env_test.py::test_hub_selects',
    ], 'fail', 'internal',
        "EVENTLET_HUB=selects is honoured (greenlane.hubs docstring), but the test looks for "
        "'eventlet.hubs.selects.Hub' in the hub's repr, which names greenlane.hubs.selects.Hub "
        '(alias-only failure)'),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_blocking_accept_mark_as_reopened',
        'tests/greenio_test.py::TestGreenSocket::test_nonblocking_accept_mark_as_reopened',
    ], 'fail', 'internal',
        "mocks the hub's mark_as_reopened and counts its calls; greenlane's sockets tell the "
        'hub about new descriptors through a cheaper path (greenlane.greenio._io '
        'notify_opened: forget_fd when nobody waits), not through that method'),
    *_each([
        'tests/patcher_test.py::ImportPatched::test_patch_a_module',
    ], 'fail', 'internal',
        "asserts module names starting with 'eventlet.' (alias-only failure, reference "
        'eventlet.md section 3)'),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_server_compress_no_context_takeover_13',
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_server_compress_with_context_takeover_13',
    ], 'fail', 'internal',
        "calls private helpers of eventlet's WebSocket (_send, and _recv_frame, whose frame "
        "object's decompressor it resets to read the raw payload), which greenlane.websocket "
        'does not have (its docstring; its _pack_message is offered)'),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_large_frame_size_uncompressed_13',
    ], 'fail', 'internal',
        'compares the exact text of the 1009 close reason'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_client_disconnect',
        'tests/wsgi_test.py::TestHttpd::test_non_latin1_response_header_value_raises',
    ], 'fail', 'internal',
        'uses eventlet.wsgi internals (_encode_header_line, the Server constructor)'),
]
