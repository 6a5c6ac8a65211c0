"""The entry point end to end, as a user runs it (subprocess, shared test cache)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(cache_dir, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)}
    return subprocess.run(
        [sys.executable, "-m", "vnlp_batch", *args, f"hydra.run.dir={tmp_path}/run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_export_stage_reuses_cache_and_says_weights_are_synthetic(exports, cache_dir, tmp_path) -> None:
    done = run_cli(cache_dir, tmp_path, "stage=export", "task=sentiment", "weights=synthetic", "runtime=cpu")
    assert done.returncode == 0, done.stderr
    assert "SYNTHETIC" in done.stderr
    assert "sentiment: reusing cached export" in done.stderr
    assert (tmp_path / "run" / "export_report.json").exists()


def test_onnx_file_is_recognised_by_its_metadata(exports, cache_dir, tmp_path) -> None:
    onnx_file = exports.models["spucontext_ner"].graphs["monolithic"]
    done = run_cli(cache_dir, tmp_path, "stage=export", f"model.onnx={onnx_file}", "weights=synthetic")
    assert done.returncode == 0, done.stderr
    assert "ner model spucontext_ner (synthetic weights)" in done.stderr
    refused = run_cli(cache_dir, tmp_path, "stage=export", "task=pos", f"model.onnx={onnx_file}")
    assert refused.returncode != 0
    assert "holds a ner model (spucontext_ner) but task=pos" in refused.stderr
