"""Connection: RFC 6455 framing, fed whole and one byte at a time, both roles."""

from __future__ import annotations

import pytest

from greenlane._ws import (
    CLOSED,
    NEED_DATA,
    Close,
    Connection,
    Limits,
    LocalProtocolError,
    Message,
    Ping,
    Pong,
    RemoteProtocolError,
)

from ._helpers import close_payload, drain, feed_whole, frame, tr, tr_error, unframe

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


# -- data messages -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "hello", "héllo wörld ✓ 🎉", "x" * 125])
def test_single_frame_text(text: str) -> None:
    tr(frame(TEXT, text.encode()), [Message(text)])


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 255, 256, 1000, 65535, 65536, 70000])
def test_binary_at_every_length_boundary(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    data = frame(BINARY, payload)
    assert feed_whole(data) == [Message(payload)]
    if size <= 1000:
        tr(data, [Message(payload)])


def test_lengths_in_a_longer_form_than_needed_are_accepted() -> None:
    # RFC 6455 §5.2 asks senders for the minimal form; nothing tells receivers to refuse.
    tr(frame(BINARY, b"abc", long_form=126), [Message(b"abc")])
    tr(frame(BINARY, b"abc", long_form=127), [Message(b"abc")])


def test_several_messages_in_one_chunk_and_a_partial_one_stays_buffered() -> None:
    conn = Connection()
    second = frame(TEXT, b"two")
    conn.receive_data(frame(TEXT, b"one") + second + frame(BINARY, b"three")[:3])
    assert drain(conn) == [Message("one"), Message("two")]
    assert conn.has_pending_data
    conn.receive_data(frame(BINARY, b"three")[3:])
    assert drain(conn) == [Message(b"three")]
    assert not conn.has_pending_data


def test_fragmented_text_is_reassembled() -> None:
    data = (frame(TEXT, b"fra", fin=False) + frame(CONT, b"gme", fin=False)
            + frame(CONT, b"nted"))
    tr(data, [Message("fragmented")])


def test_utf8_character_split_across_fragments() -> None:
    encoded = "κόσμε".encode()
    data = frame(TEXT, encoded[:3], fin=False) + frame(CONT, encoded[3:])
    tr(data, [Message("κόσμε")])


def test_fragmented_binary_with_empty_fragments() -> None:
    data = (frame(BINARY, b"", fin=False) + frame(CONT, b"ab", fin=False)
            + frame(CONT, b"", fin=False) + frame(CONT, b"c"))
    tr(data, [Message(b"abc")])


def test_control_frames_between_fragments_come_out_first() -> None:
    data = (frame(TEXT, b"He", fin=False) + frame(PING, b"p1") + frame(CONT, b"ll", fin=False)
            + frame(PONG, b"p2") + frame(CONT, b"o"))
    tr(data, [Ping(b"p1"), Pong(b"p2"), Message("Hello")])


def test_ping_and_pong() -> None:
    tr(frame(PING, b"") + frame(PING, b"x" * 125) + frame(PONG, b"q"),
       [Ping(b""), Ping(b"x" * 125), Pong(b"q")])


# -- closing -------------------------------------------------------------------------------

def test_close_with_code_and_reason_then_closed() -> None:
    data = frame(CLOSE, close_payload(1001, "bye ✓".encode()))
    tr(data, [Close(1001, "bye ✓"), "CLOSED"])


def test_close_without_payload_is_1005() -> None:
    tr(frame(CLOSE), [Close(1005, ""), "CLOSED"])


def test_bytes_after_close_are_ignored_and_eof_is_fine() -> None:
    conn = Connection()
    conn.receive_data(frame(CLOSE, close_payload(1000)) + frame(TEXT, b"late") + b"\xff\xff")
    assert conn.next_event() == Close(1000, "")
    assert conn.next_event() is CLOSED
    conn.receive_data(b"more garbage")
    conn.receive_data(b"")
    assert conn.next_event() is CLOSED
    assert conn.close_received and not conn.closed


def test_close_handshake_completes_both_ways() -> None:
    server, client = Connection(), Connection(client=True)
    server.receive_data(client.send_close(4000, "done"))
    assert server.next_event() == Close(4000, "done")
    client.receive_data(server.send_close(4000))
    assert client.next_event() == Close(4000, "")
    assert server.closed and client.closed


def test_messages_keep_arriving_after_we_sent_close() -> None:
    conn = Connection()
    conn.send_close(1000)
    conn.receive_data(frame(TEXT, b"in flight") + frame(CLOSE, close_payload(1000)))
    assert drain(conn) == [Message("in flight"), Close(1000, ""), "CLOSED"]
    assert conn.closed


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                  1013, 1014, 3000, 3999, 4000, 4999])
def test_valid_close_codes(code: int) -> None:
    tr(frame(CLOSE, close_payload(code)), [Close(code, ""), "CLOSED"])


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
                                  65535])
