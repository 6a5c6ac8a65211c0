"""The input reader: column checks from the footer, ordered bounded streaming, bad files named."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.corpus.errors import BadFileError, SchemaError
from vnlp_batch.corpus.reader import check_text_column, file_fingerprint, iter_record_batches

WriteParquet = Callable[..., Path]
MakeTable = Callable[..., pa.Table]


def corrupt_row_group(path: Path, row_group: int) -> None:
    """Overwrite the `text` column chunk of one row group with 0xFF bytes; the footer stays valid."""
    column = pq.read_metadata(path).row_group(row_group).column(1)
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))


# --- check_text_column ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text_type",
    [pa.string(), pa.large_string(), pa.string_view(), pa.dictionary(pa.int32(), pa.string())],
    ids=str,
)
def test_string_text_columns_are_accepted(write_parquet: WriteParquet, text_type: pa.DataType) -> None:
    table = pa.table({"doc": pa.array(["a", "b", "a"]).cast(text_type), "n": [1, 2, 3]})
    path = write_parquet(table=table)
    schema = check_text_column(path, "doc", "n")
    assert schema.names == ["doc", "n"]


def test_missing_text_column_lists_the_available_columns(write_parquet: WriteParquet) -> None:
    path = write_parquet(table=pa.table({"id": [1], "body": ["merhaba"]}))
    with pytest.raises(SchemaError) as info:
        check_text_column(path, "text", None)
    message = str(info.value)
    assert str(path) in message
    assert "'text'" in message
    assert "id (int64)" in message and "body (string)" in message


def test_non_string_text_column_names_its_type(write_parquet: WriteParquet) -> None:
    path = write_parquet(table=pa.table({"text": pa.array([1, 2], pa.int64()), "body": ["a", "b"]}))
    with pytest.raises(SchemaError) as info:
        check_text_column(path, "text", None)
    message = str(info.value)
    assert str(path) in message
    assert "'text' has type int64" in message
    assert "body (string)" in message


def test_missing_id_column(write_parquet: WriteParquet) -> None:
    path = write_parquet()
    assert check_text_column(path, "text", "id").names == ["id", "text"]
    with pytest.raises(SchemaError) as info:
        check_text_column(path, "text", "doc_id")
    message = str(info.value)
    assert str(path) in message and "'doc_id'" in message and "id (int64), text (string)" in message


# --- bad files -------------------------------------------------------------------------------------


@pytest.fixture(params=["truncated_parquet", "random_bytes_parquet"])
def bad_file(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(request.param)


def test_bad_file_from_check_text_column(bad_file: Path) -> None:
    with pytest.raises(BadFileError, match=f"^{bad_file}: cannot read as Parquet: .*magic bytes"):
        check_text_column(bad_file, "text", None)


def test_bad_file_from_iter_record_batches(bad_file: Path) -> None:
    with pytest.raises(BadFileError, match=f"^{bad_file}: cannot read as Parquet"):
        list(iter_record_batches(bad_file, batch_rows=100))


def test_bad_file_from_file_fingerprint(bad_file: Path) -> None:
    with pytest.raises(BadFileError, match=f"^{bad_file}:"):
        file_fingerprint(bad_file)


def test_missing_file_is_a_bad_file(tmp_path: Path) -> None:
    with pytest.raises(BadFileError, match=r"gone\.parquet"):
        list(iter_record_batches(tmp_path / "gone.parquet", batch_rows=10))


def test_corruption_found_mid_stream_names_the_file(write_parquet: WriteParquet) -> None:
    path = write_parquet(rows=10_000, row_group_size=1000)
    corrupt_row_group(path, 5)
    check_text_column(path, "text", None)  # the footer is intact: only reading data finds it
    delivered = []
    with pytest.raises(BadFileError) as info:
        for batch in iter_record_batches(path, batch_rows=300):
            delivered.append(batch)
    # How many rows come before the error depends on how far pyarrow's scanner has read ahead (none,
    # at times, under load): what holds is that they are the file's first rows, none from the damage on.
    rows = sum(b.num_rows for b in delivered)
    assert rows <= 5000
    assert [i for b in delivered for i in b.column("id").to_pylist()] == list(range(rows))
    message = str(info.value)
    assert message.startswith(f"{path}: corrupt Parquet data")
    assert "\n" not in message


# --- streaming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_rows", [1, 300, 1000, 4096])
def test_rows_come_back_in_order_in_bounded_batches(
    write_parquet: WriteParquet, make_table: MakeTable, batch_rows: int
) -> None:
    original = make_table(10_000)
    path = write_parquet(table=original, row_group_size=1000)
    assert pq.read_metadata(path).num_row_groups == 10
    batches = list(iter_record_batches(path, batch_rows=batch_rows))
    assert all(0 < b.num_rows <= batch_rows for b in batches)
    assert pa.Table.from_batches(batches).equals(original)


def test_columns_are_selected_and_checked(write_parquet: WriteParquet) -> None:
    path = write_parquet(rows=50)
    (batch,) = iter_record_batches(path, batch_rows=100, columns=["text"])
    assert batch.schema.names == ["text"]
    with pytest.raises(SchemaError, match="'body' not found"):
        list(iter_record_batches(path, batch_rows=100, columns=["text", "body"]))


def test_empty_file_yields_nothing(write_parquet: WriteParquet, make_table: MakeTable) -> None:
    path = write_parquet(table=make_table(0))
    assert pq.read_metadata(path).num_rows == 0
    assert check_text_column(path, "text", "id").names == ["id", "text"]
    assert list(iter_record_batches(path, batch_rows=10)) == []


def test_memory_does_not_grow_with_the_file(write_parquet: WriteParquet) -> None:
    rows = 200_000
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "text": pa.array([f"{i:09d} " + "ş" * 200 for i in range(rows)]),
        }
    )
    # Uncompressed: the page bytes are as large as the data, so buffering the file would show.
    path = write_parquet(table=table, row_group_size=5_000, compression="none")
    table_bytes = table.nbytes
    del table
    baseline = pa.total_allocated_bytes()
    peak, count = 0, 0
    for batch in iter_record_batches(path, batch_rows=1000):
        peak = max(peak, pa.total_allocated_bytes() - baseline)
        count += batch.num_rows
        del batch
    assert count == rows
    # About one row group plus the readahead (~5 MB here), against ~80 MB for the whole table.
    assert peak < table_bytes / 4, f"peak {peak / 1e6:.1f} MB of {table_bytes / 1e6:.1f} MB"


def test_file_fingerprint_reads_only_the_footer(write_parquet: WriteParquet) -> None:
    path = write_parquet(rows=3000, row_group_size=1000)
    corrupt_row_group(path, 1)  # unreadable data does not matter: rows come from the footer
    stat = os.stat(path)
    assert file_fingerprint(path) == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "rows": 3000}
