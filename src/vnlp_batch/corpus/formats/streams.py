"""Byte streams of (possibly compressed) input files, their lines, and the fingerprint of such a file.

Decompression is pyarrow's (`pyarrow.input_stream`, gzip and zstd in C++; a truncated stream raises
instead of ending early), read through an `io.BufferedReader` so that lines come at C speed. Lines are
read with a length limit, so a file without line breaks cannot fill memory: an over-long line is
reported (with its number) and skipped.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus.errors import BadFileError

READ_BUFFER = 1 << 20
MAX_LINE_BYTES = 64 << 20  # a longer line is an error row, not a memory spike
FINGERPRINT_SAMPLE = 1 << 20  # bytes hashed at each end of a file
UTF8_BOM = "\ufeff"


class _NativeRaw(io.RawIOBase):
    """A pyarrow NativeFile as a raw stream, so that io.BufferedReader can buffer it and split lines."""

    def __init__(self, native: pa.NativeFile) -> None:
        self._native = native

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._native.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._native.close()
        super().close()


def open_binary(path: Path, compression: str | None) -> io.BufferedReader:
    """`path`'s decompressed bytes as a buffered stream (close it, or use it as a context manager)."""
    try:
        native = pa.input_stream(os.fspath(path), compression=compression)
    except (OSError, pa.ArrowException) as e:
        raise BadFileError(f"{path}: cannot open: {reason(e)}") from e
    return io.BufferedReader(_NativeRaw(native), buffer_size=READ_BUFFER)


class Line:
    """One line of a file: its 1-based number, and its bytes without the line break (None if too long)."""

    __slots__ = ("data", "number")

    def __init__(self, number: int, data: bytes | None) -> None:
        self.number = number
        self.data = data


def iter_lines(path: Path, compression: str | None) -> Iterator[Line]:
    """`path`'s lines in order (`\\n` ends a line; a `\\r` before it is dropped too).

    A line longer than MAX_LINE_BYTES comes as `Line(number, None)`. A stream that cannot be read
    (truncated or corrupt compressed data, I/O error) raises `BadFileError` naming the line reached.
    """
    number = 0
    with open_binary(path, compression) as stream:
        while True:
            try:
                data = stream.readline(MAX_LINE_BYTES + 1)
                if not data:
                    return
                number += 1
                too_long = len(data) > MAX_LINE_BYTES and not data.endswith(b"\n")
                rest = data
                while too_long and rest and not rest.endswith(b"\n"):
                    rest = stream.readline(READ_BUFFER)  # skip the rest of the line
            except (OSError, pa.ArrowException) as e:
                raise BadFileError(f"{path}: unreadable after line {number}: {reason(e)}") from e
            if too_long:
                yield Line(number, None)
            elif data.endswith(b"\n"):
                yield Line(number, data[:-2] if data.endswith(b"\r\n") else data[:-1])
            else:
                yield Line(number, data)


def decode_line(line: Line) -> str:
    """The line as text (UTF-8, a byte-order mark at the start of line 1 dropped); `ValueError` with a
    one-line reason otherwise."""
    if line.data is None:
        raise ValueError(f"line {line.number}: longer than {MAX_LINE_BYTES:,} bytes")
    try:
        text = line.data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"line {line.number}: not valid UTF-8 (byte {e.start + 1})") from None
    if line.number == 1 and text.startswith(UTF8_BOM):
        text = text[1:]
    return text


def sample_fingerprint(path: Path) -> dict[str, int | str]:
    """`size`, `mtime_ns`, and `sample_sha256` (of the file's first and last MiB as stored) of `path`.

    Files other than Parquet have no footer that counts their rows, so a fingerprint cannot hold the
    row count without reading the whole (possibly compressed) file; the two hashed ends catch a file
    rewritten in place with the same size and a preserved mtime (`cp -p`, `rsync -t`), at the cost
    of reading 2 MiB.
    """
    try:
        stat = os.stat(path)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            digest.update(f.read(FINGERPRINT_SAMPLE))
            if stat.st_size > FINGERPRINT_SAMPLE:
                f.seek(max(stat.st_size - FINGERPRINT_SAMPLE, FINGERPRINT_SAMPLE))
                digest.update(f.read(FINGERPRINT_SAMPLE))
    except OSError as e:
        raise BadFileError(f"{path}: cannot read: {e.strerror or e}") from e
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sample_sha256": digest.hexdigest()}


def reason(error: BaseException) -> str:
    """The underlying error on one line (Arrow's messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__
