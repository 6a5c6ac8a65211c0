"""Bad input files: truncated or corrupt Parquet is reported by name and skipped or fatal per
`data.on_bad_file`; a missing or non-string text column stops the run before any work
(README, "Inference stage")."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, parquet_files, temporaries, texts_table, words
from vnlp.tokenizer import TreebankWordTokenize

from vnlp_batch.corpus.errors import BadFileError, SchemaError
from vnlp_batch.corpus.manifest import Manifest


def truncate(path: Path) -> None:
    """Cut `path` to half its bytes: the footer is gone, as after a killed copy."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def corrupt_row_group(path: Path, row_group: int, column: int) -> None:
    """Overwrite one column chunk of one row group with 0xFF bytes; the footer stays valid."""
    chunk = pq.read_metadata(path).row_group(row_group).column(column)
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(data))


@pytest.fixture
def corpus_with_truncated_file(write_parquet: WriteParquet) -> dict[str, Path]:
    """good_a.parquet, middle_bad.parquet (several row groups, cut in half), zz_good.parquet."""
    files = {
        "good_a": write_parquet("good_a.parquet", words(5)),
        "bad": write_parquet("middle_bad.parquet", words(400), row_group_size=50),
        "good_z": write_parquet("zz_good.parquet", words(4, 100)),
    }
    assert pq.read_metadata(files["bad"]).num_row_groups == 8
    truncate(files["bad"])
    return files


def test_truncated_file_is_skipped_and_named(
    run_stage: StageRunner, corpus_with_truncated_file: dict[str, Path]
) -> None:
    files = corpus_with_truncated_file
    run = run_stage(files["good_a"].parent, on_bad_file="skip")

    assert list(run.report.bad_files) == [str(files["bad"])]
    assert str(files["bad"]) in run.report.bad_files[str(files["bad"])]
    assert run.report.written == [run.output_dir / "good_a.parquet", run.output_dir / "zz_good.parquet"]
    assert parquet_files(run.output_dir) == ["good_a.parquet", "zz_good.parquet"]
    assert run.output(files["good_a"]).column("text").to_pylist() == words(5)
    assert run.output(files["good_z"]).column("text").to_pylist() == words(4, 100)
    assert Manifest.load(run.output_dir).output_of(files["bad"]) is None
    assert run.report.metrics["rows"] == 9


def test_truncated_file_is_fatal_with_fail(
    run_stage: StageRunner, corpus_with_truncated_file: dict[str, Path], tmp_path: Path
) -> None:
    bad = corpus_with_truncated_file["bad"]
    with pytest.raises(BadFileError, match=f"^{re.escape(str(bad))}: ") as info:
        run_stage(bad.parent, on_bad_file="fail")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out" / bad.name).exists()


@pytest.fixture
def corpus_with_corrupt_row_group(write_parquet: WriteParquet) -> dict[str, Path]:
    """a_good.parquet, b_bad.parquet (a valid footer, the text of its 5th row group overwritten), c_good."""
    files = {
        "good_a": write_parquet("a_good.parquet", words(6)),
        "bad": write_parquet("b_bad.parquet", words(120), row_group_size=20),
        "good_c": write_parquet("c_good.parquet", words(3, 50)),
    }
    corrupt_row_group(files["bad"], row_group=4, column=1)
    pq.read_schema(files["bad"])  # still readable from the footer: only streaming finds the damage
    return files


def test_file_corrupt_in_a_later_row_group_is_skipped_without_a_partial_output(
    run_stage: StageRunner, corpus_with_corrupt_row_group: dict[str, Path]
) -> None:
    files = corpus_with_corrupt_row_group
    # batch_size=2 → 16-row chunks: several chunks of the bad file are annotated before the damage.
    run = run_stage(files["good_a"].parent, on_bad_file="skip", batch_size=2)

    assert list(run.report.bad_files) == [str(files["bad"])]
    # The reader's own one-line message, not tf.data's wrapping of it.
    assert run.report.bad_files[str(files["bad"])].startswith(f"{files['bad']}: corrupt Parquet data (")
    assert parquet_files(run.output_dir) == ["a_good.parquet", "c_good.parquet"]
    assert temporaries(run.output_dir) == []
    assert run.output(files["good_c"]).column("text").to_pylist() == words(3, 50)
    assert Manifest.load(run.output_dir).output_of(files["bad"]) is None


def test_file_corrupt_in_a_later_row_group_is_fatal_with_fail(
    run_stage: StageRunner, corpus_with_corrupt_row_group: dict[str, Path], tmp_path: Path
) -> None:
    bad = corpus_with_corrupt_row_group["bad"]
    with pytest.raises(BadFileError, match=f"^{re.escape(str(bad))}: corrupt Parquet data ") as info:
        run_stage(bad.parent, on_bad_file="fail", batch_size=2)
    assert "\n" not in str(info.value)
    out = tmp_path / "out"
    assert "b_bad.parquet" not in parquet_files(out)
    assert temporaries(out) == []


# --- schema errors --------------------------------------------------------------------------------


def test_missing_text_column_lists_the_columns(run_stage: StageRunner, write_parquet: WriteParquet) -> None:
    path = write_parquet("body.parquet", pa.table({"doc": pa.array([1, 2], pa.int32()), "body": ["a", "b"]}))
    with pytest.raises(SchemaError) as info:
        run_stage(path)
    message = str(info.value)
    assert str(path) in message
    assert "'text'" in message
    assert "doc (int32)" in message and "body (string)" in message


