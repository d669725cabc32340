"""permessage-deflate (RFC 7692): negotiation, the RFC's examples, bounds, and compressed
frames through Connection."""

from __future__ import annotations

import zlib
from typing import List, Optional, Tuple

import pytest

from greenlane._ws import (
    Connection,
    DeflateParams,
    Limits,
    LocalProtocolError,
    Message,
    PerMessageDeflate,
    Ping,
    RemoteProtocolError,
    negotiate,
)
from greenlane._ws.deflate import check_response
from greenlane._ws.handshake import parse_extensions

from ._helpers import drain, frame, tr, tr_error, unframe

TEXT, BINARY, CONT, PING = 0x1, 0x2, 0x0, 0x9


def offer(text: str) -> Optional[DeflateParams]:
    return negotiate(parse_extensions(text))


# -- negotiation ---------------------------------------------------------------------------

def test_plain_offer() -> None:
    agreed = offer("permessage-deflate")
    assert agreed == DeflateParams()
    assert agreed is not None and agreed.header_value() == "permessage-deflate"


def test_requested_parameters_are_granted_and_echoed() -> None:
    agreed = offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
                   " server_max_window_bits=10; client_max_window_bits=9")
    assert agreed == DeflateParams(True, True, 10, 9)
    assert agreed.header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=9")


def test_client_max_window_bits_without_value_is_left_out() -> None:
    assert offer("permessage-deflate; client_max_window_bits") == DeflateParams()


@pytest.mark.parametrize("bad", [
    "permessage-deflate; server_max_window_bits",          # a value is required
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=010",      # no leading zeros
    "permessage-deflate; client_max_window_bits=1x",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; unknown_parameter",
    "permessage-deflate; server_max_window_bits=8",        # zlib cannot compress with 8
    "x-other-extension",
])
def test_offers_that_are_declined(bad: str) -> None:
    assert offer(bad) is None


def test_first_acceptable_offer_wins() -> None:
    assert offer("permessage-deflate; server_max_window_bits=16, "
                 "permessage-deflate; client_no_context_takeover, permessage-deflate"
                 ) == DeflateParams(client_no_context_takeover=True)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="server_max_window_bits"):
        DeflateParams(server_max_window_bits=16)
    with pytest.raises(ValueError, match="max_window_bits"):
        PerMessageDeflate(DeflateParams(), max_window_bits=8)


@pytest.mark.parametrize("answer,offered,expected", [
    ("", DeflateParams(), None),
    ("permessage-deflate", DeflateParams(), DeflateParams()),
    ("permessage-deflate; client_max_window_bits=10", DeflateParams(),
     DeflateParams(client_max_window_bits=10)),
    ("permessage-deflate; server_no_context_takeover",
     DeflateParams(server_no_context_takeover=True),
     DeflateParams(server_no_context_takeover=True)),
])
def test_client_accepts(answer: str, offered: DeflateParams,
                        expected: Optional[DeflateParams]) -> None:
    assert check_response(parse_extensions(answer), offered) == expected


@pytest.mark.parametrize("answer,offered", [
    ("permessage-deflate", None),
    ("x-foo", DeflateParams()),
    ("permessage-deflate, permessage-deflate", DeflateParams()),
    ("permessage-deflate; client_max_window_bits", DeflateParams()),
    ("permessage-deflate", DeflateParams(server_no_context_takeover=True)),
    ("permessage-deflate", DeflateParams(server_max_window_bits=10)),
    ("permessage-deflate; server_max_window_bits=12", DeflateParams(server_max_window_bits=10)),
    ("permessage-deflate; client_max_window_bits=12", DeflateParams(client_max_window_bits=10)),
])
def test_client_refuses(answer: str, offered: Optional[DeflateParams]) -> None:
    with pytest.raises(RemoteProtocolError):
        check_response(parse_extensions(answer), offered)


# -- the codec and RFC 7692 §7.2.3's examples ---------------------------------------------------

HELLO = b"\xf2\x48\xcd\xc9\xc9\x07\x00"


def test_compressing_hello_gives_the_rfc_bytes_with_and_without_context_takeover() -> None:
    takeover = PerMessageDeflate(DeflateParams())
    assert takeover.compress(b"Hello", True) == HELLO
    assert takeover.compress(b"Hello", True) == b"\xf2\x00\x11\x00\x00"  # §7.2.3.2
    reset = PerMessageDeflate(DeflateParams(server_no_context_takeover=True))
    assert reset.compress(b"Hello", True) == HELLO
    assert reset.compress(b"Hello", True) == HELLO


@pytest.mark.parametrize("data", [
    HELLO,
    b"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00",  # §7.2.3.3, a stored block
    b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00",              # §7.2.3.4, BFINAL set
])
def test_decompressing_the_rfc_examples(data: bytes) -> None:
    codec = PerMessageDeflate(DeflateParams())
    assert codec.decompress(data, True, 100) == b"Hello"
    assert codec.decompress(HELLO, True, 100) == b"Hello"  # and the next message too


def test_empty_message_compresses_to_one_byte() -> None:
    assert PerMessageDeflate(DeflateParams()).compress(b"", True) == b"\x00"  # §7.2.3.6


