"""Plain text input (`.txt`): a row per line, or a document per blank-line-separated block.

Columns: `line` (int64, the 1-based number of the row's first line in the file) and `text` (string).

- `unit="sentence"`: every line is a row, blank lines too (their text is empty, so their status will
  be `empty`), so that row *i* is line *i* + 1.
- `unit="document"`: a blank line (empty or whitespace-only) ends a document, and so do several; a
  document's text is its lines joined with `\\n`, so single line breaks inside it separate paragraphs
  (the paragraph rule of `featurize.sentences`). `documents_tr.txt` in the sample is written this way.
- `\\n` ends a line (a `\\r` before it is dropped); other line boundaries stay inside the row's text.
  The text is UTF-8; a byte-order mark at the start of the file is dropped.
- Row-level errors: a line that is not UTF-8 or is longer than 64 MiB (its row, or its document,
  has a null text and the reason names the line); a document longer than MAX_DOCUMENT_CHARS (null
  text: a document is held in memory whole).
- File-level errors: unreadable compressed data (`BadFileError` naming the last line read).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus.formats.batches import RecordBatchBuilder, selected_columns
from vnlp_batch.corpus.formats.streams import decode_line, iter_lines

TEXT_SCHEMA = pa.schema([pa.field("line", pa.int64()), pa.field("text", pa.string())])
UNITS = ("sentence", "document")
MAX_DOCUMENT_CHARS = 64 << 20


def iter_text(
    path: Path, compression: str | None, batch_rows: int, columns: Sequence[str] | None, unit: str
) -> Iterator[pa.RecordBatch]:
    """The file's rows (lines or documents) in order as record batches (module docstring)."""
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r}; choose one of: {', '.join(UNITS)}")
    builder = RecordBatchBuilder(TEXT_SCHEMA, selected_columns(path, TEXT_SCHEMA, columns), batch_rows)
    rows = _lines(path, compression) if unit == "sentence" else _documents(path, compression)
    for first_line, text, error in rows:
        if builder.add(first_line, (first_line, text), error, len(text) if text else 0):
            yield builder.take()
    last = builder.take()
    if last is not None:
        yield last


def _lines(path: Path, compression: str | None) -> Iterator[tuple[int, str | None, str | None]]:
    for line in iter_lines(path, compression):
        try:
            yield line.number, decode_line(line), None
        except ValueError as e:
            yield line.number, None, str(e)


def _documents(path: Path, compression: str | None) -> Iterator[tuple[int, str | None, str | None]]:
    first = 0
    parts: list[str] = []
    chars = 0
    error: str | None = None
    for line in iter_lines(path, compression):
        try:
            text = decode_line(line)
        except ValueError as e:
            text = None
            error = error or str(e)
        if text is not None and not text.strip():
            if first:
                yield first, None if error else "\n".join(parts), error
            first, parts, chars, error = 0, [], 0, None
            continue
        if not first:
            first = line.number
        if text is not None and error is None:
            chars += len(text) + 1
            if chars > MAX_DOCUMENT_CHARS:
                error = (
                    f"line {line.number}: the document starting on line {first} is longer than "
                    f"{MAX_DOCUMENT_CHARS:,} characters"
                )
                parts = []
            else:
                parts.append(text)
    if first:
        yield first, None if error else "\n".join(parts), error
