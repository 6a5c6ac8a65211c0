"""Fixtures for the corpus reader/writer tests: small Parquet files built in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def text_table(rows: int, start: int = 0) -> pa.Table:
    """`id` (int64) and Turkish `text` (string) columns; text varies in length so pages differ."""
    ids = range(start, start + rows)
    texts = [f"{i}. cümle: İstanbul'da ğüşiöç {'kelime ' * (i % 7)}".strip() for i in ids]
    return pa.table({"id": pa.array(ids, pa.int64()), "text": pa.array(texts, pa.string())})


@pytest.fixture
def make_table() -> Callable[..., pa.Table]:
    """`text_table`, for tests (test modules do not import conftest: its module name is ambiguous)."""
    return text_table


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[..., Path]:
    """Write a table (default: `text_table(rows)`) to `tmp_path / name` and return the path."""

    def write(
        name: str = "input.parquet",
        table: pa.Table | None = None,
        *,
        rows: int = 100,
        row_group_size: int | None = None,
        compression: str = "snappy",
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        table = text_table(rows) if table is None else table
        pq.write_table(table, path, row_group_size=row_group_size, compression=compression)
        return path

    return write


@pytest.fixture
def truncated_parquet(write_parquet: Callable[..., Path]) -> Path:
    """A real Parquet file cut to half its bytes (footer gone), as a killed copy leaves it."""
    path = write_parquet("truncated.parquet", rows=2000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def random_bytes_parquet(tmp_path: Path) -> Path:
    """A `.parquet` file that is just random bytes."""
    path = tmp_path / "random.parquet"
    path.write_bytes(os.urandom(4096))
    return path