def test_decompression_bomb_stops_at_the_limit() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"\x00" * (64 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(data) < 100_000
    codec = PerMessageDeflate(DeflateParams())
    with pytest.raises(RemoteProtocolError) as info:
        codec.decompress(data[:-4], True, 1 << 20)
    assert info.value.close_code == 1009


def test_invalid_compressed_data_is_1007() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        PerMessageDeflate(DeflateParams()).decompress(b"\xff\xff\xff", True, 100)
    assert info.value.close_code == 1007


def test_data_after_a_final_block_is_ignored_even_in_later_fragments() -> None:
    codec = PerMessageDeflate(DeflateParams())
    assert codec.decompress(b"\xf3\x48\xcd\xc9\xc9\x07\x00junk", False, 100) == b"Hello"
    assert codec.decompress(b"more junk", True, 100) == b""
    assert codec.decompress(HELLO, True, 100) == b"Hello"


# -- through Connection --------------------------------------------------------------------

def compressed(payload: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


D = DeflateParams()


def test_compressed_text_frame() -> None:
    tr(frame(TEXT, HELLO, rsv=4), [Message("Hello")], deflate=D)


def test_uncompressed_messages_are_still_fine() -> None:
    tr(frame(TEXT, b"plain"), [Message("plain")], deflate=D)


def test_fragmented_compressed_message_with_a_ping_between() -> None:
    body = compressed("é".encode() * 300)
    data = (frame(TEXT, body[:5], rsv=4, fin=False) + frame(PING, b"!")
            + frame(CONT, body[5:20], fin=False) + frame(CONT, body[20:]))
    tr(data, [Ping(b"!"), Message("é" * 300)], deflate=D)


def test_rsv1_on_a_continuation_or_control_frame_is_1002() -> None:
    tr_error(frame(TEXT, HELLO[:3], rsv=4, fin=False) + frame(CONT, HELLO[3:], rsv=4), 1002,
             deflate=D)
    tr_error(frame(PING, b"", rsv=4), 1002, deflate=D)
    tr_error(frame(TEXT, HELLO, rsv=2), 1002, deflate=D)


def test_compressed_message_over_the_limit_is_1009() -> None:
    limits = Limits(max_frame_size=1000, max_message_size=1000)
    small_on_the_wire = compressed(b"a" * 5000)
    assert len(small_on_the_wire) < 100
    tr_error(frame(BINARY, small_on_the_wire, rsv=4), 1009, deflate=D, limits=limits)
    tr(frame(BINARY, compressed(b"a" * 1000), rsv=4), [Message(b"a" * 1000)], deflate=D,
       limits=limits)


def test_compressed_invalid_utf8_is_1007() -> None:
    tr_error(frame(TEXT, compressed(b"ok \xff"), rsv=4), 1007, deflate=D)


def pair(params: DeflateParams) -> Tuple[Connection, Connection]:
    return Connection(client=True, deflate=params), Connection(deflate=params)


@pytest.mark.parametrize("params", [
    DeflateParams(),
    DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    DeflateParams(server_max_window_bits=9, client_max_window_bits=9),
    DeflateParams(client_no_context_takeover=True, server_max_window_bits=15),
])
def test_round_trips(params: DeflateParams) -> None:
    client, server = pair(params)
    messages: List[object] = ["Hello", "Hello", "", b"", b"\x00" * 100_000,
                              bytes(range(256)) * 40, "ü" * 5000]
    for m in messages:
        sent = client.send_data(m)  # type: ignore[arg-type]
        server.receive_data(sent)
        assert server.next_event() == Message(m)  # type: ignore[arg-type]
        reply = server.send_data(m)  # type: ignore[arg-type]
        client.receive_data(reply)
        assert client.next_event() == Message(m)  # type: ignore[arg-type]
    # Fragments, each compressed and flushed; RSV1 on the first only.
    data = server.send_data("abc" * 100, fin=False) + server.send_data("def" * 100)
    firsts = [f for f, _, _ in unframe(data)]
    assert firsts[0] & 0x40 and not firsts[1] & 0x40
    client.receive_data(data)
    assert drain(client) == [Message("abc" * 100 + "def" * 100)]


def test_compression_actually_happens_and_skips_empty_messages() -> None:
    client, server = pair(DeflateParams())
    data = server.send_data(b"z" * 10_000)
    assert len(data) < 100 and data[0] == 0xC2
    assert server.send_data(b"") == b"\x82\x00"
    assert server.send_ping(b"ping")[0] == 0x89  # control frames are never compressed


def test_set_deflate_switches_compression_between_messages() -> None:
    # A server end starts without the extension: a compressed frame is a protocol error
    # until the codec is set, and sending compresses from then on.
    conn = Connection(client=False)
    conn.receive_data(frame(TEXT, b"plain"))
    assert drain(conn) == [Message("plain")]
    conn.set_deflate(D)
    assert conn.deflate is not None
    conn.receive_data(frame(TEXT, HELLO, rsv=4))
    assert drain(conn) == [Message("Hello")]
    [(first, _, payload)] = unframe(conn.send_data(b"Hello"))
    assert first == 0xC2 and payload == HELLO
    conn.set_deflate(None)
    assert unframe(conn.send_data(b"Hello")) == [(0x82, 0, b"Hello")]
    conn.receive_data(frame(TEXT, HELLO, rsv=4))
    with pytest.raises(RemoteProtocolError):
        drain(conn)


def test_set_deflate_is_refused_inside_a_message() -> None:
    conn = Connection(client=False, deflate=D)
    conn.send_data(b"part", fin=False)
    with pytest.raises(LocalProtocolError):
        conn.set_deflate(None)
    conn.send_data(b"end")
    conn.receive_data(frame(TEXT, b"ab", fin=False))
    assert drain(conn) == []
    with pytest.raises(LocalProtocolError):
        conn.set_deflate(None)  # a fragmented message is being received
    conn.receive_data(frame(CONT, b"c"))
    assert drain(conn) == [Message("abc")]
    conn.receive_data(frame(BINARY, b"xyz")[:7])  # a whole header, a payload byte short
    assert drain(conn) == []
    with pytest.raises(LocalProtocolError):
        conn.set_deflate(None)
