"""files.py: atomic writes, the lock, sha256 of a file and of a digest string."""

from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vnlp_batch.files import (
    AtomicFile,
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    file_lock,
    sha256_digest,
    sha256_file,
    temporary_path,
)


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = random.Random(2).randbytes(2 * (1 << 20) + 123)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_sha256_digest_accepts_hex_of_either_case_only() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert sha256_digest(digest.upper()) == digest
    for bad in ("abc", digest[:-1] + "g", digest + "0", f" {digest}"):
        with pytest.raises(ValueError, match="not a SHA-256 hex digest"):
            sha256_digest(bad)


def test_atomic_writes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "eski\n")
    atomic_write_text(path, "yeni ğüşiöç\n")
    assert path.read_bytes() == "yeni ğüşiöç\n".encode()
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_block_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(path, "wb") as f:
        f.write(b"half of the new")
        assert temporary_path(path).exists()
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_an_uncommitted_file_never_appears(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    with AtomicFile(path) as file:
        file.handle.write("never published")
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_the_lock_serialises_read_modify_write_across_threads(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")

    def increment(_: int) -> None:
        with file_lock(tmp_path / ".counter.lock"):  # a new lock object per call, as processes have
            value = int(counter.read_text())
            atomic_write_text(counter, str(value + 1))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(increment, range(64)))
    assert counter.read_text() == "64"
