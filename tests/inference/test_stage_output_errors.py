"""Output trouble is named and found early: a full disk names the file being written, and an output
directory that cannot be written stops the run before weights, export or model loading."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, parquet_files, runtime_for, temporaries, words

from vnlp_batch import app
from vnlp_batch.config.schema import AppConfig, DataConfig, TaskConfig, WeightsConfig
from vnlp_batch.corpus.errors import OutputError
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.inference.annotate import Annotator

PYARROW_ENOSPC = "Error writing bytes to file. Detail: [errno 28] No space left on device"


def test_full_disk_while_writing_a_shard_names_it(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_parquet("a.parquet", words(5))
    second = write_parquet("b.parquet", words(6, 10))
    real_write_table = pq.ParquetWriter.write_table

    def write_table(self: pq.ParquetWriter, *args: Any, **kwargs: Any) -> None:
        if ".b.parquet." in str(self.where):
            raise OSError(errno.ENOSPC, PYARROW_ENOSPC)
        real_write_table(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    out = tmp_path / "out"
    with pytest.raises(OutputError) as info:
        run_stage(first.parent)
    assert str(info.value).startswith(f"{out / second.name}: cannot write: ")
    assert str(info.value).endswith("No space left on device")
    assert parquet_files(out) == ["a.parquet"] and temporaries(out) == []
    assert Manifest.load(out).output_of(second) is None


def test_a_really_full_disk_names_the_shard(
    run_stage: StageRunner, write_parquet: WriteParquet, tmpfs: Callable[..., Path]
) -> None:
    out = tmpfs("small", size="64k")  # writable at the start, full half-way through the shard
    texts = [os.urandom(500).hex() for _ in range(200)]  # incompressible: ~200 KB out
    path = write_parquet("big.parquet", pa.table({"text": texts}))
    with pytest.raises(OutputError, match=f"^{re.escape(str(out / path.name))}: cannot write: ") as info:
        run_stage(path, output_dir=out)
    assert info.value.errno == errno.ENOSPC
    assert list(out.iterdir()) == []  # neither the temporary nor a manifest


def test_read_only_output_dir_stops_the_stage_before_annotating(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    tmpfs: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_parquet("a.parquet", words(3))
    read_only = tmpfs("ro", read_only=True)
    annotated: list[int] = []
    monkeypatch.setattr(Annotator, "warm_up", lambda self: annotated.append(1))
    with pytest.raises(OutputError, match=f"^{re.escape(str(read_only))}: output directory is not writable"):
        run_stage(path, output_dir=read_only)
    assert annotated == []


def test_unwritable_output_dir_stops_the_run_before_weights_export_and_models(
    write_parquet: WriteParquet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_parquet("a.parquet", words(3))
    (tmp_path / "taken").write_text("a file where the output directory's parent should be")
    output_dir = tmp_path / "taken" / "annotated"
    cfg = AppConfig(
        task=TaskConfig("pos"),
        data=DataConfig(path=str(path), output_dir=str(output_dir)),
        runtime=runtime_for("fast"),
        weights=WeightsConfig(source="synthetic", seed=0),
        stage="all",
        cache_dir=str(tmp_path / "cache"),
        run_dir=str(tmp_path / "run"),
    )
    reached: list[str] = []

    def too_far(*args: object, **kwargs: object) -> None:
        reached.append("weights")
        raise AssertionError("the output directory should have been checked before the weights")

    monkeypatch.setattr("vnlp_batch.weights.sources.resolve_weights", too_far)
    with pytest.raises(OutputError, match=f"^{re.escape(str(output_dir))}: output directory is not writable"):
        app.run(cfg)
    assert reached == []
    assert not (tmp_path / "cache").exists()
