"""The entry point end to end, as a user runs it (subprocess, shared test cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


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


# --- as a new user runs it: one-line refusals before any model, quiet on CPU, the same command resumes

# Runs the CLI and says, as its last stderr line, which of TensorFlow and onnxruntime it imported.
PROBE = """
import atexit, sys
heavy = ("tensorflow", "onnxruntime")
atexit.register(lambda: print("imported:", [m for m in heavy if m in sys.modules], file=sys.stderr))
sys.argv = ["vnlp-batch", *sys.argv[1:]]
from vnlp_batch.__main__ import main
main()
"""
QUIET = ("cuInit", "libcublas", "Could not find cuda", "absl::InitializeLog", "oneDNN", "Traceback")


def run_probe(cache_dir, cwd, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    """(exit code, stderr lines before the probe's, what was imported) of the CLI run in `cwd`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "VNLP_BATCH_CACHE": str(cache_dir), **(env or {})},
        cwd=cwd,
        timeout=600,
    )
    *lines, imported = done.stderr.strip().splitlines()
    assert imported.startswith("imported: "), done.stderr
    return done.returncode, lines, imported.removeprefix("imported: ")


def write_texts(path: Path, columns: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(columns or {"id": [0, 1], "text": ["Ankara'da yağmur yağdı .", "Güzel bir gün ."]}), path
    )
    return path


