"""discover_inputs over directories of formats other than Parquet (`corpus.discover` docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnlp_batch.corpus.discover import discover_inputs
from vnlp_batch.corpus.errors import InputError


def touch(root: Path, *names: str) -> list[Path]:
    paths = [root / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return sorted(paths)


def test_a_directory_of_one_other_format_yields_it_compressed_or_not(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "a.jsonl", "b/c.jsonl.gz", "d.JSONL.zst")
    touch(tmp_path, "README.txt", "dataset_info.json", "notes.md", "_SUCCESS", ".e.jsonl")
    assert discover_inputs(str(tmp_path)) == wanted


def test_parquet_wins_in_a_directory_that_has_it(tmp_path: Path) -> None:
    wanted = touch(tmp_path, "shard-0.parquet", "x/shard-1.parquet")
    touch(tmp_path, "export.jsonl", "export.csv.gz")
    assert discover_inputs(str(tmp_path)) == wanted


def test_several_other_formats_without_a_format_is_an_error(tmp_path: Path) -> None:
    touch(tmp_path, "a.jsonl", "b.csv", "c.csv.gz", "d.tsv")
    with pytest.raises(InputError) as info:
        discover_inputs(str(tmp_path))
    message = str(info.value)
    assert "2 csv, 1 jsonl, 1 tsv" in message and str(tmp_path) in message and "data.format" in message


@pytest.mark.parametrize(
    ("format", "names"),
    [
        ("txt", ["a.txt", "b.txt.gz"]),
        ("jsonl", ["c.json", "d.jsonl", "e.json.zst"]),
        ("csv", ["f.csv"]),
        ("parquet", ["g.parquet"]),
    ],
)
def test_a_named_format_picks_its_files(tmp_path: Path, format: str, names: list[str]) -> None:
    everything = ["a.txt", "b.txt.gz", "c.json", "d.jsonl", "e.json.zst", "f.csv", "g.parquet"]
    everything.append("h.parquet.gz")  # not a format: Parquet is never compressed as a whole
    touch(tmp_path, *everything)
    assert discover_inputs(str(tmp_path), format=format) == [tmp_path / n for n in names]


def test_files_and_globs_are_taken_as_named(tmp_path: Path) -> None:
    (notes,) = touch(tmp_path, "notes.txt")
    assert discover_inputs(str(notes)) == [notes]
    wanted = touch(tmp_path, "p1.txt", "p2.txt")
    assert discover_inputs(str(tmp_path / "p*.txt")) == wanted


def test_nothing_found_lists_what_was_looked_for(tmp_path: Path) -> None:
    touch(tmp_path, "notes.txt")
    with pytest.raises(InputError, match=r"no input file \(\*\.parquet, \*\.jsonl, \*\.csv, \*\.tsv\)"):
        discover_inputs(str(tmp_path))
    with pytest.raises(InputError, match="unknown input format 'xml'"):
        discover_inputs(str(tmp_path), format="xml")
