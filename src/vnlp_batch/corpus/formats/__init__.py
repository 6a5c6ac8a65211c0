"""Every input format behind one API: Parquet, JSON Lines, CSV, TSV and plain text, as record batches.

| format | names | columns | streamed by |
|---|---|---|---|
| `parquet` | `.parquet` | the file's | `corpus.reader` (pyarrow.dataset) |
| `jsonl` | `.jsonl`, `.json` (+ `.gz`, `.zst`) | the objects' keys (`formats.jsonl`) | lines |
| `csv`, `tsv` | `.csv`, `.tsv` (+ `.gz`, `.zst`) | the header's, all strings (`formats.delimited`) | csv |
| `txt` | `.txt` (+ `.gz`, `.zst`) | `line`, `text` (`formats.text`) | lines |

The same operations for each (`format=None` takes the format from the file name, see `formats.names`):

- `check_readable(path, format=None)`: cheap (the footer, or the first record), before any model
  loads; raises a one-line `InputError` naming the file and the formats this tool reads.
- `read_schema(path, format=None, text_column="text")`: the columns the rows will have (data columns
  only); `check_text_column(path, text_column, id_column, format=None)` checks them as the Parquet
  reader does.
- `file_fingerprint(path, format=None)`: equal fingerprints mean "same file" for resuming. Parquet:
  `size`, `mtime_ns`, `rows` (from the footer). Others: `size`, `mtime_ns`, `sample_sha256` (of the
  stored file's first and last MiB; `formats.streams.sample_fingerprint` says why).
- `iter_record_batches(path, batch_rows, columns=None, format=None, text_column="text",
  unit="sentence")`: the rows in file order, in record batches of at most `batch_rows` rows (and
  ~32 MiB of input), none empty; memory does not grow with the file. Every batch ends with the
  `INPUT_ERROR_COLUMN` (`corpus.schema`): null, or why that row could not be read (naming its line);
  such a row comes out in its place with what could be read. Problems that make the rest of a file
  unreadable raise `BadFileError` naming the file and the line. Each format module documents which
  problems are row-level and which file-level.

How the command uses this (`data.format`, `data.unit`): `discover_inputs(path, format=...)`, then
`check_readable` and `check_text_column` for every file before the models load (preflight.py);
`file_fingerprint` in the resume manifest; the loader (inference/loader.py) reads
`iter_record_batches(file, rows, format=..., text_column=..., unit=...)` and turns a non-null
`INPUT_ERROR_COLUMN` into `vnlp_status = "error:input: <reason>"` (the row is not annotated); the
column is not written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus import reader as parquet
from vnlp_batch.corpus.errors import BadFileError, InputError, SchemaError
from vnlp_batch.corpus.formats.delimited import delimited_schema, iter_delimited
from vnlp_batch.corpus.formats.jsonl import SCHEMA_SAMPLE_BYTES, iter_jsonl, jsonl_schema
from vnlp_batch.corpus.formats.names import (
    FORMAT_TITLES,
    FORMATS,
    InputFormat,
    detect_format,
    format_from_name,
    formats_read,
)
from vnlp_batch.corpus.formats.streams import sample_fingerprint
from vnlp_batch.corpus.formats.text import TEXT_SCHEMA, UNITS, iter_text
from vnlp_batch.corpus.schema import INPUT_ERROR_FIELD

__all__ = [
    "FORMATS",
    "UNITS",
    "InputFormat",
    "check_readable",
    "check_text_column",
    "detect_format",
    "file_fingerprint",
    "format_from_name",
    "formats_read",
    "iter_record_batches",
    "read_schema",
]


def read_schema(path: Path, format: str | None = None, *, text_column: str = "text") -> pa.Schema:
    """The columns `path`'s rows have (without `INPUT_ERROR_COLUMN`), read cheaply."""
    found = detect_format(path, format)
    if found.name == "parquet":
        return parquet.read_file_schema(path)
    if found.name == "jsonl":
        return jsonl_schema(path, found.compression, text_column)
    if found.name in ("csv", "tsv"):
        return delimited_schema(path, found.compression, found.name)
    return TEXT_SCHEMA


