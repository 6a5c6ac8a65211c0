"""Start-up as a user meets it: the CLI's time to its first batch on a small corpus with a warm export
cache, and the whole run when every input file is already done, each the median of `--runs` runs,
with the breakdown each run writes into metrics.json (`startup`).

    VNLP_BATCH_CACHE=/tmp/cache .venv/bin/python bench/startup.py --runs 5

Both rows run `python -m vnlp_batch task=all weights=synthetic data=<20 sample sentences>` as a
subprocess, with the default runtime (CUDA, then CPU: the CUDA probe is part of start-up):

- `20 sentences, warm cache`: into a fresh output directory each time, so the run annotates.
  `first batch at` is the process's age when its first batch starts decoding.
- `all done`: into a directory where the file is already annotated, so the run loads nothing.
  `all done at` is the process's age when it decided so; `wall` adds the interpreter's exit.

An untimed run first fills the export cache if needed and warms the OS's file cache. The phases are
the main thread's, in order, and add up to the `at` column; `tensorflow import` runs on another thread
beside `session load` and `waiting for imports`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SENTENCES = 20
COMMAND = ["task=all", "weights=synthetic"]


def write_corpus(directory: Path) -> Path:
    from vnlp_batch.corpus.sample import read_sample_sentences

    texts = read_sample_sentences()[:SENTENCES]
    path = directory / "corpus" / "twenty.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), path)
    return path


def run(corpus: Path, output_dir: Path, run_dir: Path) -> dict:
    """One CLI run: its wall time and its metrics.json's `startup`."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vnlp_batch",
            *COMMAND,
            f"data={corpus}",
            f"data.output_dir={output_dir}",
            f"hydra.run.dir={run_dir}",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    startup = json.loads((run_dir / "metrics.json").read_text())["startup"]
    return {"wall_s": wall, **startup}


def medians(runs: list[dict]) -> dict[str, float]:
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def table(title: str, runs: list[dict], moment: str) -> str:
    middle = medians(runs)

    def each(key: str) -> str:
        return ", ".join(f"{r[key]:.2f}" for r in runs)

    lines = [
        f"### {title}: median of {len(runs)} runs",
        "",
        "| | median s | runs |",
        "|---|---:|---|",
        f"| wall (process) | {middle['wall_s']:.2f} | {each('wall_s')} |",
        f"| **{moment}** | **{middle[moment]:.2f}** | {each(moment)} |",
    ]
    for name, seconds in middle.items():
        if name not in ("wall_s", moment):
            lines.append(f"| {name} | {seconds:.3f} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per row (default 5)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vnlp-startup-") as scratch:
        work = Path(scratch)
        corpus = write_corpus(work)
        run(corpus, work / "untimed", work / "runs" / "untimed")  # fills the export cache if needed
        warm = [run(corpus, work / f"out-{k}", work / "runs" / f"warm-{k}") for k in range(args.runs)]
        done = [run(corpus, work / "out-0", work / "runs" / f"done-{k}") for k in range(args.runs)]
    load_after = os.getloadavg()
    print(f"`{' '.join(['python -m vnlp_batch', *COMMAND])} data=<{SENTENCES} sample sentences>`")
    print(f"{os.cpu_count()} CPUs; load average before {load_before}, after {load_after}\n")
    print(table(f"{SENTENCES} sentences, warm export cache", warm, "first_batch_at_s"))
    print()
    print(table("all done (rerun)", done, "all_done_at_s"))


if __name__ == "__main__":
    main()
