"""frames: masking (both algorithms, every length around the switch), encoding, close codes."""

from __future__ import annotations

import os

import pytest

from greenlane._ws.frames import apply_mask, close_code_is_valid, encode_frame

from ._helpers import unframe


def slow_mask(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 31, 125, 253, 254, 255, 256, 257, 258,
                                  259, 1000, 4097, 65536])
def test_apply_mask_matches_the_definition(size: int) -> None:
    data = os.urandom(size)
    key = os.urandom(4)
    masked = apply_mask(data, key)
    assert bytes(masked) == slow_mask(data, key)
    assert bytes(apply_mask(bytes(masked), key)) == data  # its own inverse


def test_apply_mask_takes_bytearrays() -> None:
    data = bytearray(os.urandom(1000))
    assert bytes(apply_mask(data, bytearray(b"abcd"))) == slow_mask(bytes(data), b"abcd")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_encode_frame_lengths(size: int) -> None:
    payload = b"p" * size
    assert unframe(encode_frame(0x82, payload, False)) == [(0x82, 0, payload)]
    assert unframe(encode_frame(0x82, payload, True)) == [(0x82, 0x80, payload)]
    header = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(encode_frame(0x82, payload, False)) == header + size


def test_close_codes() -> None:
    valid = [c for c in range(0, 6000) if close_code_is_valid(c)]
    assert valid == [*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)]
