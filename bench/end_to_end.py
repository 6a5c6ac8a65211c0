"""End to end: `python -m vnlp_batch stage=infer …` on a Parquet file, against the decoders alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASK_PLANS = {
    "pos": dict(pos="spucontext_pos"),
    "all": dict(
        morph="stemmer",
        pos="spucontext_pos",
        ner="spucontext_ner",
        dep="spucontext_dp",
        sentiment="sentiment",
    ),
}


def cli_command(task: str, parquet: Path, batch_size: int, workdir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vnlp_batch",
        "stage=infer",
        f"task={task}",
        "weights=synthetic",
        "runtime=cpu",
        f"data={parquet}",
        f"data.output_dir={workdir / 'out'}",
        f"batch_size={batch_size}",
        f"hydra.run.dir={workdir / 'run'}",
    ]


def run_cli(task: str, parquet: Path, batch_size: int, cache_dir: Path) -> dict:
    """One CLI run in a fresh directory; its metrics.json (wall time starts after the models are loaded)."""
    with tempfile.TemporaryDirectory(prefix="vnlp_bench_e2e_") as tmp:
        workdir = Path(tmp)
        cmd = cli_command(task, parquet, batch_size, workdir)
        env = dict(os.environ, VNLP_BATCH_CACHE=str(cache_dir))
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        process_s = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        metrics = json.loads((workdir / "run" / "metrics.json").read_text())
    shown = [
        c if not c.startswith(("data.output_dir", "hydra.run.dir")) else c.split("=")[0] + "=<tmp>"
        for c in cmd
    ]
    return {"command": " ".join(["python", *shown[1:]]), "process_s": round(process_s, 2), "metrics": metrics}


def decoders_only(setup, task: str, texts, tokens, batch_size: int) -> dict:
    """The same corpus through the task's models with `Annotator.annotate`, in loader-shaped batches,
    tokens precomputed, no Parquet I/O, caches cleared first."""
    import workloads

    from vnlp_batch.inference.annotate import Annotator, Plan

    fields = TASK_PLANS[task]
    plan = Plan(**fields)
    names = set(fields.values())
    annotator = Annotator(plan, setup.models(names, "fast"))
    batches = workloads.loader_batches(texts, tokens, batch_size)
    workloads.clear_caches()
    start = time.perf_counter()
    for batch in batches:
        annotator.annotate(batch.texts, batch.tokens)
    seconds = time.perf_counter() - start
    n_tokens = sum(b.n_tokens for b in batches)
    return {"tokens": n_tokens, "seconds": round(seconds, 3), "tokens_per_s": n_tokens / seconds}
