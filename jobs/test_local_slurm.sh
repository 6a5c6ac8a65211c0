#!/usr/bin/env bash
# End-to-end check of jobs/ on a real single-node Slurm started on this machine.
#
# Needs root on Debian bookworm (jobs/local-slurm/start-local-slurm.sh installs munge, slurmctld,
# slurmd, slurm-client, slurmdbd and mariadb from Debian's packages when missing) and the project's
# .venv. It makes a 3-shard corpus from the bundled sample, submits jobs/submit.sh with synthetic
# weights on CPU (task=pos: seconds per shard), waits, and checks that every shard has an output with
# all its rows, in order, annotated. Then it submits again and checks that the rerun skipped every
# shard (resume manifest) without touching the outputs. About 2 minutes.
#
# Environment: TEST_DIR [a new /tmp/vnlp-slurm-test.XXXXXX]  ROWS per shard [20]  SHARDS [3]
#   NUM_TASKS [2: fewer tasks than shards, so one task takes two]  TIMEOUT_S per chain [900]
#   KEEP_SLURM=1 leaves the daemons running if this script started them (default: stop them)
#   SLURM_CI_ACCOUNTING [1] and the other knobs of start-local-slurm.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
TEST_DIR=${TEST_DIR:-$(mktemp -d /tmp/vnlp-slurm-test.XXXXXX)}
ROWS=${ROWS:-20}
SHARDS=${SHARDS:-3}
TIMEOUT_S=${TIMEOUT_S:-900}
say() { echo "[test_local_slurm $(date +%T)] $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ -x "$PYTHON" ] || fail "no $PYTHON; run \`make install\` first"

# ---------- 1. a real single-node Slurm ----------
was_up=0
if command -v sinfo >/dev/null && sinfo -h -o %t 2>/dev/null | grep -Eq "idle|mix|alloc"; then was_up=1; fi
"$HERE/local-slurm/start-local-slurm.sh"
if [ "$was_up" = 0 ] && [ "${KEEP_SLURM:-0}" != 1 ]; then
  trap '"$HERE/local-slurm/stop-local-slurm.sh" >&2 || true' EXIT   # we started it, we stop it
fi

# ---------- 2. a tiny sharded corpus ----------
export INPUT_DIR="$TEST_DIR/shards" OUTPUT_DIR="$TEST_DIR/annotated"
mkdir -p "$INPUT_DIR"
"$PYTHON" - "$INPUT_DIR" "$ROWS" "$SHARDS" <<'EOF'
import sys
from pathlib import Path

import pandas as pd

from vnlp_batch.corpus.sample import SAMPLE_PARQUET

out, rows, shards = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
df = pd.read_parquet(SAMPLE_PARQUET)
assert len(df) >= rows * shards, f"the sample has only {len(df)} rows"
for i in range(shards):
    df.iloc[i * rows : (i + 1) * rows].to_parquet(out / f"part-{i:05d}.parquet", index=False)
print(f"{shards} shards of {rows} rows in {out}", file=sys.stderr)
EOF

# ---------- 3. the chain: export, then the array ----------
export VNLP_BATCH_CACHE=${VNLP_BATCH_CACHE:-$TEST_DIR/cache}
export TASK=pos WEIGHTS=synthetic RUNTIME=cpu BATCH_SIZE=16 NUM_TASKS=${NUM_TASKS:-2}
export CPUS_PER_TASK=1 MEM=2G EXPORT_SBATCH_ARGS="--cpus-per-task=1 --mem=3G"  # a 2-CPU test node
export WORK_DIR="$TEST_DIR/jobs"

submit_and_wait() { # prints the annotation array's job id
  local ids export_job annotate_job deadline
  ids=$("$REPO/jobs/submit.sh")
  export_job=$(sed -n 's/^export_job=//p' <<<"$ids")
  annotate_job=$(sed -n 's/^annotate_job=//p' <<<"$ids")
  say "submitted export $export_job, annotation array $annotate_job"
  deadline=$((SECONDS + TIMEOUT_S))
  while squeue -h -j "$export_job,$annotate_job" -o %i 2>/dev/null | grep -q .; do
    (( SECONDS < deadline )) || { scancel "$export_job" "$annotate_job" || true; fail "jobs still queued after ${TIMEOUT_S}s"; }
    sleep 2
  done
  if command -v sacct >/dev/null && sacct -n >/dev/null 2>&1; then
    sacct -X -n -P -j "$export_job,$annotate_job" -o JobID,JobName,State,Elapsed >&2
    if sacct -X -n -P -j "$export_job,$annotate_job" -o State | grep -vqx COMPLETED; then
      tail -n 30 "$WORK_DIR"/logs/*.out >&2 || true
      fail "not every job COMPLETED"
    fi
  fi
  echo "$annotate_job"
}

check_outputs() {
  "$PYTHON" - "$INPUT_DIR" "$OUTPUT_DIR" <<'EOF'
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

inputs, outputs = Path(sys.argv[1]), Path(sys.argv[2])
shards = sorted(inputs.glob("*.parquet"))
for shard in shards:
    out = outputs / shard.name
    assert out.is_file(), f"no output for {shard.name}"
    src, ann = pq.read_table(shard), pq.read_table(out)
    assert ann.num_rows == src.num_rows, f"{out.name}: {ann.num_rows} rows, input has {src.num_rows}"
    assert ann.column("id").to_pylist() == src.column("id").to_pylist(), f"{out.name}: rows out of order"
    status = ann.column("vnlp_status").to_pylist()
    assert all(status), f"{out.name}: rows without status"
    pos = ann.column("pos").to_pylist()
    tokens = ann.column("tokens").to_pylist()
    assert all(len(p) == len(t) for p, t in zip(pos, tokens)), f"{out.name}: pos/tokens lengths differ"
    print(f"ok {out.name}: {ann.num_rows} rows, statuses {sorted(set(status))}", file=sys.stderr)
manifest = json.loads((outputs / "manifest.json").read_text())
assert len(manifest["files"]) == len(shards), f"manifest has {len(manifest['files'])} entries, expected {len(shards)}"
print(f"ok manifest: {len(manifest['files'])} files", file=sys.stderr)
EOF
}

say "first run"
first=$(submit_and_wait)
check_outputs
stamps_before=$(stat -c '%n %Y %s' "$OUTPUT_DIR"/*.parquet)

say "second run (must skip every shard)"
second=$(submit_and_wait)
check_outputs
[ "$stamps_before" = "$(stat -c '%n %Y %s' "$OUTPUT_DIR"/*.parquet)" ] || fail "the rerun rewrote outputs"
skipped=$(cat "$WORK_DIR"/logs/annotate-"${second}"_*.out | grep -c "already annotated with this configuration" || true)
[ "$skipped" = "$SHARDS" ] || fail "the rerun skipped $skipped shards, expected $SHARDS"
say "rerun skipped all $SHARDS shards; logs: $WORK_DIR/logs (first array $first, second $second)"
say "PASS"