def test_non_string_text_column_names_its_type(run_stage: StageRunner, write_parquet: WriteParquet) -> None:
    path = write_parquet("ints.parquet", pa.table({"id": [1, 2], "text": pa.array([3, 4], pa.int64())}))
    with pytest.raises(SchemaError) as info:
        run_stage(path)
    message = str(info.value)
    assert str(path) in message
    assert "text" in message and "int64" in message
    assert "id (int64), text (int64)" in message


@pytest.mark.parametrize(
    ("on_bad_file", "columns"),
    [
        ("fail", {"id": [1], "text": pa.array([1.5], pa.float64())}),  # mistyped: fatal with fail
        ("fail", {"id": [1], "body": ["bir"]}),
        ("skip", {"id": [1], "body": ["bir"]}),  # missing: most often a wrong data.text_column
    ],
    ids=["mistyped-fail", "missing-fail", "missing-skip"],
)
def test_schema_errors_stop_the_run_before_any_file_is_annotated(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path, on_bad_file: str, columns: dict
) -> None:
    write_parquet("a_fine.parquet", words(3))
    bad = write_parquet("b_wrong.parquet", pa.table(columns))
    with pytest.raises(SchemaError, match=re.escape(str(bad))):
        run_stage(bad.parent, on_bad_file=on_bad_file)
    out = tmp_path / "out"
    assert parquet_files(out) == []  # a_fine.parquet, first in order, was not annotated either


def test_mistyped_text_column_is_skipped_and_named_with_skip(
    run_stage: StageRunner, write_parquet: WriteParquet
) -> None:
    good_a = write_parquet("a_good.parquet", words(3))
    mistyped = {
        "int64": write_parquet("b_ints.parquet", pa.table({"id": [0, 1], "text": pa.array([3, 4])})),
        "null": write_parquet("c_nulls.parquet", pa.table({"id": [0], "text": pa.nulls(1)})),
        "list<element: string>": write_parquet(
            "d_lists.parquet", pa.table({"id": [0], "text": pa.array([["bir", "iki"]])})
        ),
    }
    good_e = write_parquet("e_good.parquet", words(4, 10))

    run = run_stage(good_a.parent, on_bad_file="skip")

    assert list(run.report.bad_files) == [str(f) for f in mistyped.values()]
    for type_name, file in mistyped.items():
        message = run.report.bad_files[str(file)]
        assert message.startswith(f"{file}: text column 'text' has type {type_name}, expected ")
        assert "\n" not in message
        assert Manifest.load(run.output_dir).output_of(file) is None
    assert run.report.written == [run.output_dir / "a_good.parquet", run.output_dir / "e_good.parquet"]
    assert parquet_files(run.output_dir) == ["a_good.parquet", "e_good.parquet"]
    assert run.output(good_e).column("text").to_pylist() == words(4, 10)
    assert run.report.metrics["rows"] == 7


def test_input_column_named_like_an_annotation_column_is_refused_before_work(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path
) -> None:
    write_parquet("a_fine.parquet", words(3))
    table = texts_table(["bir", "iki"]).append_column("pos", pa.array([1, 2]))
    clash = write_parquet("b_clash.parquet", table)
    with pytest.raises(SchemaError, match="'pos'") as info:
        run_stage(clash.parent)
    assert str(info.value).startswith(f"{clash}: ")
    assert parquet_files(tmp_path / "out") == []


# --- one bad value, one mistyped shard ------------------------------------------------------------


def invalid_utf8_text(values: list[bytes], type_: pa.DataType) -> pa.Array:
    """`values` as a `type_` column without UTF-8 validation, as other writers can leave them."""
    if pa.types.is_dictionary(type_):
        dictionary = invalid_utf8_text(sorted(set(values)), type_.value_type)
        indices = pa.array([sorted(set(values)).index(v) for v in values], type_.index_type)
        return pa.DictionaryArray.from_arrays(indices, dictionary)
    binary = pa.large_binary() if pa.types.is_large_string(type_) else pa.binary()
    return pa.array(values, binary).view(type_)


def raw_bytes(column: pa.ChunkedArray) -> list[bytes | None]:
    """A string column's values as bytes, without decoding them."""
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array.view(pa.large_binary() if pa.types.is_large_string(array.type) else pa.binary()).to_pylist()


@pytest.mark.parametrize(
    "text_type", [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())], ids=str
)
def test_invalid_utf8_value_fails_its_row_only(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str], text_type: pa.DataType
) -> None:
    good = [t.encode() for t in short_texts[:10]]
    bad = {3: b"x\xed\xa0\x80", 7: b"\xff\xfe kelime", 8: b"ok \xc3"}  # a surrogate, stray bytes, a cut
    values = [bad.get(i, good[i]) for i in range(10)]
    table = pa.table({"id": pa.array(range(10), pa.int64()), "text": invalid_utf8_text(values, text_type)})
    path = write_parquet("mixed.parquet", table)

    # batch_size=2: the bad rows fall in different chunks and decoder batches.
    run = run_stage(path, batch_size=2)

    out = run.output(path)
    assert out.column("id").to_pylist() == list(range(10))
    assert out.schema.field("text").type == text_type
    assert raw_bytes(out.column("text")) == values  # the input column, byte for byte
    statuses = out.column("vnlp_status").to_pylist()
    assert statuses == ["error:invalid_utf8" if i in bad else "ok" for i in range(10)]
    tokens, pos = out.column("tokens").to_pylist(), out.column("pos").to_pylist()
    for i in range(10):
        if i in bad:
            assert tokens[i] == [] and pos[i] == []
        else:
            assert tokens[i] == TreebankWordTokenize(short_texts[i]) and len(pos[i]) == len(tokens[i])
    assert run.report.status_counts == {"ok": 7, "error": 3}