def test_invalid_close_codes_are_1002(code: int) -> None:
    tr_error(frame(CLOSE, close_payload(code)), 1002, match="close code")


def test_close_with_one_byte_payload_is_1002() -> None:
    tr_error(frame(CLOSE, b"\x03"), 1002)


def test_close_reason_not_utf8_is_1007() -> None:
    tr_error(frame(CLOSE, close_payload(1000, b"\xff\xfe")), 1007)


# -- abrupt ends ---------------------------------------------------------------------------

def test_eof_without_close_frame_is_1006() -> None:
    conn = Connection()
    conn.receive_data(frame(TEXT, b"hi"))
    assert conn.next_event() == Message("hi")
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.close_code == 1006


@pytest.mark.parametrize("cut", [1, 2, 4, 7, 9])
def test_eof_in_the_middle_of_a_frame_is_1006(cut: int) -> None:
    tr_error(frame(BINARY, b"x" * 300)[:cut], 1006, eof=True)


def test_eof_in_the_middle_of_a_fragmented_message_is_1006() -> None:
    tr_error(frame(TEXT, b"a", fin=False), 1006, eof=True)


def test_receive_after_eof_is_a_local_error() -> None:
    conn = Connection()
    conn.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")


# -- protocol violations -------------------------------------------------------------------

def test_unmasked_frame_from_a_client_is_1002() -> None:
    tr_error(frame(TEXT, b"hi", mask=None), 1002, match="mask")


def test_masked_frame_from_a_server_is_1002() -> None:
    tr_error(frame(TEXT, b"hi"), 1002, match="mask", client=True)


def test_client_reads_unmasked_frames() -> None:
    tr(frame(TEXT, b"hi", mask=None) + frame(PING, b"", mask=None),
       [Message("hi"), Ping(b"")], client=True)


@pytest.mark.parametrize("rsv", [1, 2, 4, 3, 7])
def test_reserved_bits_without_extension_are_1002(rsv: int) -> None:
    tr_error(frame(TEXT, b"hi", rsv=rsv), 1002, match="reserved")


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_unknown_opcodes_are_1002(opcode: int) -> None:
    tr_error(frame(opcode, b"x"), 1002, match="opcode")


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_fragmented_control_frame_is_1002(opcode: int) -> None:
    tr_error(frame(opcode, b"", fin=False), 1002, match="fragmented")


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_over_125_bytes_is_1002(opcode: int) -> None:
    tr_error(frame(opcode, b"x" * 126), 1002, match="125")


def test_control_frame_length_is_refused_before_its_payload_arrives() -> None:
    conn = Connection()
    conn.receive_data(frame(PING, b"x" * 126)[:4])
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_continuation_without_a_message_is_1002() -> None:
    tr_error(frame(CONT, b"x"), 1002, match="continuation")


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_new_message_inside_a_fragmented_one_is_1002(opcode: int) -> None:
    tr_error(frame(TEXT, b"a", fin=False) + frame(opcode, b"b"), 1002, match="inside")


