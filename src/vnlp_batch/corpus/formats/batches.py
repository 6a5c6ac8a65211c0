"""Rows read one by one (JSON Lines, CSV/TSV, text) turned into record batches of a fixed schema.

A reader hands over each row as values aligned with the file's schema, with its line number and, if
the row could not be read whole, an error reason. A value that does not fit its column's type is set
to null and makes the row an error row naming the line and the field. Every batch ends with the
`INPUT_ERROR_COLUMN` (see `corpus.schema`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from vnlp_batch.corpus.errors import SchemaError
from vnlp_batch.corpus.schema import INPUT_ERROR_FIELD

# A batch is cut at this many bytes of input even before batch_rows rows: rows may be whole documents.
BATCH_BYTES = 32 << 20
_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError)


def selected_columns(file: Path, schema: pa.Schema, columns: Sequence[str] | None) -> list[int]:
    """Indices of `columns` in `schema` (all columns if None); `SchemaError` naming missing ones."""
    if columns is None:
        return list(range(len(schema)))
    missing = [c for c in columns if c not in schema.names]
    if missing:
        available = ", ".join(f"{f.name} ({f.type})" for f in schema) or "(none)"
        raise SchemaError(
            f"{file}: column(s) {', '.join(map(repr, missing))} not found; available columns: {available}"
        )
    return [schema.get_field_index(c) for c in columns]


class RecordBatchBuilder:
    """Collects rows and cuts them into record batches of at most `batch_rows` rows (or BATCH_BYTES)."""

    def __init__(self, schema: pa.Schema, columns: list[int], batch_rows: int) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows={batch_rows} must be >= 1")
        self._fields = [schema.field(i) for i in columns]
        self._columns = columns
        self._out_schema = pa.schema([*self._fields, INPUT_ERROR_FIELD])
        self._batch_rows = batch_rows
        self._values: list[list[object]] = [[] for _ in columns]
        self._lines: list[int] = []
        self._errors: list[str | None] = []
        self._bytes = 0

    def add(self, line: int, values: Sequence[object] | None, error: str | None, size: int) -> bool:
        """Add one row (`values` aligned with the file's schema; None for all-null); True when a batch
        is ready to be taken with `take()`."""
        for out, i in zip(self._values, self._columns, strict=True):
            out.append(None if values is None else values[i])
        self._lines.append(line)
        self._errors.append(error)
        self._bytes += size
        return len(self._lines) >= self._batch_rows or self._bytes >= BATCH_BYTES

    def take(self) -> pa.RecordBatch | None:
        """The rows added since the last `take()` as one record batch (None if there are none)."""
        if not self._lines:
            return None
        errors = self._errors
        arrays = [
            self._convert(field, values, errors)
            for field, values in zip(self._fields, self._values, strict=True)
        ]
        arrays.append(pa.array(errors, pa.string()))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._out_schema)
        self._values = [[] for _ in self._columns]
        self._lines, self._errors, self._bytes = [], [], 0
        return batch

    def _convert(self, field: pa.Field, values: list[object], errors: list[str | None]) -> pa.Array:
        try:
            return pa.array(values, type=field.type)
        except _CONVERSION_ERRORS:
            pass
        # Some value does not fit: find which, null it and mark its row.
        for row, value in enumerate(values):
            try:
                pa.array([value], type=field.type)
            except _CONVERSION_ERRORS:
                values[row] = None
                if errors[row] is None:
                    shown = repr(value)
                    shown = shown if len(shown) <= 40 else shown[:37] + "..."
                    errors[row] = (
                        f"line {self._lines[row]}: field {field.name!r}: {shown} does not fit the "
                        f"column's type {field.type}"
                    )
        return pa.array(values, type=field.type)
