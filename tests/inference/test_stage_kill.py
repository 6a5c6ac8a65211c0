"""kill -9 in the middle of a run leaves no file under a final output name; a rerun completes the output
with every row once, in order (README, "Inference stage")."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, parquet_files, temporaries, words

from vnlp_batch.config.schema import AppConfig, DataConfig, TaskConfig
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.files import host_tag, temporary_path
from vnlp_batch.preflight import output_dir_for

BIG_ROWS = 3000  # one- or two-token rows: several seconds of decoding, so the kill lands mid-file
TIMEOUT_S = 300.0


def wait_for_temporary(proc: subprocess.Popen, directory: Path, log: Path, *names: str) -> None:
    """Return once the writer's `.<name>.<host>.<pid>.tmp` exists in `directory` for each of `names`;
    fail if `proc` ends first. The writers of a file's formats open one after another, so a test that
    kills mid-file names all of them."""
    deadline = time.monotonic() + TIMEOUT_S
    listed = ", ".join(names)
    while not all(temporary_path(directory / name, proc.pid).exists() for name in names):
        if proc.poll() is not None:
            tail = log.read_text()[-3000:]
            pytest.fail(f"the run exited ({proc.returncode}) before writing {listed}:\n{tail}")
        if time.monotonic() > deadline:
            pytest.fail(f"no temporary for {listed} after {TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.02)  # the polling interval; returns early if the process ends


@pytest.mark.parametrize("formats", [["parquet"], ["parquet", "conllu", "jsonl"]])
def test_kill_9_mid_file_then_rerun_gives_complete_output(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    tmp_path: Path,
    cache_dir: Path,
    exports: Any,  # the subprocess reuses these cached exports
    formats: list[str],
) -> None:
    small = write_parquet("a_small.parquet", words(20))
    big = write_parquet("b_big.parquet", words(BIG_ROWS))
    out = tmp_path / "out"
    log = tmp_path / "run.log"
    cmd = [
        sys.executable,
        "-m",
        "vnlp_batch",
        "stage=infer",
        "task=pos",
        "weights=synthetic",
        "runtime=cpu",
        f"data={small.parent}",
        f"data.output_dir={out}",
        f"hydra.run.dir={tmp_path / 'killed_run'}",
        f"output.format=[{','.join(formats)}]",
    ]
    env = {**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)}
    with log.open("w") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_temporary(proc, out, log, *(f"{big.stem}.{f}" for f in formats))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # The first file was finished before the kill; the second exists only as the dead run's temporary.
    assert parquet_files(out) == ["a_small.parquet"]
    # Every format's file of the big input is being written (one temporary each), none committed.
    assert temporaries(out) == sorted(f".b_big.{f}.{host_tag()}.{proc.pid}.tmp" for f in formats)
    assert sorted(p.name for p in out.glob("b_big.*")) == []
    manifest = Manifest.load(out)
    assert manifest.output_of(small) == out / "a_small.parquet"
    assert manifest.output_of(big) is None

    rerun = run_stage(small.parent, output_dir=out, output_format=formats)  # conf/data/file.yaml: no id

    assert rerun.report.skipped == [small]
    assert rerun.report.written == [out / f"b_big.{f}" for f in formats]
    assert temporaries(out) == []  # the dead run's temporaries were cleaned up
    assert parquet_files(out) == ["a_small.parquet", "b_big.parquet"]
    if len(formats) > 1:  # the other formats as an uninterrupted run writes them
        clean = run_stage(big, output_dir=tmp_path / "clean", output_format=formats)
        for f in formats[1:]:
            assert (out / f"b_big.{f}").read_bytes() == (clean.output_dir / f"b_big.{f}").read_bytes(), f
    for path, n in ((small, 20), (big, BIG_ROWS)):
        table = pq.read_table(out / path.name, columns=["id", "text", "pos", "vnlp_status"])
        assert table.column("id").to_pylist() == list(range(n))
        assert table.column("text").to_pylist() == pq.read_table(path).column("text").to_pylist()
        assert set(table.column("vnlp_status").to_pylist()) == {"ok"}
        assert all(table.column("pos").to_pylist())


def test_a_run_leaves_other_hosts_live_temporaries_alone(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path
) -> None:
    """Slurm array tasks on other nodes write into the same output dir while this run starts."""
    shard = write_parquet("mine.parquet", words(5))
    out = tmp_path / "out"
    out.mkdir()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(gone.stdout)  # exited: on this host, its temporary would be stale
    busy = temporary_path(out / "theirs.parquet", pid, host="node-b")
    abandoned = temporary_path(out / "old.parquet", pid, host="node-c")
    dead_here = temporary_path(out / "crashed.parquet", pid)
    for path in (busy, abandoned, dead_here):
        path.write_bytes(b"PAR1")
    old = time.time() - 3 * 3600
    os.utime(abandoned, (old, old))

    run = run_stage(shard.parent, stale_temporary_hours=2)

    assert run.report.written == [out / "mine.parquet"]
    assert temporaries(out) == [busy.name]


def test_the_readme_command_resumes_after_a_kill_9(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    tmp_path: Path,
    cache_dir: Path,
    exports: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No data.output_dir, no hydra.run.dir: every run gets a new run directory, and the outputs the
    same place (outputs/annotated/<input>-<hash>/<task>), so running the same command again resumes."""
    small = write_parquet("a_small.parquet", words(20))
    big = write_parquet("b_big.parquet", words(BIG_ROWS))
    work = tmp_path / "work"
    work.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "vnlp_batch",
        "task=pos",
        "weights=synthetic",
        "runtime=cpu",
        f"data={small.parent}",
    ]
    env = {**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)}
    with monkeypatch.context() as here:
        here.chdir(work)
        out = output_dir_for(AppConfig(task=TaskConfig("pos"), data=DataConfig(path=str(small.parent))))
    assert out.is_relative_to(work / "outputs" / "annotated")
    log = tmp_path / "run.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_temporary(proc, out, log, big.name)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert parquet_files(out) == ["a_small.parquet"]

    rerun = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=TIMEOUT_S)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{small}: already annotated with this configuration" in rerun.stderr
    assert temporaries(out) == [] and parquet_files(out) == ["a_small.parquet", "b_big.parquet"]
    reference = run_stage(small.parent, output_dir=tmp_path / "reference")
    columns = ["id", "text", "tokens", "pos", "vnlp_status"]
    for name in ("a_small.parquet", "b_big.parquet"):
        got = pq.read_table(out / name, columns=columns).replace_schema_metadata(None)
        assert got.equals(
            pq.read_table(reference.output_dir / name, columns=columns).replace_schema_metadata(None)
        )
    assert len(list((work / "outputs" / "runs").glob("*/*/.hydra"))) == 2  # each run its own logs
