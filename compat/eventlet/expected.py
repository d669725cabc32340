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


# When a test leaves a green thread parked on an fd, eventlet's LimitedTestCase.tearDown
# (verify_hub_empty) fails every later test in the same process with this message.
_LEAKED_LISTENER = r"^AssertionError: Readers: Listener <FdListener"

EXPECTED: list[Expect] = [
    Expect("tests/", "fail", "cascade",
           "an earlier test in the same process left a green thread parked on an fd (the root "
           "tests are listed: convenience_test's TestServe in one process, greenio_test's "
           "test_accept_timeout and ssl_test's test_no_handshake_block_accept_loop per file)",
           message=_LEAKED_LISTENER),
    *_each([
        'tests/db_pool_test.py',
        'tests/patcher_psycopg_test.py',
    ], 'fail', 'missing',
        'greenlane.db_pool does not exist yet (issue 10)'),
    *_each([
        'tests/debug_test.py::TestDebug::test_everything',
    ], 'fail', 'missing',
        'greenlane.debug.tpool_exceptions is not provided (greenlane.debug docstring)'),
    *_each([
        'tests/green_profile_test.py',
    ], 'fail', 'missing',
        'greenlane.green.profile does not exist'),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_skip_nonblocking',
    ], 'fail', 'missing',
        'GreenSocket(..., set_nonblocking=False) keyword not accepted'),
    *_each([
        'tests/os_test.py::test_pathlib_open_issue_534',
    ], 'fail', 'missing',
        "eventlet.import_patched is not re-exported at greenlane's top level "
        '(greenlane.patcher.import_patched exists; NOT_PROVIDED in tests/test_exports.py)'),
    *_each([
        'tests/patcher_test.py::test_blocking_select_methods_are_deleted',
    ], 'fail', 'missing',
        'monkey_patch(select=True) does not delete select.poll/epoll/kqueue and the blocking '
        'selectors as eventlet does; issue 8'),
    *_each([
        'tests/patcher_test.py::test_builtin',
    ], 'fail', 'missing',
        'monkey_patch(builtins=True) (green open) is not offered; issue 8'),
    *_each([
        'tests/patcher_test.py::test_fork_after_monkey_patch',
        'tests/patcher_test.py::test_fork_after_monkey_patch_threading',
        'tests/patcher_test.py::test_fork_in_thread_after_monkey_patch_threading',
    ], 'fail', 'missing',
        'fork after monkey_patch (threading patched): child hangs or fails; issue 8'),
    *_each([
        'tests/patcher_test.py::test_import_patched_defaults',
        'tests/patcher_test.py::test_import_patched_handles_sub_modules',
    ], 'fail', 'missing',
        'import_patched behaviour differs (defaults / submodules); issue 8'),
    *_each([
        'tests/patcher_test.py::test_patcher_existing_locks',
        'tests/patcher_test.py::test_patcher_existing_logging_module_lock',
    ], 'fail', 'missing',
        "greening locks that exist before monkey_patch (eventlet's _green_existing_locks); "
        'greenlane warns instead (greenlane.patcher docstring); issue 8'),
    *_each([
        'tests/test__greenness.py',
    ], 'fail', 'missing',
        'greenlane.green.BaseHTTPServer does not exist'),
    *_each([
        'tests/thread_test.py::test_compat_lock_release',
        'tests/thread_test.py::test_reinit',
    ], 'fail', 'missing',
        "greenlane.green.thread has no Lock (eventlet's green _thread exports Lock, "
        "allocate_lock's class)"),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_accept_timeout',
    ], 'fail', 'bug',
        'GreenSocket(s) where s is a green socket with settimeout(0.1): the wrapper does not '
        "take s's timeout, so accept() never times out; the parked accept then fails the rest"
        ' of the file (cascade)'),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_recv_into_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_recv_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_recvfrom_into_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_recvfrom_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_send_timeout',
        'tests/greenio_test.py::TestGreenSocket::test_sendall_timeout',
    ], 'fail', 'bug',
        'GreenSocket(green_socket.socket()): the wrapped GreenSocket, a temporary, is '
        'collected and its __del__ closes the descriptor both share, so the first call raises'
        ' EBADF'),
    *_each([
        'tests/test__refcount.py::test_timeout_exit',
    ], 'fail', 'bug',
        'after accept() times out in a green thread that then returns, the dropped listening '
        "GreenSocket's real socket is still referenced and not collected (suspected leak in "
        'the accept-timeout path; the test prints gc referrers)'),
    *_each([
        'tests/greenio_test.py::TestGreenPipe::test_truncate',
    ], 'fail', 'triage',
        "GreenPipe.truncate() leaves a different position/size than eventlet's (10 != 9); not"
        ' analysed'),
    *_each([
        'tests/socket_test.py::test_recv_into_type',
        'tests/socket_test.py::test_recv_type',
    ], 'fail', 'triage',
        "ConnectionResetError in the test's loopback exchange; not analysed"),
    *_each([
        'tests/ssl_test.py::SSLTest::test_no_handshake_block_accept_loop',
    ], 'fail', 'triage',
        'fails in tearDown with its own server green thread still parked in accept (a TLS '
        'client that never handshakes must not block the accept loop); not analysed'),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_send_uncompressed_msg_13',
    ], 'fail', 'triage',
        'wait() returns None (connection closed) instead of the uncompressed message sent by '
        'a peer that negotiated permessage-deflate; not analysed (greenlane.websocket owner)'),
    *_each([
        'tests/wsgi_test.py::IterableAlreadyHandledTest::test_iterable_app_keeps_socket_open_unless_connection_close_sent',
        'tests/wsgi_test.py::ProxiedIterableAlreadyHandledTest::test_iterable_app_keeps_socket_open_unless_connection_close_sent',
        'tests/wsgi_test.py::TestHttpd::test_012_ssl_server',
        'tests/wsgi_test.py::TestHttpd::test_017_ssl_zeroreturnerror',
        'tests/wsgi_test.py::TestHttpd::test_018b_http_10_keepalive_framing',
        'tests/wsgi_test.py::TestHttpd::test_024_expect_100_continue',
        'tests/wsgi_test.py::TestHttpd::test_024a_expect_100_continue_with_headers',
        'tests/wsgi_test.py::TestHttpd::test_024b_expect_100_continue_with_headers_multiple_chunked',
        'tests/wsgi_test.py::TestHttpd::test_024c_expect_100_continue_with_headers_multiple_nonchunked',
        'tests/wsgi_test.py::TestHttpd::test_025_accept_errors',
        'tests/wsgi_test.py::TestHttpd::test_026b_http_10_zero_keepalive',
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post',
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post_bad_chunks',
        'tests/wsgi_test.py::TestHttpd::test_aborted_chunked_post_between_chunks',
        'tests/wsgi_test.py::TestHttpd::test_aborted_post_io_error',
        'tests/wsgi_test.py::TestHttpd::test_content_length_and_transfer_encoding_escape_hatch',
        'tests/wsgi_test.py::TestHttpd::test_header_name_capitalization',
        'tests/wsgi_test.py::TestHttpd::test_no_transfer_encoding_in_empty_response',
        'tests/wsgi_test.py::TestHttpd::test_server_connection_timeout_exception',
        'tests/wsgi_test.py::TestHttpd::test_server_keepalive_sent_in_headers',
        'tests/wsgi_test.py::TestHttpd::test_timeouts_in_app_call',
        'tests/wsgi_test.py::TestHttpd::test_unicode_with_nonascii_characters_raises_error',
        'tests/wsgi_test.py::TestHttpd::test_unicode_with_only_ascii_characters_works',
        'tests/wsgi_test.py::TestHttpd::test_zero_length_chunked_response',
    ], 'fail', 'triage',
        "not analysed yet (greenlane.wsgi owner): see the message in make compat's output"),
    *_each([
        'tests/asyncio_test.py',
        'tests/greenio_test.py::TestGreenIoLong::test_multiple_readers',
        'tests/hub_test.py',
        'tests/not_asyncio_test.py',
    ], 'fail', 'difference',
        "needs eventlet's asyncio hub, which greenlane does not offer (greenlane.hubs "
        'docstring: "eventlet\'s asyncio hub is not offered")'),
    *_each([
        'tests/convenience_test.py::TestServe::test_excepting_server',
        'tests/convenience_test.py::TestServe::test_excepting_server_already_closed',
    ], 'fail', 'difference',
        'serve() keeps accepting when a handler raises (greenlane.convenience docstring); the'
        ' test waits for serve() to re-raise and times out, leaving serve() parked'),
    *_each([
        'tests/convenience_test.py::test_reuse_random_port_warning',
    ], 'fail', 'difference',
        'listen() sets SO_REUSEPORT only with reuse_port=True (greenlane.convenience '
        'docstring), so there is no warning about it for port 0'),
    *_each([
        'tests/convenience_test.py::test_socket_reuse',
    ], 'fail', 'difference',
        'listen() does not set SO_REUSEPORT by default (greenlane.convenience docstring): two'
        ' listeners on one port fail with EADDRINUSE'),
    *_each([
        'tests/env_test.py::test_tpool_negative',
        'tests/env_test.py::test_tpool_size',
        'tests/env_test.py::test_tpool_zero',
    ], 'fail', 'difference',
        'sets EVENTLET_THREADPOOL_SIZE; greenlane reads GREENLANE_THREADPOOL_SIZE '
        '(greenlane.tpool docstring)'),
    *_each([
        'tests/greendns_test.py',
    ], 'fail', 'difference',
        "imports and mocks dnspython internals of eventlet's greendns "
        '(HostsResolver/ResolverProxy on dns.resolver); greenlane.support.greendns answers '
        'from the system resolver without dnspython (its docstring)'),
    *_each([
        'tests/greenpool_test.py::GreenPool::test_recursive_waitall',
    ], 'fail', 'difference',
        'waitall() from inside the pool raises RuntimeError, not AssertionError '
        '(greenlane.greenpool docstring)'),
    *_each([
        'tests/patcher_test.py::GreenThreadWrapper::test_ident',
        'tests/patcher_test.py::GreenThreadWrapper::test_is_alive',
        'tests/patcher_test.py::GreenThreadWrapper::test_is_daemon',
        'tests/patcher_test.py::GreenThreadWrapper::test_join',
        'tests/patcher_test.py::GreenThreadWrapper::test_name',
        'tests/patcher_test.py::Threading::test_greenlet',
        'tests/patcher_test.py::Threading::test_greenthread',
        'tests/patcher_test.py::Threading::test_orig_thread',
        'tests/patcher_test.py::Threading::test_tpool',
    ], 'fail', 'difference',
        "threading is patched at the _thread level, so threading's own "
        "currentThread()/getName() DeprecationWarnings show in the isolated script's output "
        'and the line count differs (greenlane.patcher docstring)'),
    *_each([
        'tests/pools_test.py::TestIntPool::test_put_with_timed_out_getters',
    ], 'fail', 'difference',
        'put() hands the item straight to the first waiting getter; the getters killed before'
        ' they ran pass it on when they run, so free_items is 0 right after put() '
        '(greenlane.pools docstring)'),
    *_each([
        'tests/queue_test.py::TestNoWait::test_get_nowait_unlock',
        'tests/queue_test.py::TestNoWait::test_put_nowait_unlock',
    ], 'fail', 'difference',
        'put_nowait/get_nowait on a channel (maxsize=0) succeed when a partner waits, from '
        'any green thread (greenlane.queue docstring)'),
    *_each([
        'tests/semaphore_test.py::TestSemaphore::test_bounded',
    ], 'fail', 'difference',
        "CappedSemaphore keeps one counter, so balance differs from eventlet's pair of "
        'semaphores mid-hand-off (greenlane.semaphore docstring)'),
    *_each([
        'tests/socket_test.py::test_dns_methods_are_green',
    ], 'fail', 'difference',
        "asserts eventlet.green.socket's resolver functions are greendns's; greenlane's are "
        "greenlane.green._dns's (system resolver in tpool)"),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_accept_deflate_ext_window_max_bits_13',
    ], 'fail', 'difference',
        'permessage-deflate offers RFC 7692 forbids are declined rather than accepted '
        '(greenlane.websocket docstring)'),
    *_each([
        'tests/websocket_test.py::TestWebSocket::test_app_socket_errors_75',
        'tests/websocket_test.py::TestWebSocket::test_app_socket_errors_76',
        'tests/websocket_test.py::TestWebSocket::test_client_invalid_packet_76',
        'tests/websocket_test.py::TestWebSocket::test_close_idle',
        'tests/websocket_test.py::TestWebSocket::test_correct_upgrade_request_75',
        'tests/websocket_test.py::TestWebSocket::test_correct_upgrade_request_76',
        'tests/websocket_test.py::TestWebSocket::test_empty_query_string',
        'tests/websocket_test.py::TestWebSocket::test_getting_messages_from_websocket_75',
        'tests/websocket_test.py::TestWebSocket::test_getting_messages_from_websocket_76',
        'tests/websocket_test.py::TestWebSocket::test_query_string',
        'tests/websocket_test.py::TestWebSocket::test_sending_messages_to_websocket_75',
        'tests/websocket_test.py::TestWebSocket::test_sending_messages_to_websocket_76',
        'tests/websocket_test.py::TestWebSocket::test_server_closing_connect_76',
        'tests/websocket_test.py::TestWebSocket::test_wrapped_wsgi',
        'tests/websocket_test.py::TestWebSocketSSL::test_ssl_sending_messages',
    ], 'fail', 'difference',
        'hixie-75/76 handshakes and framing, refused unless support_legacy_versions=True '
        "(greenlane.websocket docstring); eventlet's test serves them with the plain "
        'constructor'),
    *_each([
        'tests/websocket_test.py::TestWebSocketObject::test_close_ws',
        'tests/websocket_test.py::TestWebSocketObject::test_recieve',
        'tests/websocket_test.py::TestWebSocketObject::test_send_to_ws',
    ], 'fail', 'difference',
        "drives eventlet's hixie-76 WebSocket object with mocks; greenlane's WebSocket(sock, "
        'environ) defaults to version 13 and send() refuses types other than str and bytes '
        '(greenlane.websocket docstring)'),
    *_each([
        'tests/wsgi_test.py::TestChunkedInput::test_chunked_readline',
        'tests/wsgi_test.py::TestChunkedInput::test_chunked_readline_from_input',
        'tests/wsgi_test.py::TestChunkedInput::test_chunked_readlines_from_input',
        'tests/wsgi_test.py::TestChunkedInput::test_dirt',
        'tests/wsgi_test.py::TestChunkedInput::test_short_read',
        'tests/wsgi_test.py::TestChunkedInput::test_short_read_with_content_length',
        'tests/wsgi_test.py::TestChunkedInput::test_short_read_with_zero_content_length',
    ], 'fail', 'difference',
        "the test's HTTP/1.1 requests have no Host header, which strict parsing answers 400 "
        '(RFC 9112 section 3.2; greenlane.wsgi docstring, strict request parsing)'),
    *_each([
        'tests/wsgi_test.py::TestChunkedInput::test_chunked_readline_wsgi_not_override_minimum_chunk_size',
        'tests/wsgi_test.py::TestChunkedInput::test_chunked_readline_wsgi_override_minimum_chunk_size',
    ], 'fail', 'difference',
        'minimum_chunk_size defaults to None, pieces go out as produced (greenlane.wsgi '
        'docstring)'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_020_x_forwarded_for',
        'tests/wsgi_test.py::TestHttpd::test_close_idle_connections_listen_socket_closed',
        'tests/wsgi_test.py::TestHttpd::test_do_not_close_non_idle_connections',
        'tests/wsgi_test.py::TestHttpd::test_log_disable',
        'tests/wsgi_test.py::TestHttpd::test_log_unix_address',
    ], 'fail', 'difference',
        "greenlane.wsgi logs a warning when run as root (README, 'warns loudly when run as "
        "root'); the test compares the server log and the suite runs as root here (passes as "
        'another user)'),
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
        'tests/convenience_test.py::test_reuseport_oserror',
        'tests/greenio_test.py::test_partial_write_295',
        'tests/wsgi_test.py::TestHttpd::test_partial_writes_are_handled',
    ], 'fail', 'internal',
        "the test replaces a method on a GreenSocket instance (eventlet's is a plain object);"
        " greenlane's GreenSocket uses __slots__"),
    *_each([
        'tests/debug_test.py::TestSpew::test_line',
        'tests/debug_test.py::TestSpew::test_line_global',
        'tests/debug_test.py::TestSpew::test_line_nofile',
    ], 'fail', 'internal',
        "asserts the exact text format of eventlet's debug.spew trace lines (and module names"
        " under 'eventlet.')"),
    *_each([
        'tests/env_test.py::test_hub_selects',
    ], 'fail', 'internal',
        "sets EVENTLET_HUB and looks for 'eventlet.hubs.selects.Hub' in the hub's repr; "
        'greenlane reads GREENLANE_HUB (greenlane.hubs docstring) and its modules are named '
        'greenlane.*'),
    *_each([
        'tests/green_select_test.py::test_select_mark_file_as_reopened',
    ], 'fail', 'internal',
        "calls eventlet's hub.mark_as_reopened"),
    *_each([
        'tests/greenio_test.py::TestGreenSocket::test_blocking_accept_mark_as_reopened',
        'tests/greenio_test.py::TestGreenSocket::test_nonblocking_accept_mark_as_reopened',
    ], 'fail', 'internal',
        "calls or mocks eventlet's hub.mark_as_reopened; greenlane's hub API is "
        'notify_opened/forget_fd (greenlane.hubs)'),
    *_each([
        'tests/greenio_test.py::test_get_fileno_of_a_socket_with_fileno_returning_wrong_type_fails',
        'tests/greenio_test.py::test_get_fileno_of_a_socket_works',
        'tests/greenio_test.py::test_get_fileno_of_an_int_works',
        'tests/greenio_test.py::test_get_fileno_of_wrong_type_fails',
    ], 'fail', 'internal',
        "eventlet.green.select.get_fileno is an undocumented helper of eventlet's select"),
    *_each([
        'tests/greenpool_test.py::GreenPool::test_empty_imap',
    ], 'fail', 'internal',
        "calls GreenMap.next(), the Python 2 spelling, on eventlet's internal GreenMap"),
    *_each([
        'tests/patcher_test.py::ImportPatched::test_patch_a_module',
    ], 'fail', 'internal',
        "asserts module names starting with 'eventlet.' (alias-only failure, reference "
        'eventlet.md section 3)'),
    *_each([
        'tests/patcher_test.py::MonkeyPatch::test_boolean',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_all',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_all_negative',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_all_single',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_double',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_negative',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_negative2',
        'tests/patcher_test.py::MonkeyPatch::test_boolean_single',
        'tests/patcher_test.py::MonkeyPatch::test_conflicting_specifications',
    ], 'fail', 'internal',
        "prints eventlet's private patcher.already_patched dict"),
    *_each([
        'tests/timer_test.py::TestTimer::test_copy',
    ], 'fail', 'internal',
        "reads eventlet's Timer.tpl attribute"),
    *_each([
        'tests/tpool_test.py::TestTpool::test_tpool_set_num_threads',
    ], 'fail', 'internal',
        "reads eventlet's private tpool._nthreads"),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_client_compress_no_context_takeover_13',
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_client_compress_with_context_takeover_13',
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_server_compress_no_context_takeover_13',
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_server_compress_with_context_takeover_13',
    ], 'fail', 'internal',
        "calls private helpers of eventlet's WebSocket (_pack_message, _recv_frame), which "
        'greenlane.websocket does not have (its docstring)'),
    *_each([
        'tests/websocket_new_test.py::TestWebSocketWithCompression::test_large_frame_size_uncompressed_13',
    ], 'fail', 'internal',
        'compares the exact text of the 1009 close reason'),
    *_each([
        'tests/wsgi_test.py::TestHttpd::test_client_disconnect',
        'tests/wsgi_test.py::TestHttpd::test_minimum_chunk_size_parameter_leaves_httpprotocol_class_member_intact',
        'tests/wsgi_test.py::TestHttpd::test_non_latin1_response_header_value_raises',
    ], 'fail', 'internal',
        'uses eventlet.wsgi internals (_encode_header_line, HttpProtocol.minimum_chunk_size, '
        'the Server constructor)'),
    *_each([
        'tests/greenthread_test.py::Spawn::test_n',
        'tests/greenthread_test.py::Spawn::test_simple',
        'tests/greenthread_test.py::SpawnAfter::test_kill',
        'tests/greenthread_test.py::SpawnAfter::test_kill_meth',
        'tests/greenthread_test.py::SpawnAfter::test_kill_n',
        'tests/greenthread_test.py::SpawnAfter::test_n',
        'tests/greenthread_test.py::SpawnAfter::test_simple',
    ], 'fail', 'cascade',
        "one-process only: an earlier failing LimitedTestCase tearDown skipped this module's "
        'result-list reset',
        mode='one-process'),
]
