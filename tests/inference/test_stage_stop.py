"""SIGTERM (Slurm's time limit, `scancel`) and SIGINT (Ctrl-C) stop a run cleanly: at the next batch
boundary, no temporary left, one log line saying how far it got, exit code 128 + the signal number, and
a manifest a rerun can resume from (README, "Exit codes")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, parquet_files, temporaries, words
from test_stage_kill import BIG_ROWS, wait_for_temporary

from vnlp_batch.corpus.manifest import Manifest


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_at_a_batch_boundary_and_a_rerun_completes(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    tmp_path: Path,
    cache_dir: Path,
    exports: Any,  # the subprocess reuses these cached exports
    signum: int,
    exit_code: int,
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
        f"hydra.run.dir={tmp_path / 'stopped_run'}",
    ]
    env = {**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)}
    with log.open("w") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_temporary(proc, out, log, big.name)
            proc.send_signal(signum)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()

    assert proc.returncode == exit_code, text[-3000:]
    assert f"stopped: 20/{20 + BIG_ROWS:,} rows, rerun to resume" in text  # rows of finished files
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert temporaries(out) == []  # removed by the run itself, not by the next one
    assert parquet_files(out) == ["a_small.parquet"]
    manifest = Manifest.load(out)
    assert manifest.output_of(small) == out / "a_small.parquet"
    assert manifest.output_of(big) is None  # the stopped file is not marked done

    rerun = run_stage(small.parent, output_dir=out)

    assert rerun.report.skipped == [small]
    assert rerun.report.written == [out / "b_big.parquet"]
    table = pq.read_table(out / big.name, columns=["text", "vnlp_status"])
    assert table.column("text").to_pylist() == words(BIG_ROWS)
    assert set(table.column("vnlp_status").to_pylist()) == {"ok"}
