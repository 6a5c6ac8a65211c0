"""Input format names, the file names that imply them, and how a file's format and compression are found.

Formats: `parquet`, `jsonl` (`.jsonl`, `.json`), `csv` (`.csv`), `tsv` (`.tsv`), `txt` (`.txt`); all but
Parquet may also be compressed, as the extension says (`.gz`, `.zst`: `corpus.jsonl.zst`). A file's
format comes from its name unless one is given (`data.format=`, wired into the stage in a follow-up);
its compression is read from its first bytes (gzip and zstd have magic numbers), so an explicitly
formatted file needs no particular name, and a file named `.gz` that is not gzip is refused up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from vnlp_batch.corpus.errors import BadFileError, InputError

FORMATS: tuple[str, ...] = ("parquet", "jsonl", "csv", "tsv", "txt")
FORMAT_TITLES = {
    "parquet": "Parquet",
    "jsonl": "JSON Lines",
    "csv": "CSV",
    "tsv": "TSV",
    "txt": "plain text",
}
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet",),
    "jsonl": (".jsonl", ".json"),
    "csv": (".csv",),
    "tsv": (".tsv",),
    "txt": (".txt",),
}
# Extensions a directory is searched for when no format is given. `.json` and `.txt` are left out:
# next to data they are usually metadata and notes (dataset_info.json, README.txt), and reading them
# as a corpus would be wrong; name the format (or use a glob) to read such files from a directory.
DIRECTORY_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet",),
    "jsonl": (".jsonl",),
    "csv": (".csv",),
    "tsv": (".tsv",),
}
# pyarrow's codec names, by extension and by magic number.
COMPRESSION_EXTENSIONS: dict[str, str] = {".gz": "gzip", ".zst": "zstd"}
COMPRESSION_MAGIC: dict[bytes, str] = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


class InputFormat(NamedTuple):
    """How to read one file: its format (one of FORMATS) and compression (None, "gzip" or "zstd")."""

    name: str
    compression: str | None


def formats_read() -> str:
    """The formats and extensions this tool reads, for error messages."""
    listed = ", ".join(f"{FORMAT_TITLES[f]} ({', '.join(EXTENSIONS[f])})" for f in FORMATS)
    compressed = ", ".join(COMPRESSION_EXTENSIONS)
    return f"{listed}; all but Parquet also compressed ({compressed})"


def format_from_name(path: Path) -> tuple[str | None, str | None]:
    """(format, compression) that `path`'s name implies; None where it implies nothing."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = COMPRESSION_EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None, compression
    for name, extensions in EXTENSIONS.items():
        if suffixes[-1] in extensions and not (name == "parquet" and compression):
            return name, compression
    return None, compression


def check_format_name(format: str) -> str:
    """`format` if it is one of FORMATS, else `InputError` listing them."""
    if format not in FORMATS:
        raise InputError(f"unknown input format {format!r}; choose one of: {', '.join(FORMATS)}")
    return format


def detect_format(path: Path, format: str | None = None) -> InputFormat:
    """`path`'s format (`format` if given, else from its name) and compression (from its first bytes).

    `InputError` naming the file and the formats read when the name implies no format; `BadFileError`
    when the file cannot be opened, or its name says compressed and its bytes do not agree.
    """
    path = Path(path)
    named, named_compression = format_from_name(path)
    name = check_format_name(format) if format is not None else named
    if name is None:
        raise InputError(
            f"{path}: cannot tell its format from the name; vnlp-batch reads {formats_read()}; "
            f"name the format ({'|'.join(FORMATS)}) to read a file named otherwise"
        )
    if name == "parquet":
        return InputFormat(name, None)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise BadFileError(f"{path}: cannot open: {e.strerror or e}") from e
    compression = next((c for magic, c in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)
    if named_compression is not None and compression != named_compression:
        raise BadFileError(
            f"{path}: its name says {named_compression}-compressed but its content is "
            f"{compression + '-compressed' if compression else 'not compressed'}"
        )
    return InputFormat(name, compression)
