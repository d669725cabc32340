"""handshake: the server's checks of an upgrade request, its answer, and the client's check."""

from __future__ import annotations

from typing import Dict, Optional

import pytest

from greenlane._ws import DeflateParams, HandshakeError, RemoteProtocolError
from greenlane._ws.handshake import (
    accept_key,
    check_response,
    choose_subprotocol,
    make_key,
    parse_extensions,
    parse_list,
    request_headers,
    response_headers,
    validate_request,
)

GOOD = {
    "host": "example.com",
    "upgrade": "websocket",
    "connection": "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
}


def with_(**changes: Optional[str]) -> Dict[str, str]:
    headers = dict(GOOD)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def test_accept_key_rfc_example() -> None:
    # RFC 6455 §1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_valid_request() -> None:
    request = validate_request(with_(origin="http://example.com",
                                     sec_websocket_protocol="chat, superchat",
                                     sec_websocket_extensions="permessage-deflate; x=1"))
    assert request.key == GOOD["sec-websocket-key"]
    assert request.version == 13
    assert request.host == "example.com"
    assert request.origin == "http://example.com"
    assert request.subprotocols == ("chat", "superchat")
    assert request.extensions == (("permessage-deflate", [("x", "1")]),)


@pytest.mark.parametrize("connection", ["Upgrade", "upgrade", "keep-alive, Upgrade",
                                        "UPGRADE ,keep-alive"])
def test_connection_lists_upgrade_in_any_case(connection: str) -> None:
    validate_request(with_(connection=connection))


@pytest.mark.parametrize("upgrade", ["websocket", "WebSocket", "h2c, websocket"])
def test_upgrade_lists_websocket_in_any_case(upgrade: str) -> None:
    validate_request(with_(upgrade=upgrade))


@pytest.mark.parametrize("headers,match", [
    (with_(upgrade=None), "Upgrade"),
    (with_(upgrade="h2c"), "Upgrade"),
    (with_(connection=None), "Connection"),
    (with_(connection="keep-alive"), "Connection"),
    (with_(sec_websocket_version=None), "Version"),
    (with_(sec_websocket_key=None), "Key"),
    (with_(sec_websocket_key="not base64!"), "Key"),
    (with_(sec_websocket_key="c2hvcnQ="), "Key"),  # 5 bytes, not 16
    (with_(sec_websocket_extensions="permessage-deflate; ="), "Extensions"),
])
def test_bad_requests_are_400(headers: Dict[str, str], match: str) -> None:
    with pytest.raises(HandshakeError, match=match) as info:
        validate_request(headers)
    assert info.value.status == 400


def test_method_and_version() -> None:
    with pytest.raises(HandshakeError, match="GET") as info:
        validate_request(GOOD, method="POST")
    assert info.value.status == 400
    with pytest.raises(HandshakeError, match="HTTP/1.1"):
        validate_request(GOOD, http_version="1.0")


def test_unsupported_version_is_426_with_the_supported_ones() -> None:
    with pytest.raises(HandshakeError) as info:
        validate_request(with_(sec_websocket_version="12"))
    assert info.value.status == 426
    assert info.value.headers == (("Sec-WebSocket-Version", "13, 8"),)


def test_hybi_08_and_its_origin_field() -> None:
    seen = []
    request = validate_request(with_(sec_websocket_version="8",
                                     sec_websocket_origin="http://old"),
                               origin_checker=lambda host, origin: seen.append((host, origin))
                               or True)
    assert request.version == 8 and request.origin == "http://old"
    assert seen == [("example.com", "http://old")]


def test_origin_checker_refusal_is_403() -> None:
    def only_good(host: Optional[str], origin: Optional[str]) -> bool:
        return origin == "http://good"

    validate_request(with_(origin="http://good"), origin_checker=only_good)
    for headers in (with_(origin="http://evil"), GOOD):
        with pytest.raises(HandshakeError) as info:
            validate_request(headers, origin_checker=only_good)
        assert info.value.status == 403


def test_parse_list() -> None:
    assert parse_list(" a ,b,, c\t") == ["a", "b", "c"]
    assert parse_list(None) == [] == parse_list("")


@pytest.mark.parametrize("value,expected", [
    ("permessage-deflate", [("permessage-deflate", [])]),
    ("PerMessage-Deflate;Client_Max_Window_Bits", [
        ("permessage-deflate", [("client_max_window_bits", None)])]),
    ('permessage-deflate; server_max_window_bits="10" , foo; a=b; c', [
        ("permessage-deflate", [("server_max_window_bits", "10")]),
        ("foo", [("a", "b"), ("c", None)])]),
    (", , x ,", [("x", [])]),
    ("x ;\ty = 1", [("x", [("y", "1")])]),
])
def test_parse_extensions(value: str, expected: object) -> None:
    assert parse_extensions(value) == expected


@pytest.mark.parametrize("value", ["x;", "x; =1", "x; a=", 'x; a="1 2"', 'x; a="1', "x y",
                                   "x; a=1 b", "@"])
def test_malformed_extensions(value: str) -> None:
    with pytest.raises(HandshakeError):
        parse_extensions(value)


def test_choose_subprotocol_follows_the_client_preference() -> None:
    assert choose_subprotocol(("b", "a"), ["a", "b"]) == "b"
    assert choose_subprotocol(("c",), ["a"]) is None


def test_response_headers() -> None:
    request = validate_request(with_(sec_websocket_protocol="chat"))
    assert response_headers(request, "chat", DeflateParams(server_no_context_takeover=True)) == [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("Sec-WebSocket-Protocol", "chat"),
        ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")]
    with pytest.raises(ValueError, match="not offered"):
        response_headers(request, "other")


def test_client_and_server_helpers_agree() -> None:
    key = make_key()
    offer = DeflateParams(client_no_context_takeover=True)
    request = {name.lower(): value for name, value in
               request_headers(key, ["chat"], offer, origin="http://o")}
    request["host"] = "h"
    parsed = validate_request(request)
    from greenlane._ws.deflate import negotiate

    agreed = negotiate(parsed.extensions)
    answer = {name.lower(): value for name, value in
              response_headers(parsed, choose_subprotocol(parsed.subprotocols, ["chat"]),
                               agreed)}
    assert check_response(101, answer, key, ["chat"], offer) == ("chat", agreed)


@pytest.mark.parametrize("status,changes,match", [
    (200, {}, "101"),
    (101, {"sec-websocket-accept": "wrong"}, "Accept"),
    (101, {"upgrade": None}, "Upgrade"),
    (101, {"connection": None}, "Connection"),
    (101, {"sec-websocket-protocol": "other"}, "subprotocol"),
    (101, {"sec-websocket-extensions": "x-unknown"}, "extension"),
    (101, {"sec-websocket-extensions": "permessage-deflate; ="}, "Extensions"),
])
def test_client_refuses_bad_answers(status: int, changes: Dict[str, Optional[str]],
                                    match: str) -> None:
    key = make_key()
    answer = {"upgrade": "websocket", "connection": "upgrade",
              "sec-websocket-accept": accept_key(key)}
    for name, value in changes.items():
        if value is None:
            answer.pop(name)
        else:
            answer[name] = value
    with pytest.raises(RemoteProtocolError, match=match):
        check_response(status, answer, key, ["chat"], DeflateParams())
