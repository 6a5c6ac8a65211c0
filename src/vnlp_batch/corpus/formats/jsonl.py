"""JSON Lines input: one JSON object per line, streamed line by line.

- Columns: the objects' keys in order of first appearance within the first SCHEMA_SAMPLE_BYTES (1 MiB)
  of the file, typed as pyarrow infers them from the values there (a key whose values there are all
  null, or that has no common type, is a string column); the text column is always a string column,
  present even when the sample never has it. pyarrow's own JSON reader fixes its columns the same way,
  but fails the whole file on the first line that does not fit them, without naming it.
- A string column other than the text column takes any value: one that is not a string is kept as
  its JSON text (`7` → `"7"`, `{"a": 1}` → `'{"a": 1}'`), so metadata fields of mixed types lose
  nothing.
- Row-level errors (the row comes out, in place, with its `INPUT_ERROR_COLUMN` reason and null values
  where nothing could be read): a line that is not valid JSON, not UTF-8, or longer than 64 MiB; a
  value that is not an object; an object without the text field; a value that does not fit its
  column's type (that value is null, the others are kept). One bad line in a large crawl should cost
  that line, not the file, and the reason names the line.
- A key that first appears after the sample is not a column: its values are dropped and a warning
  names the key and the first line that has it, once per file.
- A line that is empty or only whitespace is not a row (JSON Lines has no empty records).
- File-level errors (`BadFileError`): unreadable or truncated compressed data, naming the last line
  read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus.formats.batches import RecordBatchBuilder, selected_columns
from vnlp_batch.corpus.formats.streams import decode_line, iter_lines

log = logging.getLogger(__name__)

SCHEMA_SAMPLE_BYTES = 1 << 20


def _parse(text: str, number: int) -> dict:
    """The object on line `number`; `ValueError` with a one-line reason if it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"line {number}: invalid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"line {number}: invalid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError(f"line {number}: a JSON {type(value).__name__}, not an object") from None
    return value


def _infer_type(values: list[object]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if not present:
        return pa.string()
    try:
        inferred = pa.array(present).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.string()
    return pa.string() if pa.types.is_null(inferred) else inferred


def jsonl_schema(path: Path, compression: str | None, text_column: str | None) -> pa.Schema:
    """The columns of a JSON Lines file, from its first SCHEMA_SAMPLE_BYTES (module docstring).

    `text_column=None` types every column by its values (to check a file before the text column is
    known)."""
    values: dict[str, list[object]] = {}
    seen = 0
    for line in iter_lines(path, compression):
        if seen >= SCHEMA_SAMPLE_BYTES:
            break
        seen += len(line.data or b"") + 1
        try:
            text = decode_line(line)
            if not text.strip():
                continue
            row = _parse(text, line.number)
        except ValueError:
            continue  # reported as a row error when the rows are read
        for key, value in row.items():
            values.setdefault(key, []).append(value)
    fields = [
        pa.field(key, pa.string() if key == text_column else _infer_type(column))
        for key, column in values.items()
    ]
    if text_column is not None and not values:
        fields.append(pa.field(text_column, pa.string()))
    return pa.schema(fields)


def iter_jsonl(
    path: Path,
    compression: str | None,
    batch_rows: int,
    columns: Sequence[str] | None,
    text_column: str | None,
) -> Iterator[pa.RecordBatch]:
    """The file's rows in order as record batches (module docstring for errors and columns); with
    `text_column=None` no field is required."""
    schema = jsonl_schema(path, compression, text_column)
    builder = RecordBatchBuilder(schema, selected_columns(path, schema, columns), batch_rows)
    names = schema.names
    known = set(names)
    # String columns that keep any value as its JSON text (module docstring).
    lenient = [
        i for i, field in enumerate(schema) if pa.types.is_string(field.type) and field.name != text_column
    ]
    for line in iter_lines(path, compression):
        size = len(line.data or b"")
        try:
            text = decode_line(line)
            if not text.strip():
                continue
            row = _parse(text, line.number)
        except ValueError as e:
            ready = builder.add(line.number, None, str(e), size)
        else:
            error = None
            if text_column is not None and text_column not in row:
                error = f"line {line.number}: no field {text_column!r}"
            if not known.issuperset(row):
                for key in row:
                    if key not in known:
                        known.add(key)
                        log.warning(
                            "%s: line %d: field %r is not among the columns read from the file's first "
                            "%d MiB (%s); its values are dropped",
                            path,
                            line.number,
                            key,
                            SCHEMA_SAMPLE_BYTES >> 20,
                            ", ".join(names),
                        )
            values = [row.get(name) for name in names]
            for i in lenient:
                value = values[i]
                if value is not None and not isinstance(value, str):
                    values[i] = json.dumps(value, ensure_ascii=False)
            ready = builder.add(line.number, values, error, size)
        if ready:
            yield builder.take()
    last = builder.take()
    if last is not None:
        yield last
