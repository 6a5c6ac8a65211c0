"""An output directory holding files made with another configuration is refused, not overwritten:
one line naming the directory, what is there and the two ways out; `data.overwrite=true` replaces
them. A changed input file with the same configuration is redone (test_stage_resume.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, words

from vnlp_batch.corpus.errors import OutputConflictError
from vnlp_batch.corpus.manifest import MANIFEST_NAME, Manifest


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every visible file of `directory` with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.name.startswith(".")}


def test_another_task_into_the_same_directory_is_refused_and_overwrite_replaces(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path
) -> None:
    a = write_parquet("a.parquet", words(4))
    b = write_parquet("b.parquet", words(3, 10))
    out = run_stage(a.parent).output_dir  # task=pos
    before = snapshot(out)

    with pytest.raises(OutputConflictError) as refused:
        run_stage(a.parent, task="ner")

    assert str(refused.value) == (
        f"{out} holds 2 files made with another configuration (e.g. a.parquet: task pos "
        "(pos: spucontext_pos), weights synthetic seed 0; this run: models: pos=spucontext_pos → "
        "ner=spucontext_ner; task: pos → ner); choose another data.output_dir, or data.overwrite=true "
        "to replace them"
    )
    assert snapshot(out) == before  # nothing written, not even the manifest

    replaced = run_stage(a.parent, task="ner", overwrite=True)
    assert replaced.report.written == [out / "a.parquet", out / "b.parquet"]
    table = pq.read_table(out / "b.parquet")
    assert "ner" in table.column_names and "pos" not in table.column_names
    assert table.column("text").to_pylist() == words(3, 10)
    made_with = Manifest.load(out).entries[str(b)]["made_with"]
    assert (made_with["task"], made_with["models"]) == ("ner", {"ner": "spucontext_ner"})
    assert run_stage(a.parent, task="ner").report.skipped == [a, b]  # and now it resumes


def test_a_file_not_written_by_vnlp_batch_is_not_overwritten(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path
) -> None:
    a = write_parquet("a.parquet", words(3))
    out = tmp_path / "out"
    out.mkdir()
    pq.write_table(pa.table({"mine": [1, 2]}), out / "a.parquet")  # the user's own file, same name
    with pytest.raises(
        OutputConflictError, match=r"e\.g\. a\.parquet: not written by vnlp-batch; this run: "
    ):
        run_stage(a)
    assert pq.read_table(out / "a.parquet").column_names == ["mine"]
    assert run_stage(a, overwrite=True).report.written == [out / "a.parquet"]


def test_an_unrecorded_output_of_the_same_configuration_is_redone_silently(
    run_stage: StageRunner, write_parquet: WriteParquet
) -> None:
    # A run killed between writing a file and recording it leaves it unrecorded: same configuration.
    a = write_parquet("a.parquet", words(3))
    out = run_stage(a).output_dir
    (out / MANIFEST_NAME).unlink()
    assert run_stage(a).report.written == [out / "a.parquet"]


def test_entries_recorded_without_their_configuration_are_read_from_the_files(
    run_stage: StageRunner, write_parquet: WriteParquet
) -> None:
    # Manifests written before entries kept `made_with`: each output file's metadata says it.
    a = write_parquet("a.parquet", words(3))
    out = run_stage(a).output_dir
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    for entry in manifest["files"].values():
        del entry["made_with"]
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))

    assert run_stage(a).report.skipped == [a]  # the same configuration: resumed
    with pytest.raises(OutputConflictError, match=r"this run: data\.max_tokens: 2000 → 5\)"):
        run_stage(a, max_tokens=5)