def test_64_bit_length_with_top_bit_set_is_1002() -> None:
    data = frame(BINARY, b"", length=1 << 63, long_form=127)[:14]
    tr_error(data, 1002, match="top bit")


# -- UTF-8 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    b"\xff",                     # never valid
    b"\xc0\xaf",                 # overlong "/"
    b"\xed\xa0\x80",             # a surrogate (U+D800)
    b"\xf4\x90\x80\x80",         # above U+10FFFF
    b"abc\xce",                  # truncated at the end of the message
    "κόσμε".encode() + b"\xed\xa0\x80edited",
])
def test_invalid_utf8_text_is_1007(bad: bytes) -> None:
    tr_error(frame(TEXT, bad), 1007, match="UTF-8")
    tr_error(frame(TEXT, bad[:1], fin=False) + frame(CONT, bad[1:]), 1007, match="UTF-8")


def test_invalid_utf8_fails_at_the_first_bad_fragment() -> None:
    # Fail fast: the message is not over, but its second fragment cannot start valid UTF-8.
    conn = Connection()
    conn.receive_data(frame(TEXT, b"ok", fin=False) + frame(CONT, b"\xff", fin=False))
    with pytest.raises(RemoteProtocolError) as info:
        drain(conn)
    assert info.value.close_code == 1007


def test_binary_is_not_checked_for_utf8() -> None:
    tr(frame(BINARY, b"\xff\xfe"), [Message(b"\xff\xfe")])


# -- limits --------------------------------------------------------------------------------

SMALL = Limits(max_frame_size=100, max_message_size=150)


def test_frame_over_the_limit_is_1009_before_its_payload() -> None:
    conn = Connection(limits=SMALL)
    conn.receive_data(frame(BINARY, b"x" * 101)[:4])  # the header only
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.close_code == 1009


def test_long_form_length_over_the_limit_is_1009_before_the_mask_key() -> None:
    conn = Connection(limits=SMALL)
    conn.receive_data(frame(BINARY, b"x" * 300)[:4])
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.close_code == 1009


def test_frame_at_the_limit_is_fine() -> None:
    tr(frame(BINARY, b"x" * 100), [Message(b"x" * 100)], limits=SMALL)


def test_fragmented_message_over_the_limit_is_1009() -> None:
    data = (frame(TEXT, b"x" * 100, fin=False) + frame(CONT, b"x" * 50, fin=False)
            + frame(CONT, b"x"))
    tr_error(data, 1009, limits=SMALL)
    tr(data[:-7] + frame(CONT, b""), [Message("x" * 150)], limits=SMALL)


def test_huge_announced_length_is_refused_without_buffering() -> None:
    tr_error(frame(BINARY, b"", length=1 << 40, long_form=127)[:14], 1009)


def test_small_limit_also_bounds_the_fast_path() -> None:
    tiny = Limits(max_frame_size=4, max_message_size=4)
    tr(frame(TEXT, b"four"), [Message("four")], limits=tiny)
    tr_error(frame(TEXT, b"fives"), 1009, limits=tiny)


def test_limits_must_be_positive_ints() -> None:
    with pytest.raises(ValueError, match="max_frame_size"):
        Limits(max_frame_size=0)
    with pytest.raises(ValueError, match="max_message_size"):
        Limits(max_message_size=1.5)  # type: ignore[arg-type]


def test_empty_fragments_do_not_accumulate() -> None:
    conn = Connection()
    conn.receive_data(frame(BINARY, b"", fin=False) + frame(CONT, b"", fin=False) * 1000)
    assert drain(conn) == []
    assert conn._msg_parts == []  # a flood of empty fragments holds no memory


# -- sending -------------------------------------------------------------------------------

