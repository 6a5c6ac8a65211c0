"""JSON Lines output: one JSON object per input row, in order, UTF-8 (not ASCII-escaped).

Each object holds the row's columns in the batch's order (input columns, then annotations), values as
`pyarrow`'s `to_pylist` gives them. Values JSON has no type for are written as text: dates and times
in ISO 8601, decimals as their digits, bytes as base64; a NaN or infinite float is written as null
(JSON has no such numbers).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa

from vnlp_batch.files import AtomicFile


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class JsonlWriter(AtomicFile):
    """Writes annotated record batches to `final_path` as JSON Lines (see the module docstring)."""

    def __init__(self, final_path: Path) -> None:
        super().__init__(final_path)
        self.rows_written = 0

    def __enter__(self) -> JsonlWriter:
        super().__enter__()
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one line per row of `batch`."""
        handle = self.handle
        lines = []
        for row in batch.to_pylist():
            try:
                lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False, default=_to_json))
            except ValueError:  # a NaN or infinity somewhere in the row
                lines.append(json.dumps(_finite(row), ensure_ascii=False, allow_nan=False, default=_to_json))
        if lines:
            handle.write("\n".join(lines) + "\n")
        self.rows_written += batch.num_rows
