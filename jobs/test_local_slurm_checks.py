"""The Python half of jobs/test_local_slurm.sh: writes the test corpus and checks what the jobs wrote.

    python jobs/test_local_slurm_checks.py shard DIR NAME ROWS OFFSET
    python jobs/test_local_slurm_checks.py outputs INPUT_DIR OUTPUT_DIR
    python jobs/test_local_slurm_checks.py same OUTPUT_DIR REFERENCE_DIR [NAME ...]
    python jobs/test_local_slurm_checks.py sweep SWEEP_DIR JOBS INPUT_DIR REFERENCE_DIR

Each check prints one `ok ...` line per thing it checked to stderr, or exits 1 naming what failed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# The test runs task=pos: what the stage adds to the input columns.
ADDED = ("tokens", "pos", "vnlp_status")


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def ok(message: str) -> None:
    print(f"ok {message}", file=sys.stderr)


def shard(directory: str, name: str, rows: str, offset: str) -> None:
    """ROWS rows of the bundled sample from row OFFSET on (wrapping around), ids OFFSET.., written
    under a dot name and renamed, as a producer should drop shards into a watched directory."""
    import pandas as pd

    from vnlp_batch.corpus.sample import SAMPLE_PARQUET

    sample = pd.read_parquet(SAMPLE_PARQUET)
    n, start = int(rows), int(offset)
    picked = sample.iloc[[(start + i) % len(sample) for i in range(n)]].reset_index(drop=True)
    picked["id"] = range(start, start + n)
    final = Path(directory) / name
    hidden = final.with_name(f".{name}")
    picked.to_parquet(hidden, index=False)
    os.replace(hidden, final)
    ok(f"shard {final}: {n} rows from sample row {start}")


def outputs(input_dir: str, output_dir: str) -> None:
    """Every shard has an output with all its rows in input order, annotated; the manifest knows every
    shard by its own path (not by the link an array task read it through)."""
    shards = sorted(Path(input_dir).glob("*.parquet"))
    if not shards:
        fail(f"no shard in {input_dir}")
    for path in shards:
        out = Path(output_dir) / path.name
        if not out.is_file():
            fail(f"no output for {path.name} in {output_dir}")
        source, annotated = pq.read_table(path), pq.read_table(out)
        if annotated.num_rows != source.num_rows:
            fail(f"{out}: {annotated.num_rows} rows, its input has {source.num_rows}")
        for column in source.column_names:
            if not annotated.column(column).equals(source.column(column)):
                fail(f"{out}: input column {column!r} differs from the input (rows lost or reordered)")
        status = annotated.column("vnlp_status").to_pylist()
        if not all(s == "ok" or s == "empty" for s in status):
            fail(f"{out}: statuses {sorted(set(status))}")
        pos, tokens = annotated.column("pos").to_pylist(), annotated.column("tokens").to_pylist()
        if any(len(p) != len(t) for p, t in zip(pos, tokens, strict=True)) or not any(pos):
            fail(f"{out}: pos and tokens do not match")
        ok(f"{out.name}: {annotated.num_rows} rows in input order, statuses {sorted(set(status))}")
    manifest = json.loads((Path(output_dir) / "manifest.json").read_text())
    expected = {os.path.realpath(p) for p in shards}
    if set(manifest["files"]) != expected:
        fail(f"manifest keys {sorted(manifest['files'])}, expected the shards {sorted(expected)}")
    ok(f"manifest: {len(expected)} shards, each under its own path")


def annotations(path: Path) -> pa.Table:
    """The file's rows without its key-value metadata (which names the run: config, paths)."""
    return pq.read_table(path).replace_schema_metadata(None)


def same(output_dir: str, reference_dir: str, *names: str) -> None:
    """The outputs equal a plain local run's: every column (input columns, tokens, pos, status), row
    order included."""
    names = names or tuple(sorted(p.name for p in Path(reference_dir).glob("*.parquet")))
    if not names:
        fail(f"no reference output in {reference_dir}")
    for name in names:
        got, want = annotations(Path(output_dir) / name), annotations(Path(reference_dir) / name)
        if got.schema != want.schema:
            fail(f"{output_dir}/{name}: schema {got.schema} differs from the local run's {want.schema}")
        for column in want.column_names:
            if not got.column(column).equals(want.column(column)):
                fail(f"{output_dir}/{name}: column {column!r} differs from the local run's output")
        if not all(c in want.column_names for c in ADDED):
            fail(f"{reference_dir}/{name}: no {ADDED} columns")
        columns = ", ".join(want.column_names)
        ok(f"{name}: identical to the local run ({want.num_rows} rows, columns {columns})")


def sweep(sweep_dir: str, jobs: str, input_dir: str, reference_dir: str) -> None:
    """The sweep summary lists every job with status ok and all input rows; each job's outputs equal
    the local run's."""
    table = Path(sweep_dir) / "sweep.csv"
    if not table.is_file() or not (Path(sweep_dir) / "sweep.md").is_file():
        fail(f"no sweep.csv/sweep.md in {sweep_dir}")
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f))
    total = sum(pq.read_metadata(p).num_rows for p in Path(input_dir).glob("*.parquet"))
    if len(rows) != int(jobs):
        fail(f"{table}: {len(rows)} jobs, expected {jobs}")
    for row in rows:
        job, status, done = row["job"], row["status"], row["rows"]
        if status != "ok" or int(done or 0) != total:
            fail(f"{table}: job {job} has status {status!r} and {done!r} rows, expected ok and {total}")
        ok(f"sweep job {job} ({row['overrides']}): status ok, {done} rows, {row['tokens_per_s']} tokens/s")
        names = sorted(p.name for p in Path(input_dir).glob("*.parquet"))
        same(str(Path(sweep_dir) / row["job"] / "annotated"), reference_dir, *names)


if __name__ == "__main__":
    commands = {"shard": shard, "outputs": outputs, "same": same, "sweep": sweep}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        fail(f"usage: {sys.argv[0]} {{{','.join(commands)}}} ARGS...")
    commands[sys.argv[1]](*sys.argv[2:])
