"""Resume: a rerun skips the input files the output manifest records as done with the same inputs and
configuration, redoes the others identically, and `resume=False` redoes everything. The configuration
is every graph's sha256 and the options that change output bytes (config/schema.py OUTPUT_KEYS)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, runtime_for, words

from vnlp_batch import app
from vnlp_batch.config.schema import AppConfig, DataConfig, ExportConfig, TaskConfig, WeightsConfig
from vnlp_batch.corpus.errors import OutputConflictError

# What the stage adds; metadata (timestamps, config) may differ between runs, annotations must not.
COMPARED = ["id", "text", "tokens", "pos", "vnlp_status"]


@pytest.fixture
def three_files(write_parquet: WriteParquet, short_texts: list[str]) -> list[Path]:
    """a.parquet, b.parquet, c.parquet in one directory: short sentences, a blank row, distinct text."""
    return [
        write_parquet(f"{name}.parquet", [*short_texts[k * 4 : k * 4 + 4], None, *words(2, 10 * k)])
        for k, name in enumerate("abc")
    ]


def annotations(table: pa.Table) -> pa.Table:
    """The columns compared between runs, without file metadata."""
    return table.select(COMPARED).replace_schema_metadata(None)


def test_rerun_redoes_only_the_missing_output_identically(
    run_stage: StageRunner, three_files: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    a, _, c = three_files
    first = run_stage(a.parent)
    out = first.output_dir
    assert first.report.written == [out / "a.parquet", out / "b.parquet", out / "c.parquet"]
    assert first.report.skipped == []
    before = {f.name: annotations(first.output(f)) for f in three_files}

    (out / "b.parquet").unlink()
    with caplog.at_level(logging.INFO, logger="vnlp_batch.inference.stage"):
        second = run_stage(a.parent)

    assert second.report.written == [out / "b.parquet"]
    assert second.report.skipped == [a, c]
    assert second.report.status_counts == {"ok": 6, "empty": 1}  # b only
    assert second.report.metrics["rows"] == 7
    skipped_lines = [r.getMessage() for r in caplog.records if "already annotated" in r.getMessage()]
    assert len(skipped_lines) == 2
    assert str(a) in skipped_lines[0] and str(c) in skipped_lines[1]
    for f in three_files:
        assert annotations(second.output(f)).equals(before[f.name]), f.name

    third = run_stage(a.parent, resume=False)
    assert third.report.written == [out / "a.parquet", out / "b.parquet", out / "c.parquet"]
    assert third.report.skipped == []
    for f in three_files:
        assert annotations(third.output(f)).equals(before[f.name]), f.name


def test_a_changed_input_or_configuration_is_redone(
    run_stage: StageRunner, three_files: list[Path], write_parquet: WriteParquet
) -> None:
    a, _, c = three_files
    out = run_stage(a.parent).output_dir

    write_parquet("c.parquet", ["tamamen yeni bir metin", None])  # same name, new content
    rerun = run_stage(a.parent)
    assert rerun.report.written == [out / "c.parquet"]
    assert rerun.output(c).column("text").to_pylist() == ["tamamen yeni bir metin", None]

    # max_tokens changes which rows are annotated: the files made without it are not replaced
    # unasked (test_stage_overwrite.py), and with data.overwrite=true every file is redone.
    with pytest.raises(OutputConflictError, match=r"this run: data\.max_tokens: 2000 → 3\)"):
        run_stage(a.parent, max_tokens=3)
    changed = run_stage(a.parent, max_tokens=3, overwrite=True)
    assert changed.report.written == [out / "a.parquet", out / "b.parquet", out / "c.parquet"]
    statuses = changed.output(c).column("vnlp_status").to_pylist()
    assert statuses[0].startswith("error:too_long") and statuses[1] == "empty"

    # A new batch size does not change the output: nothing is redone.
    assert run_stage(a.parent, max_tokens=3, batch_size=7).report.written == []


def link_dir(directory: Path, shards: list[Path]) -> Path:
    """A directory of symlinks named like `shards`, as jobs/annotate_shards.sbatch gives each task."""
    directory.mkdir(parents=True)
    for shard in shards:
        (directory / shard.name).symlink_to(shard)
    return directory


def test_shards_resume_whichever_task_link_directory_they_come_through(
    run_stage: StageRunner, three_files: list[Path], write_parquet: WriteParquet, tmp_path: Path
) -> None:
    """Scheduled runs: shards arrive between runs and move between array tasks; only new or changed
    ones are annotated (jobs/README.md)."""
    a, b, c = three_files
    links = tmp_path / "links"
    out = tmp_path / "out"
    # Night 1: two tasks, a+c and b.
    run_stage(link_dir(links / "1" / "task-0", [a, c]), output_dir=out)
    run_stage(link_dir(links / "1" / "task-1", [b]), output_dir=out)
    before = {f.name: annotations(pq.read_table(out / f.name)) for f in three_files}
    stamps = {f.name: (out / f.name).stat().st_mtime_ns for f in three_files}

    # Night 2: a new shard sorting between a and b, a rewritten c, three tasks.
    new = write_parquet("a2.parquet", words(3, 50))
    write_parquet("c.parquet", ["tamamen yeni bir metin", None])
    runs = [
        run_stage(link_dir(links / "2" / f"task-{k}", shards), output_dir=out)
        for k, shards in enumerate([[a, b], [new], [c]])
    ]

    assert [run.report.written for run in runs] == [[], [out / "a2.parquet"], [out / "c.parquet"]]
    assert runs[0].report.skipped == [
        links / "2" / "task-0" / "a.parquet",
        links / "2" / "task-0" / "b.parquet",
    ]
    for f in (a, b):
        assert (out / f.name).stat().st_mtime_ns == stamps[f.name]
        assert annotations(pq.read_table(out / f.name)).equals(before[f.name])
    assert pq.read_table(out / "c.parquet").column("text").to_pylist() == ["tamamen yeni bir metin", None]
    assert pq.read_table(out / "a2.parquet").column("id").to_pylist() == [0, 1, 2]

    # A plain local run over the shards themselves finds everything done.
    assert run_stage(a.parent, output_dir=out).report.written == []


def test_a_link_under_another_name_is_a_file_of_its_own(
    run_stage: StageRunner, three_files: list[Path]
) -> None:
    a = three_files[0]
    (a.parent / "latest.parquet").symlink_to(a)
    first = run_stage(a.parent)
    out = first.output_dir
    assert out / "latest.parquet" in first.report.written and out / "a.parquet" in first.report.written
    assert annotations(first.output(a.parent / "latest.parquet")).equals(annotations(first.output(a)))
    assert run_stage(a.parent).report.written == []  # each is recognised: nothing redone


def test_other_graphs_redo_the_file_and_the_same_graphs_skip_it(
    exports: Any,
    write_parquet: WriteParquet,
    short_texts: list[str],
    tmp_path: Path,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The CLI's own path (app.run): the export config picks the graphs, the graphs' sha256 the key.
    data = write_parquet("a.parquet", short_texts[:6])
    out = tmp_path / "out"

    def run(overwrite: bool = False, **export: Any) -> tuple[dict[str, Any], bool]:
        """The file's recorded ONNX sha256s after a run, and whether the run skipped it."""
        cfg = AppConfig(
            task=TaskConfig("pos"),
            data=DataConfig(path=str(data), output_dir=str(out), overwrite=overwrite),
            export=ExportConfig(**export),
            runtime=runtime_for("fast"),
            weights=WeightsConfig(source="synthetic", seed=0),
            stage="infer",
            cache_dir=str(cache_dir),
            run_dir=str(tmp_path / "run"),
        )
        caplog.clear()
        with caplog.at_level(logging.INFO):
            assert app.run(cfg) == 0
        meta = pq.read_schema(out / "a.parquet").metadata
        return json.loads(meta[b"vnlp_batch.onnx_sha256"]), "already annotated" in caplog.text

    fp32, skipped = run()
    assert not skipped
    # An int8 export is another configuration: refused before any work, replaced when asked to.
    with pytest.raises(OutputConflictError, match=r"export\.quantize: none → int8_dynamic") as refused:
        run(quantize="int8_dynamic")
    assert getattr(refused.value, "exit_code", None) == 2
    int8, skipped = run(overwrite=True, quantize="int8_dynamic")
    assert not skipped, "a file annotated with fp32 graphs was kept for an int8 run"
    assert int8["spucontext_pos"]["step"] != fp32["spucontext_pos"]["step"]
    # The run says what runs in which precision: the fast decoder, on int8 and fp32 graphs.
    assert (
        "spucontext_pos: fast decoder; fp32: left_context, right_context; int8_dynamic: word_encoder, step"
        in caplog.text
    )
    again, skipped = run(quantize="int8_dynamic")
    assert skipped and again == int8
    opset17, skipped = run(overwrite=True, opset=17)
    assert not skipped, "a file annotated with opset-13 graphs was kept for an opset-17 run"
    assert opset17["spucontext_pos"]["step"] not in (
        fp32["spucontext_pos"]["step"],
        int8["spucontext_pos"]["step"],
    )