def refusal_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """{case: (arguments, the one line it ends with)} for input and output mistakes."""
    content = write_texts(tmp_path / "c" / "news.parquet", {"id": [1], "content": ["Metin ."]})
    jsonl = tmp_path / "jsonl" / "news.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text("id,text\n1,a CSV named .jsonl\n")
    garbage = tmp_path / "g" / "news.parquet"
    garbage.parent.mkdir()
    garbage.write_bytes(b"PAR1 but not Parquet")
    good = write_texts(tmp_path / "ok" / "news.parquet")
    (tmp_path / "taken").write_text("a file where a directory should be")
    foreign = tmp_path / "foreign"
    write_texts(foreign / "news.parquet", {"mine": [1]})
    return {
        "text column": (
            [f"data={content}"],
            f"vnlp-batch: error: {content}: text column 'text' not found; available columns: id (int64), "
            "content (string); did you mean data.text_column=content?",
        ),
        "not JSON Lines": (
            [f"data={jsonl}"],
            f"vnlp-batch: error: {jsonl}: cannot read as JSON Lines: line 1",
        ),
        "not Parquet": ([f"data={garbage}"], f"vnlp-batch: error: {garbage}: cannot read as Parquet"),
        "no such path": ([f"data={tmp_path / 'nope'}"], "vnlp-batch: error: input path "),
        "output dir": (
            [f"data={good}", f"data.output_dir={tmp_path / 'taken' / 'out'}"],
            f"vnlp-batch: error: {tmp_path / 'taken' / 'out'}: output directory is not writable",
        ),
        "other files": (
            [f"data={good}", f"data.output_dir={foreign}"],
            f"vnlp-batch: error: {foreign} holds 1 file made with another configuration (e.g. news.parquet: "
            "not written by vnlp-batch;",
        ),
        "download": (
            [f"data={good}", "weights=vnlp", "weights.base_url=http://127.0.0.1:9/"],
            "vnlp-batch: error: cannot download http://127.0.0.1:9/PoS_SPUContext_prod.weights",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["text column", "not JSON Lines", "not Parquet", "no such path", "output dir", "other files", "download"],
)
def test_user_errors_are_one_line_exit_2_before_any_model(tmp_path: Path, case: str) -> None:
    args, last_line = refusal_cases(tmp_path)[case]
    weights = [] if "weights=vnlp" in args else ["weights=synthetic"]
    code, lines, imported = run_probe(
        tmp_path / "cache", tmp_path, "task=pos", "runtime=cpu", *weights, *args
    )
    assert code == 2, lines
    assert lines[-1].startswith(last_line), lines[-1]
    assert [line for line in lines if line.startswith("vnlp-batch:")] == [lines[-1]]
    assert not [line for line in lines if any(noise in line for noise in (*QUIET, "HYDRA_FULL_ERROR"))]
    assert imported == "[]"  # neither TensorFlow nor onnxruntime: no model was loaded


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    args, _ = refusal_cases(tmp_path)["text column"]
    code, lines, _ = run_probe(
        tmp_path / "cache", tmp_path, "weights=synthetic", *args, env={"VNLP_BATCH_DEBUG": "1"}
    )
    assert code != 0
    assert any(line.startswith("Traceback") for line in lines) or any("SchemaError" in line for line in lines)


def test_a_refused_weights_file_is_one_line_without_a_traceback(
    synthetic_weights: Any, tmp_path: Path
) -> None:
    import pickle
    import shutil

    import numpy as np

    from vnlp_batch.models.declarations import MODELS

    spec = MODELS["sentiment"]
    user_dir = tmp_path / "weights"
    user_dir.mkdir()
    for name in synthetic_weights.files(spec):
        shutil.copy(synthetic_weights.directory / name, user_dir / name)
    marker = tmp_path / "pwned"
    with open(user_dir / spec.weights_file, "wb") as handle:
        pickle.dump([np.zeros(3, np.float32), _Touch(marker)], handle, protocol=3)
    code, lines, _ = run_probe(
        tmp_path / "cache",
        tmp_path,
        "stage=export",
        "task=sentiment",
        "weights=path",
        f"weights.dir={user_dir}",
    )
    assert code == 2
    assert lines[-1].startswith(f"vnlp-batch: error: {user_dir / spec.weights_file}: "), lines[-1]
    assert not [line for line in lines if any(noise in line for noise in (*QUIET, "HYDRA_FULL_ERROR"))]
    assert not marker.exists()


class _Touch:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_the_same_command_resumes_loading_nothing_and_cpu_runs_are_quiet(
    exports: Any, cache_dir: Path, tmp_path: Path
) -> None:
    corpus = write_texts(tmp_path / "corpus" / "news.parquet")
    command = ["task=pos", "weights=synthetic", f"data={corpus}"]  # default runtime: CUDA, then CPU

    code, lines, imported = run_probe(cache_dir, tmp_path, *command)
    assert code == 0, lines
    # Quiet: no TensorFlow or onnxruntime CUDA noise; one warning that CUDA was asked for and is missing.
    assert not [line for line in lines if any(noise in line for noise in QUIET)], lines
    assert len([line for line in lines if "CUDA cannot run here" in line]) == 1
    assert any("onnxruntime: running on CPUExecutionProvider" in line for line in lines)
    outputs = list((tmp_path / "outputs" / "annotated").glob("news-*/pos/news.parquet"))
    assert len(outputs) == 1
    first = outputs[0].read_bytes()

    code, lines, imported = run_probe(cache_dir, tmp_path, *command)
    assert code == 0, lines
    assert imported == "[]"  # every file done: no TensorFlow, no session
    assert any(f"{corpus}: already annotated with this configuration" in line for line in lines)
    assert outputs[0].read_bytes() == first
    runs = sorted((tmp_path / "outputs" / "runs").glob("*/*/metrics.json"))
    assert len(runs) == 2  # each run keeps its own logs and metrics
    assert "all_done_at_s" in json.loads(runs[-1].read_text())["startup"]
    assert "first_batch_at_s" in json.loads(runs[0].read_text())["startup"]


def test_make_export_all_exports_every_model() -> None:
    import shlex
    import shutil

    from vnlp_batch.models.declarations import MODELS
    from vnlp_batch.models.planning import models_for

    if shutil.which("make") is None:
        pytest.skip("no make")
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        ["make", "-n", "export-all", "WEIGHTS=synthetic"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    commands = [shlex.split(line) for line in done.stdout.splitlines() if "-m vnlp_batch" in line]
    exported = set()
    for command in commands:
        options = dict(arg.split("=", 1) for arg in command[command.index("vnlp_batch") + 1 :])
        assert options["stage"] == "export" and options["weights"] == "synthetic"
        exported |= {spec.name for spec in models_for(options["task"], options.get("model", "auto"))}
    assert exported == set(MODELS)
