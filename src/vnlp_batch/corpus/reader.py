"""Read input Parquet files: check their columns from the footer, then stream them as record batches."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vnlp_batch.corpus.errors import BadFileError, MistypedTextColumnError, SchemaError

# Batches the scanner decodes ahead of the consumer. Peak memory is about one row group plus this many
# batches, whatever the file size; more readahead buys nothing when NLP decoding is the bottleneck.
BATCH_READAHEAD = 4
# pre_buffer (pyarrow's default) fetches the scanned columns of *every* row group of the file up front
# (measured: an uncompressed 85 MB file peaked at ~90 MB); without it reads go row group by row group.
SCAN_OPTIONS = {"pre_buffer": False}
STRING_TYPES = "string, large_string, string_view or a dictionary of one of them"


def is_string_type(type_: pa.DataType) -> bool:
    """True for string, large_string, string_view, and dictionary-encoded versions of them."""
    if pa.types.is_dictionary(type_):
        return is_string_type(type_.value_type)
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_) or _is_string_view(type_))


# string_view arrived in pyarrow 16; pyproject allows 15, where no column can have that type.
_is_string_view = getattr(pa.types, "is_string_view", lambda type_: False)


def read_file_schema(file: Path) -> pa.Schema:
    """The Arrow schema stored in `file`'s footer (no data is read); `BadFileError` if unreadable."""
    try:
        return pq.read_schema(file)
    except (OSError, pa.ArrowException) as e:
        raise BadFileError(f"{file}: cannot read as Parquet: {_reason(e)}") from e


def describe_columns(schema: pa.Schema) -> str:
    """`name (type), ...` for every column, for error messages."""
    return ", ".join(f"{field.name} ({field.type})" for field in schema) or "(none)"


def check_text_column(file: Path, text_column: str, id_column: str | None) -> pa.Schema:
    """`file`'s schema, after checking it has a string `text_column` and, if given, an `id_column`.

    Raises `SchemaError` naming the file, the column, its type and the available columns — for a text
    column of another type, `MistypedTextColumnError`, which is also a `BadFileError` — or
    `BadFileError` if the footer cannot be read.
    """
    schema = read_file_schema(file)
    available = f"available columns: {describe_columns(schema)}"
    if text_column not in schema.names:
        hint = text_column_hint(schema, text_column)
        raise SchemaError(f"{file}: text column {text_column!r} not found; {available}{hint}")
    text_type = schema.field(text_column).type
    if not is_string_type(text_type):
        hint = text_column_hint(schema, text_column)
        raise MistypedTextColumnError(
            f"{file}: text column {text_column!r} has type {text_type}, expected {STRING_TYPES}; "
            f"{available}{hint}"
        )
    if id_column is not None and id_column not in schema.names:
        close = difflib.get_close_matches(id_column, schema.names, n=1)
        hint = f"; did you mean data.id_column={close[0]}?" if close else ""
        raise SchemaError(f"{file}: id column {id_column!r} not found; {available}{hint}")
    return schema


def text_column_hint(schema: pa.Schema, text_column: str) -> str:
    """`; did you mean data.text_column=<c>?` for the string column most like `text_column` (any string
    column: a corpus's text is `content`, `body` or `sentence` as often as `text`), or "" if none."""
    candidates = [f.name for f in schema if is_string_type(f.type) and f.name != text_column]
    close = difflib.get_close_matches(text_column, candidates, n=1, cutoff=0.0)
    return f"; did you mean data.text_column={close[0]}?" if close else ""


def decode_texts(column: pa.Array) -> tuple[list[str | None], list[int]]:
    """A string column's values as Python strings, and the positions of those that are not valid UTF-8
    (None in the list). Parquet does not validate UTF-8, so one such value must not cost its neighbours.
    """
    try:
        return column.to_pylist(), []
    except UnicodeDecodeError:
        pass
    # Rare: decode value by value to find the bad ones.
    texts: list[str | None] = []
    invalid: list[int] = []
    for position, value in enumerate(column):
        try:
            texts.append(value.as_py())
        except UnicodeDecodeError:
            texts.append(None)
            invalid.append(position)
    return texts, invalid


def iter_record_batches(
    file: Path, batch_rows: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """`file`'s rows in file order, as record batches of at most `batch_rows` rows (none of them empty).

    Streams: only a row group and a few batches are in memory at a time. `columns` selects and orders
    the columns (all by default). A file found corrupt while streaming raises `BadFileError` naming
    it and the number of rows already delivered.
    """
    # Imported here: pyarrow.dataset imports pandas (0.2 s), which checking files' footers, as every
    # run does before it loads a model, never needs.
    import pyarrow.dataset as ds

    if batch_rows < 1:
        raise ValueError(f"batch_rows={batch_rows} must be >= 1")
    try:
        dataset = ds.dataset(os.fspath(file), format="parquet")
    except (OSError, pa.ArrowException) as e:
        raise BadFileError(f"{file}: cannot read as Parquet: {_reason(e)}") from e
    if columns is not None:
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise SchemaError(
                f"{file}: column(s) {', '.join(map(repr, missing))} not found; "
                f"available columns: {describe_columns(dataset.schema)}"
            )
    # Scanner.to_batches yields batches in file order (C++ ScanBatches is ordered); use_threads=False
    # also decodes serially, so order holds by construction and the readahead bounds memory.
    batches = dataset.to_batches(
        columns=columns,
        batch_size=batch_rows,
        batch_readahead=BATCH_READAHEAD,
        fragment_readahead=1,
        fragment_scan_options=ds.ParquetFragmentScanOptions(**SCAN_OPTIONS),
        use_threads=False,
    )
    rows = 0
    while True:
        # Only the scanner's own step is guarded: exceptions raised by the consumer into this
        # generator (GeneratorExit, KeyboardInterrupt) must pass through untouched.
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as e:
            raise BadFileError(
                f"{file}: corrupt Parquet data ({rows} rows were read before the error): {_reason(e)}"
            ) from e
        if batch.num_rows == 0:
            # An empty file still scans as one empty batch; downstream code should never see one.
            continue
        rows += batch.num_rows
        yield batch


def file_fingerprint(file: Path) -> dict[str, int]:
    """`size`, `mtime_ns` and `rows` (from the Parquet footer, no data read) of `file`.

    Equal fingerprints mean "same file" for resuming; `BadFileError` if the footer cannot be read.
    """
    try:
        stat = os.stat(file)
        rows = pq.read_metadata(file).num_rows
    except (OSError, pa.ArrowException) as e:
        raise BadFileError(f"{file}: cannot read as Parquet: {_reason(e)}") from e
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "rows": rows}


def _reason(error: BaseException) -> str:
    """The underlying error on one line (Arrow's messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__
