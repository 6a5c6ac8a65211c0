"""CSV and TSV input, streamed record by record with Python's `csv` module.

- The first record is the header: the column names, each non-empty and unique (else `SchemaError`).
- Every column is a string column: CSV has no types, and guessing them from the first rows rewrites
  values (`007` → 7) and fails on the first later row that does not fit. An empty field is `""`.
- CSV (`.csv`) is RFC 4180 with strict quoting: a field may be quoted with `"` (`""` inside for a
  quote) and then hold commas and line breaks. TSV (`.tsv`) is the IANA text/tab-separated-values
  format: no quoting at all, fields are taken literally and cannot hold a tab or a line break — text
  corpora in TSV are full of quotes at the start of fields, which quoting rules would swallow.
- Row-level error: a record with more or fewer fields than the header (the row comes out, in place,
  with the fields that are there — missing ones null, extra ones dropped — and its
  `INPUT_ERROR_COLUMN` reason naming the line).
- File-level errors (`BadFileError` naming the line): a quoting error (a quote inside an unquoted
  field, text after a closing quote, a quoted field still open at the end of the file) — from there
  on the parser's idea of where records start cannot be trusted, and reading on would misplace or
  swallow rows; bytes that are not UTF-8; a line longer than 64 MiB; unreadable compressed data.
- A blank line is not a row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus.errors import BadFileError, SchemaError
from vnlp_batch.corpus.formats.batches import RecordBatchBuilder, selected_columns
from vnlp_batch.corpus.formats.streams import MAX_LINE_BYTES, decode_line, iter_lines

DIALECTS: dict[str, dict[str, object]] = {
    "csv": {"delimiter": ",", "quotechar": '"', "doublequote": True, "strict": True},
    "tsv": {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "strict": True},
}
# csv's default field limit (128 KiB) would refuse a long document; a line cannot exceed this anyway.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))


class _Source:
    """The file's lines as text for csv.reader, which counts them in `line_num`; a line that cannot be
    decoded stops the file (a record may span lines, so it cannot be skipped alone)."""

    def __init__(self, path: Path, compression: str | None) -> None:
        self._path = path
        self._lines = iter_lines(path, compression)

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            try:
                yield decode_line(line) + "\n"
            except ValueError as e:
                raise BadFileError(f"{self._path}: {e}") from None


def _records(path: Path, compression: str | None, format: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each record, blank lines skipped."""
    reader = csv.reader(_Source(path, compression), **DIALECTS[format])
    last_line = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise BadFileError(
                f"{path}: line {reader.line_num}: malformed {format.upper()} ({e}); rows from here on "
                "cannot be told apart"
            ) from None
        first_line, last_line = last_line + 1, reader.line_num
        if fields:
            yield first_line, fields


def delimited_schema(path: Path, compression: str | None, format: str) -> pa.Schema:
    """The header's columns, all strings; `SchemaError` for a missing, empty or repeated name."""
    header = next(_records(path, compression, format), None)
    if header is None:
        raise SchemaError(f"{path}: empty {format.upper()} file: no header line with the column names")
    names = header[1]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise SchemaError(
            f"{path}: line {header[0]}: the header's column names must be non-empty and distinct: "
            f"{', '.join(map(repr, names))}"
        )
    return pa.schema([pa.field(name, pa.string()) for name in names])


def iter_delimited(
    path: Path, compression: str | None, format: str, batch_rows: int, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    """The file's rows in order as record batches (module docstring for errors)."""
    schema = delimited_schema(path, compression, format)
    builder = RecordBatchBuilder(schema, selected_columns(path, schema, columns), batch_rows)
    width = len(schema)
    records = _records(path, compression, format)
    next(records)  # the header
    for line, fields in records:
        error = None
        if len(fields) != width:
            error = f"line {line}: {len(fields)} field(s), but the header has {width}"
            fields = (fields + [None] * width)[:width]
        if builder.add(line, fields, error, sum(len(f) for f in fields if f)):
            yield builder.take()
    last = builder.take()
    if last is not None:
        yield last
