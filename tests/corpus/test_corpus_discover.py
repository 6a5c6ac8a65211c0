"""discover_inputs: a file, a directory, a glob or "sample" becomes a sorted list of absolute files."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnlp_batch.corpus.discover import discover_inputs
from vnlp_batch.corpus.errors import InputError
from vnlp_batch.corpus.sample import SAMPLE_PARQUET


def touch(root: Path, *names: str) -> list[Path]:
    paths = [root / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return paths


def test_file_is_taken_as_named_and_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (file,) = touch(tmp_path, "data/corpus.parquet")
    monkeypatch.chdir(tmp_path)
    assert discover_inputs("data/corpus.parquet") == [file]
    assert discover_inputs("data/../data/corpus.parquet") == [file]


def test_directory_is_searched_recursively_and_sorted(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "b.parquet", "a/z.parquet", "a/deep/er/y.parquet", "c/a.parquet")
    touch(
        tmp_path, "notes.txt", "a/x.parquet.crc", "_SUCCESS", ".hidden.parquet", "_temporary/0/part.parquet"
    )
    assert discover_inputs(str(tmp_path)) == sorted(wanted)
    assert all(path.is_absolute() for path in discover_inputs(str(tmp_path)))


def test_directory_can_exclude_the_output_dir_inside_it(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "in/shard-0.parquet")
    touch(tmp_path, "in/annotated/shard-0.parquet")
    assert discover_inputs(str(tmp_path / "in"), exclude_dir=tmp_path / "in" / "annotated") == wanted


def test_glob_matches_only_its_pattern(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "shard-1.parquet", "shard-0.parquet")
    touch(tmp_path, "other.parquet", "shard-2.json")
    assert discover_inputs(str(tmp_path / "shard-*.parquet")) == sorted(wanted)


def test_recursive_glob_and_duplicate_matches(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "x/1.parquet", "x/y/2.parquet", "3.parquet")
    # `**` matches tmp_path itself (expanded as a directory) and every file again: each comes out once.
    assert discover_inputs(str(tmp_path / "**")) == sorted(wanted)
    assert discover_inputs(str(tmp_path / "**" / "*.parquet")) == sorted(wanted)


def test_sample_is_the_bundled_corpus() -> None:
    assert discover_inputs("sample") == [SAMPLE_PARQUET]
    assert SAMPLE_PARQUET.is_file()


@pytest.mark.parametrize("pattern", ["missing.parquet", "empty_dir", "nothing-*.parquet", "**/none.parquet"])
def test_no_match_names_the_path(tmp_path: Path, pattern: str) -> None:
    (tmp_path / "empty_dir").mkdir()
    touch(tmp_path, "empty_dir/readme.txt")
    path = str(tmp_path / pattern)
    with pytest.raises(InputError) as info:
        discover_inputs(path)
    assert f"'{path}'" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_path_is_an_input_error() -> None:
    with pytest.raises(InputError, match="empty"):
        discover_inputs("")
