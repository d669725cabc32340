"""Property tests (hypothesis): whatever the peer sends, only RemoteProtocolError escapes, and
feeding whole or byte by byte gives the same events or the same close code."""

from __future__ import annotations

import platform
from typing import List, Tuple, Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenlane._ws import DeflateParams, Limits, RemoteProtocolError

from ._helpers import Result, feed_bytewise, feed_whole, frame

FUZZ = settings(max_examples=300 if platform.python_implementation() == "CPython" else 100,
                deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = Limits(max_frame_size=64, max_message_size=96)

Outcome = Union[List[Result], Tuple[str, int]]


def outcome(feeder: object, data: bytes, **kw: object) -> Outcome:
    try:
        return feeder(data, eof=True, **kw)  # type: ignore[operator, no-any-return]
    except RemoteProtocolError as exc:
        assert exc.close_code in (1002, 1006, 1007, 1009)
        return ("error", exc.close_code)


@FUZZ
@given(st.binary(max_size=300), st.booleans(), st.booleans())
def test_random_bytes(data: bytes, client: bool, deflate: bool) -> None:
    params = DeflateParams() if deflate else None
    whole = outcome(feed_whole, data, client=client, limits=SMALL, deflate=params)
    assert outcome(feed_bytewise, data, client=client, limits=SMALL, deflate=params) == whole


frames = st.builds(
    lambda opcode, payload, fin, rsv, masked: frame(opcode, payload, fin=fin, rsv=rsv,
                                                    mask=b"\x01\x02\x03\x04" if masked else None),
    st.sampled_from([0, 1, 2, 8, 9, 10, 3, 0xB]),
    st.one_of(st.binary(max_size=80), st.text(max_size=30).map(str.encode)),
    st.booleans(),
    st.sampled_from([0, 0, 0, 4, 2]),
    st.booleans(),
)


@FUZZ
@given(st.lists(frames, max_size=8), st.booleans())
def test_sequences_of_plausible_frames(parts: List[bytes], deflate: bool) -> None:
    data = b"".join(parts)
    params = DeflateParams() if deflate else None
    whole = outcome(feed_whole, data, limits=SMALL, deflate=params)
    assert outcome(feed_bytewise, data, limits=SMALL, deflate=params) == whole