def test_server_sends_unmasked_frames() -> None:
    conn = Connection()
    data = conn.send_data("hé") + conn.send_data(b"\x00" * 200) + conn.send_data(b"x" * 70000)
    assert unframe(data) == [(0x81, 0, "hé".encode()), (0x82, 0, b"\x00" * 200),
                             (0x82, 0, b"x" * 70000)]


def test_client_masks_every_frame_with_a_fresh_key() -> None:
    conn = Connection(client=True)
    one, two = conn.send_data(b"same"), conn.send_data(b"same")
    assert unframe(one) == [(0x82, 0x80, b"same")] == unframe(two)
    assert one[2:6] != two[2:6]  # 32 random bits: equal keys would be a 1 in 4e9 fluke
    assert unframe(conn.send_ping(b"p") + conn.send_close(1000)) == [
        (0x89, 0x80, b"p"), (0x88, 0x80, b"\x03\xe8")]


def test_sending_fragments() -> None:
    conn = Connection()
    data = conn.send_data("ab", fin=False) + conn.send_ping() + conn.send_data("cd", fin=False)
    data += conn.send_data("e")
    assert unframe(data) == [(0x01, 0, b"ab"), (0x89, 0, b""), (0x00, 0, b"cd"), (0x80, 0, b"e")]
    receiver = Connection(client=True)
    receiver.receive_data(data)
    assert drain(receiver) == [Ping(b""), Message("abcde")]


def test_a_fragment_must_keep_the_message_type() -> None:
    conn = Connection()
    conn.send_data("text", fin=False)
    with pytest.raises(LocalProtocolError, match="type"):
        conn.send_data(b"bytes")


def test_send_data_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="int"):
        Connection().send_data(10)  # type: ignore[arg-type]


def test_bytes_like_are_binary() -> None:
    conn = Connection()
    assert unframe(conn.send_data(bytearray(b"ab")) + conn.send_data(memoryview(b"cd"))) == [
        (0x82, 0, b"ab"), (0x82, 0, b"cd")]


def test_control_payload_over_125_bytes_is_refused() -> None:
    conn = Connection()
    with pytest.raises(LocalProtocolError, match="125"):
        conn.send_ping(b"x" * 126)
    with pytest.raises(LocalProtocolError, match="125"):
        conn.send_pong(b"x" * 126)
    with pytest.raises(LocalProtocolError, match="123"):
        conn.send_close(1000, "x" * 124)
    assert unframe(conn.send_close(1000, "x" * 123))[0][2] == b"\x03\xe8" + b"x" * 123


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2000, 5000])
def test_close_codes_that_must_not_be_sent(code: int) -> None:
    with pytest.raises(LocalProtocolError, match="may be sent"):
        Connection().send_close(code)


def test_close_without_code() -> None:
    conn = Connection()
    assert conn.send_close(None) == b"\x88\x00"
    with pytest.raises(LocalProtocolError):
        Connection().send_close(None, "reason without a code")


def test_nothing_can_be_sent_after_close() -> None:
    conn = Connection()
    conn.send_close()
    for send in (lambda: conn.send_data("x"), conn.send_ping, conn.send_pong,
                 conn.send_close):
        with pytest.raises(LocalProtocolError):
            send()  # type: ignore[operator]
    assert conn.close_sent


def test_send_close_is_allowed_after_a_protocol_error() -> None:
    conn = Connection()
    conn.receive_data(frame(TEXT, b"\xff"))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert conn.send_close(info.value.close_code, str(info.value)).startswith(b"\x88")


def test_round_trip_between_a_client_and_a_server() -> None:
    client, server = Connection(client=True), Connection()
    messages = ["", "x", "é" * 100, b"", b"\x00" * 126, b"y" * 65536, "z" * 70000]
    for m in messages:
        server.receive_data(client.send_data(m))
        assert server.next_event() == Message(m)
        client.receive_data(server.send_data(m))
        assert client.next_event() == Message(m)
    assert client.next_event() is NEED_DATA and server.next_event() is NEED_DATA
