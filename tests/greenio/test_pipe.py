"""GreenPipe and GreenFileIO: pipes that suspend only the calling green thread."""

from __future__ import annotations

import gc
import io
import os
import sys
import time

import pytest

from greenlane.greenio import GreenFileIO, GreenPipe, IOClosed
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub


def _blocked(gt: object) -> bool:
    for _ in range(3):
        sleep(0)
    return not gt.dead  # type: ignore[attr-defined]


@pytest.mark.usefixtures("hub_backend")
def test_read_waits_cooperatively() -> None:
    r, w = os.pipe()
    reader = GreenPipe(r, "rb")
    writer = GreenPipe(w, "wb", buffering=0)
    try:
        assert not os.get_blocking(r)
        gt = spawn(reader.read, 5)
        assert _blocked(gt)
        writer.write(b"hel")
        assert _blocked(gt)
        writer.write(b"lo!")
        assert gt.wait() == b"hello"
        assert reader.read(1) == b"!"
    finally:
        reader.close()
        writer.close()


@pytest.mark.usefixtures("hub_backend")
def test_large_write_waits_for_the_reader() -> None:
    r, w = os.pipe()
    payload = os.urandom(4 << 20)
    reader = GreenPipe(r, "rb")
    writer = GreenPipe(w, "wb")

    def write_all() -> None:
        writer.write(payload)
        writer.close()

    gt = spawn(write_all)
    assert _blocked(gt)  # a pipe holds far less than 4 MiB
    assert reader.read() == payload
    gt.wait()
    reader.close()


def test_text_mode_lines() -> None:
    r, w = os.pipe()
    reader = GreenPipe(r, "r", encoding="utf-8")
    writer = GreenPipe(w, "w", buffering=1, encoding="utf-8")
    try:
        gt = spawn(reader.readline)
        assert _blocked(gt)
        writer.write("première\nsecond")
        assert gt.wait() == "première\n"
        writer.close()
        assert reader.read() == "second"
        assert reader.mode == "r"
    finally:
        reader.close()


def test_from_a_file_object_duplicates_and_closes_it() -> None:
    r, w = os.pipe()
    original = os.fdopen(r, "rb")
    pipe = GreenPipe(original, "rb")
    assert original.closed
    os.write(w, b"via dup")
    os.close(w)
    assert pipe.read() == b"via dup"
    pipe.close()


def test_close_wakes_a_blocked_reader() -> None:
    r, w = os.pipe()
    raw = GreenFileIO(r, "r")
    try:
        gt = spawn(raw.read, 10)
        assert _blocked(gt)
        raw.close()
        with pytest.raises(IOClosed):
            gt.wait()
        assert get_hub().get_readers() == []
    finally:
        os.close(w)


def test_regular_files_by_path(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "data.bin")
    with GreenPipe(path, "wb") as f:
        f.write(b"0123456789")
    with GreenPipe(path, "rb") as f:
        assert f.seekable()
        f.seek(4)
        assert f.read(3) == b"456"
        assert f.tell() == 7
    with GreenPipe(path, "r+b") as f:
        f.write(b"AB")
        f.seek(0)
        assert f.read() == b"AB23456789"
    with GreenPipe(path, "ab", buffering=0) as f:
        assert isinstance(f, GreenFileIO)
        f.write(b"!")
        f.truncate(3)
    with open(path, "rb") as f:
        assert f.read() == b"AB2"
    with pytest.raises(FileExistsError):
        GreenPipe(path, "xb")


def test_raw_file_checks() -> None:
    r, w = os.pipe()
    reader = GreenFileIO(r, "rb")
    writer = GreenFileIO(w, "wb")
    try:
        assert reader.readable() and not reader.writable()
        assert writer.writable() and not writer.readable()
        assert not reader.seekable()
        assert not reader.isatty()
        with pytest.raises(io.UnsupportedOperation):
            reader.write(b"x")
        with pytest.raises(io.UnsupportedOperation):
            writer.read(1)
        assert "GreenFileIO" in repr(reader)
        writer.write(b"abc")
        writer.close()
        assert reader.readall() == b"abc"
    finally:
        reader.close()
        writer.close()
    with pytest.raises(ValueError):
        GreenFileIO(-1)
    with pytest.raises(ValueError):
        GreenFileIO(0, "q")
    with pytest.raises(ValueError):
        GreenPipe(os.devnull, "r", buffering=0)


def test_closefd_false_leaves_the_descriptor_open() -> None:
    r, w = os.pipe()
    try:
        pipe = GreenPipe(r, "rb", closefd=False)
        pipe.close()
        os.write(w, b"k")
        assert os.read(r, 1) == b"k"
    finally:
        os.close(r)
        os.close(w)


def test_blocking_terminal_like_descriptor_is_waited_on_first() -> None:
    # A character device left blocking (a terminal in real life): GreenFileIO must not flip its
    # flags (the terminal is shared with the shell) and must still not block the process.
    try:
        master, slave = os.openpty()
    except OSError:
        pytest.skip("no pty available")
    try:
        raw = GreenFileIO(master, "r+", closefd=False)
        assert os.get_blocking(master)
        gt = spawn(raw.read, 100)
        start = time.monotonic()
        assert _blocked(gt)
        os.write(slave, b"typed\n")
        data = gt.wait()
        assert data.startswith(b"typed")
        assert time.monotonic() - start < 2
        assert raw.write(b"x") == 1
    finally:
        os.close(master)
        os.close(slave)


def test_a_half_built_file_closes_and_prints_quietly(tmp_path: object) -> None:
    # CPython 3.13 printed "AttributeError: name" through the unraisable hook: a constructor
    # that raised left an object whose finaliser (close) and repr failed.
    existing = os.path.join(str(tmp_path), "exists")
    open(existing, "wb").close()
    seen: list[object] = []
    hook = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with pytest.raises(FileExistsError):
            GreenFileIO(existing, "x")
        with pytest.raises(ValueError):
            GreenFileIO(0, "q")
        with pytest.raises(OSError):
            GreenFileIO(_closed_fd())
        r, w = os.pipe()
        os.close(w)
        with pytest.raises(ValueError):
            GreenPipe(r, "r", buffering=0)  # unbuffered text: the raw file is closed again
        with pytest.raises(OSError):
            os.fstat(r)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert seen == []
    half = GreenFileIO.__new__(GreenFileIO)
    assert repr(half) == "<greenlane.GreenFileIO [closed]>"
    half.close()


def _closed_fd() -> int:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r


def test_truncate_leaves_the_position_as_open_does(tmp_path: object) -> None:
    # eventlet's GreenPipe moves the position to the new size; open()'s files, and
    # greenlane's, leave it where it was and return the size.
    path = os.path.join(str(tmp_path), "t.bin")
    for opener in (GreenPipe, open):
        with opener(path, "wb+", 1024) as f:
            f.write(b"1234567890")
            assert f.truncate(9) == 9
            assert f.tell() == 10
            f.seek(0)
            assert f.read() == b"123456789"
        with GreenPipe(path, "rb+", buffering=0) as raw:
            raw.seek(4)
            assert raw.truncate(2) == 2 and raw.tell() == 4