def check_readable(path: Path, format: str | None = None) -> None:
    """Raise a one-line `InputError` (`BadFileError` for a known format the file does not hold) unless
    `path` can be read as `format` (or what its name says): its footer, header or first record parse.

    Reads at most the file's first records, so every input can be checked before any model loads.
    """
    path = Path(path)
    found = detect_format(path, format)
    title = FORMAT_TITLES[found.name]
    try:
        if found.name == "parquet":
            parquet.read_file_schema(path)  # the footer only: a first row group may be large
            return
        if found.name == "jsonl":  # any fields: the text column is checked by check_text_column
            batch = next(iter_jsonl(path, found.compression, 1, None, None), None)
        else:
            batch = next(iter_record_batches(path, 1, format=found.name), None)
    except InputError as e:
        raise type(e)(f"{e} (vnlp-batch reads {formats_read()})") from e
    if batch is None:
        return
    # One bad record is a row-level error, but a file whose very first record is one is not in
    # this format at all (a CSV named .jsonl, a binary file named .txt).
    error = batch.column(INPUT_ERROR_FIELD.name)[0].as_py()
    if error is not None:
        raise BadFileError(f"{path}: cannot read as {title}: {error} (vnlp-batch reads {formats_read()})")


def check_text_column(
    path: Path, text_column: str, id_column: str | None, format: str | None = None
) -> pa.Schema:
    """`path`'s schema, after checking it has a string `text_column` and, if given, an `id_column`
    (`SchemaError` naming the file, the column and the available columns otherwise)."""
    if detect_format(path, format).name == "parquet":
        return parquet.check_text_column(path, text_column, id_column)
    found = detect_format(path, format)
    schema = read_schema(path, found.name, text_column=text_column)
    available = f"available columns: {parquet.describe_columns(schema)}"
    if found.name == "jsonl":
        available += f" (the keys found in the file's first {SCHEMA_SAMPLE_BYTES >> 20} MiB)"
    if text_column not in schema.names:
        hint = parquet.text_column_hint(schema, text_column)
        raise SchemaError(f"{path}: text column {text_column!r} not found; {available}{hint}")
    if id_column is not None and id_column not in schema.names:
        raise SchemaError(f"{path}: id column {id_column!r} not found; {available}")
    return schema


def file_fingerprint(path: Path, format: str | None = None) -> dict[str, int | str]:
    """What identifies `path`'s content for resuming (see the module docstring)."""
    if detect_format(path, format).name == "parquet":
        return parquet.file_fingerprint(path)
    return sample_fingerprint(path)


def iter_record_batches(
    path: Path,
    batch_rows: int,
    columns: Sequence[str] | None = None,
    *,
    format: str | None = None,
    text_column: str = "text",
    unit: str = "sentence",
) -> Iterator[pa.RecordBatch]:
    """`path`'s rows in file order as record batches (see the module docstring).

    `columns` selects and orders the data columns (all by default); `INPUT_ERROR_COLUMN` always comes
    last. `text_column` is the JSON Lines field that must be present (and a string) in every row;
    `unit` is how plain text is cut into rows ("sentence": a line, "document": a blank-line block).
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows={batch_rows} must be >= 1")
    found = detect_format(path, format)
    if found.name == "parquet":
        for batch in parquet.iter_record_batches(
            path, batch_rows, None if columns is None else list(columns)
        ):
            yield _with_no_errors(batch)
    elif found.name == "jsonl":
        yield from iter_jsonl(path, found.compression, batch_rows, columns, text_column)
    elif found.name in ("csv", "tsv"):
        yield from iter_delimited(path, found.compression, found.name, batch_rows, columns)
    else:
        yield from iter_text(path, found.compression, batch_rows, columns, unit)


def _with_no_errors(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A Parquet batch with the (all-null) error column the other readers add."""
    return pa.RecordBatch.from_arrays(
        [*batch.columns, pa.nulls(batch.num_rows, pa.string())],
        schema=batch.schema.append(INPUT_ERROR_FIELD),
    )
