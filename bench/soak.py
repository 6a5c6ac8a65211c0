"""Soak the crash and stop paths: kill a `task=all` run at random moments, rerun until it completes, and
compare every row with an uninterrupted run.

The corpus is cut from the bundled sample (`--shards` Parquet files of `--rows` rows, with a global
`id`). One uninterrupted CLI run gives the reference output. Then, `--kills` times in all, a run over
the same corpus is started and sent SIGKILL, SIGTERM or SIGINT (chosen at random) after a random delay
up to the time the reference run would need for what is left (its start-up, then the rows not yet in
a finished file at its pace), mostly after the start-up; after each kill it is rerun, and the run that
is not killed completes the output, which is compared with the reference row by row (by `id`): rows lost,
duplicated, mismatched (any column), out of order. If the output completes before all kills are spent,
a new round starts in a new output directory.

After every kill it also checks what a kill may leave: every file under a final name is complete (equal
to its reference file); a SIGTERM or SIGINT run exits 143 or 130, removes its temporary and logs
`stopped: …` with no traceback. Run with the project's venv, e.g.:

    VNLP_BATCH_CACHE=/tmp/tc16 .venv/bin/python bench/soak.py --kills 10

Exit status 0 when nothing was lost, duplicated, mismatched or left behind; 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}
GRACEFUL_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
STOP_WAIT_S = 120.0  # a graceful stop waits for the batch in progress: seconds, not minutes


@dataclass
class Tally:
    kills: collections.Counter = field(default_factory=collections.Counter)  # signal name → kills
    exits: collections.Counter = field(default_factory=collections.Counter)  # (signal, exit code) → n
    landed_in_startup: int = 0  # kills before the run began annotating (export, model loading, …)
    stop_s: list[float] = field(default_factory=list)  # SIGTERM/SIGINT → exit, seconds
    problems: list[str] = field(default_factory=list)
    rows_compared: int = 0
    rows_lost: int = 0
    rows_duplicated: int = 0
    rows_mismatched: int = 0
    files_out_of_order: int = 0
    runs: int = 0  # processes started for the soak (killed or not)
    reruns: int = 0
    rounds: int = 0


def make_corpus(directory: Path, shards: int, rows: int) -> list[Path]:
    """`shards` files of `rows` rows each, cycling through the sample corpus; `id` is unique overall."""
    from vnlp_batch.corpus.sample import SAMPLE_PARQUET

    texts = pq.read_table(SAMPLE_PARQUET, columns=["text"]).column("text").to_pylist()
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for shard in range(shards):
        ids = range(shard * rows, (shard + 1) * rows)
        table = pa.table(
            {"id": pa.array(ids, pa.int64()), "text": pa.array([texts[i % len(texts)] for i in ids])}
        )
        path = directory / f"shard-{shard:02d}.parquet"
        pq.write_table(table, path, row_group_size=max(rows // 3, 1))
        files.append(path)
    return files


def command(args: argparse.Namespace, data: Path, output_dir: Path, run_dir: Path, stage: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vnlp_batch",
        f"stage={stage}",
        f"task={args.task}",
        "weights=synthetic",
        "runtime=cpu",
        f"batch_size={args.batch_size}",
        f"data={data}",
        f"data.output_dir={output_dir}",
        f"hydra.run.dir={run_dir}",
    ]


@dataclass
class Run:
    proc: subprocess.Popen
    run_dir: Path

    @property
    def log(self) -> str:
        return (self.run_dir / "console.log").read_text(errors="replace")


def start(
    args: argparse.Namespace, data: Path, output_dir: Path, work: Path, name: str, stage: str = "all"
) -> Run:
    run_dir = work / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "console.log").open("w") as log:
        proc = subprocess.Popen(
            command(args, data, output_dir, run_dir, stage), stdout=log, stderr=subprocess.STDOUT, cwd=work
        )
    return Run(proc, run_dir)


def read_rows(path: Path) -> list[dict]:
    # Compared as Python values: the file metadata holds the run's own config and paths.
    return pq.read_table(path).to_pylist()


def measured_timing(run: Run, wall_s: float) -> list[float]:
    """[start-up seconds, annotating seconds] of a complete run (annotation time from its metrics)."""
    annotating_s = json.loads((run.run_dir / "metrics.json").read_text())["wall_s"]
    return [max(wall_s - annotating_s, 0.2), annotating_s]


def check_final_files(output_dir: Path, reference: dict[str, list[dict]], tally: Tally, when: str) -> None:
    """Every visible output file must be complete."""
    for path in sorted(output_dir.glob("*.parquet")):
        try:
            rows = read_rows(path)
        except Exception as exc:  # a partial file under a final name would be unreadable
            tally.problems.append(f"{when}: {path.name} under its final name is unreadable: {exc}")
            continue
        if rows != reference[path.name]:
            tally.problems.append(f"{when}: {path.name} under its final name differs from the reference")


def compare(output_dir: Path, data: Path, reference: dict[str, list[dict]], tally: Tally) -> None:
    from vnlp_batch.corpus.manifest import Manifest

    manifest = Manifest.load(output_dir)
    unrecorded = [name for name in reference if manifest.output_of(data / name) != output_dir / name]
    if unrecorded:
        tally.problems.append(f"not marked done in the manifest after the final rerun: {unrecorded}")
    for name, expected in reference.items():
        path = output_dir / name
        got = read_rows(path) if path.exists() else []
        if not path.exists():
            tally.problems.append(f"{name}: missing after the final rerun")
        by_id = collections.defaultdict(list)
        for row in got:
            by_id[row["id"]].append(row)
        tally.rows_compared += len(expected)
        for row in expected:
            copies = by_id.get(row["id"], [])
            if not copies:
                tally.rows_lost += 1
                continue
            tally.rows_duplicated += len(copies) - 1
            tally.rows_mismatched += sum(copy != row for copy in copies)
        if [r["id"] for r in got] != [r["id"] for r in expected] and got:
            tally.files_out_of_order += 1
    leftovers = sorted(p.name for p in output_dir.iterdir() if p.name.endswith(".tmp"))
    if leftovers:
        tally.problems.append(f"temporaries left after the complete run: {leftovers}")


def kill_once(
    args: argparse.Namespace,
    rng: random.Random,
    data: Path,
    output_dir: Path,
    work: Path,
    reference: dict[str, list[dict]],
    timing: list[float],
    tally: Tally,
) -> bool:
    """Start a run, kill it at a random moment; True if it completed before the kill came."""
    n = sum(tally.kills.values())
    name = rng.choice(list(SIGNALS))
    signum = SIGNALS[name]
    startup_s, annotating_s = timing
    # The rest of this run, at the reference's pace: finished files are skipped.
    done = sum(len(reference[p.name]) for p in output_dir.glob("*.parquet")) if output_dir.exists() else 0
    total = sum(map(len, reference.values()))
    expected_s = startup_s + annotating_s * (total - done) / total
    # Most kills while rows are being annotated, the rest anywhere (start-up, export, model loading).
    earliest = startup_s if rng.random() < 0.75 else 0.2
    delay = rng.uniform(earliest, expected_s)
    tally.runs += 1
    run = start(args, data, output_dir, work, f"run-{tally.runs:03d}")
    proc = run.proc
    began = time.monotonic()
    try:
        proc.wait(timeout=delay)
        if proc.returncode != 0:
            tally.problems.append(f"{run.run_dir.name} failed (exit {proc.returncode}): {run.log[-2000:]}")
        elif done == 0:  # the machine's pace changed (it is shared): aim the next kills at this one's
            timing[:] = measured_timing(run, time.monotonic() - began)
        return True
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signum)
    sent = time.monotonic()
    try:
        proc.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        tally.problems.append(f"kill {n + 1}: {name} did not stop the run within {STOP_WAIT_S:.0f} s")
        proc.kill()
        proc.wait()
    took = time.monotonic() - sent
    text = run.log
    tally.kills[name] += 1
    tally.exits[(name, proc.returncode)] += 1
    when = f"after kill {n + 1} ({name} at {delay:.1f} s)"
    if signum in GRACEFUL_EXIT:
        tally.stop_s.append(took)
    exit_ = f"exit {proc.returncode} {took:.1f} s later"
    print(f"  kill {n + 1}: {name} at {delay:5.1f} s → {exit_} ({run.run_dir.name})", flush=True)
    if signum in GRACEFUL_EXIT and proc.returncode == GRACEFUL_EXIT[signum]:
        if "Traceback" in text:
            tally.problems.append(f"{when}: a traceback in the log")
        if "stopped" not in text:
            tally.problems.append(f"{when}: no `stopped` line in the log")
        leftovers = sorted(p.name for p in output_dir.glob(".*.tmp")) if output_dir.exists() else []
        if leftovers:
            tally.problems.append(f"{when}: temporaries left by a graceful stop: {leftovers}")
    elif signum in GRACEFUL_EXIT and proc.returncode != -signum:
        # -signum: the signal came before Python had set its handler (interpreter start-up).
        tally.problems.append(f"{when}: exit {proc.returncode}, expected {GRACEFUL_EXIT[signum]}")
    if output_dir.exists():
        check_final_files(output_dir, reference, tally, when)
    tally.landed_in_startup += "inference.progress" not in text  # its first line comes with the first file
    return False


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="vnlp-soak-"))
    data = work / "corpus"
    make_corpus(data, args.shards, args.rows)
    print(f"soak: {args.shards} shards × {args.rows} rows, task={args.task}, in {work}", flush=True)

    # Fills the export cache, so that the reference's start-up is every later run's.
    warm = start(args, data, work / "unused", work, "export", stage="export")
    warm.proc.wait()
    began = time.monotonic()
    ref = start(args, data, work / "reference", work, "reference")
    ref.proc.wait()
    reference_s = time.monotonic() - began
    if ref.proc.returncode != 0:
        print(ref.log[-3000:], file=sys.stderr)
        return 1
    timing = measured_timing(ref, reference_s)
    reference = {p.name: read_rows(p) for p in sorted((work / "reference").glob("*.parquet"))}
    rows = sum(map(len, reference.values()))
    print(f"reference: {rows} rows in {reference_s:.1f} s ({timing[1]:.1f} s annotating)", flush=True)

    tally = Tally()
    began = time.monotonic()
    while sum(tally.kills.values()) < args.kills:
        tally.rounds += 1
        output_dir = work / f"soaked-{tally.rounds}"
        print(f"round {tally.rounds}: {output_dir}", flush=True)
        while sum(tally.kills.values()) < args.kills:
            if kill_once(args, rng, data, output_dir, work, reference, timing, tally):
                break
            tally.reruns += 1
        else:  # kills spent: rerun to the end
            tally.runs += 1
            final = start(args, data, output_dir, work, f"run-{tally.runs:03d}-final")
            final.proc.wait()
            if final.proc.returncode != 0:
                tally.problems.append(f"final rerun exited {final.proc.returncode}: {final.log[-2000:]}")
        compare(output_dir, data, reference, tally)
    report(tally, time.monotonic() - began)
    bad = tally.rows_lost + tally.rows_duplicated + tally.rows_mismatched + tally.files_out_of_order
    return 1 if bad or tally.problems else 0


def report(tally: Tally, wall_s: float) -> None:
    print()
    by_signal = ", ".join(f"{name} {count}" for name, count in sorted(tally.kills.items()))
    print(f"kills: {sum(tally.kills.values())} ({by_signal})")
    for (name, code), count in sorted(tally.exits.items()):
        print(f"  {name}: exit {code} × {count}")
    print(f"kills during start-up (before annotating): {tally.landed_in_startup}")
    if tally.stop_s:
        stops = sorted(tally.stop_s)
        print(
            f"SIGTERM/SIGINT to exit: median {stops[len(stops) // 2]:.1f} s, max {stops[-1]:.1f} s "
            "(the batch in progress is finished first)"
        )
    print(f"rounds: {tally.rounds}, reruns after a kill: {tally.reruns}, soak wall time: {wall_s:.0f} s")
    print(f"rows compared: {tally.rows_compared}")
    print(f"rows lost: {tally.rows_lost}")
    print(f"rows duplicated: {tally.rows_duplicated}")
    print(f"rows mismatched: {tally.rows_mismatched}")
    print(f"files out of order: {tally.files_out_of_order}")
    print(f"problems: {len(tally.problems)}")
    for problem in tally.problems:
        print(f"  - {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="kills in all [10]")
    parser.add_argument("--shards", type=int, default=6, help="input Parquet files [6]")
    parser.add_argument("--rows", type=int, default=200, help="rows per shard [200]")
    parser.add_argument("--task", default="all", help="task to run [all]")
    parser.add_argument("--batch-size", type=int, default=64, help="batch_size [64]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill schedule [0]")
    parser.add_argument("--workdir", help="where the corpus, outputs and run logs go [a new temp dir]")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    main()
