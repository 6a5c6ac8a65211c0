#!/usr/bin/env bash
# End-to-end check of jobs/ and of the hydra/launcher=slurm preset on a real single-node Slurm started
# on this machine. .ci/run runs it on every commit, after `make test`.
#
# Needs root on Debian bookworm (jobs/local-slurm/start-local-slurm.sh installs munge, slurmctld,
# slurmd, slurm-client, slurmdbd and mariadb from Debian's packages when missing) and the project's
# .venv. Synthetic weights, task=pos, CPU, shards of 20 rows cut from the bundled sample. In order:
#   1. chain: jobs/submit.sh's export job, then the array (--dependency=afterok): every job COMPLETED,
#      no task started before the export ended, every shard annotated by exactly one task, outputs
#      complete and in input order. With EXPECT_CACHED_EXPORT=1 (.ci/run) the export job must log
#      `reusing cached export`.
#   2. rerun: nothing annotated again, no output rewritten.
#   3. incremental (a nightly run): one shard added that sorts between two done ones, one at the end,
#      one rewritten; resubmitted with another NUM_TASKS: exactly those three annotated, the others
#      skipped and untouched.
#   4. scancel: a big shard added, its array task cancelled mid-shard (no output under its name),
#      resubmitted: complete output, no temporary left.
#   5. afterok: an export job that fails drops the array; no task runs.
#   6. every output identical (all columns, row order) to a plain local `stage=infer` run of the same
#      configuration over the same shards.
#   7. hydra/launcher=slurm: a 2-job -m sweep (batch_size=16,32) through hydra-submitit-launcher, with
#      resources that fit the 2-CPU test node: sweep.csv lists both jobs with status ok and all rows,
#      and each job's outputs equal the local run's.
# About 3 minutes on a 2-core machine with the export cached.
#
# Environment: TEST_DIR [a new /tmp/vnlp-slurm-test.XXXXXX]  ROWS per small shard [20]
#   BIG_ROWS rows of the shard cancelled mid-way [2000]  TIMEOUT_S per wait [600]
#   VNLP_BATCH_CACHE [$TEST_DIR/cache]  EXPECT_CACHED_EXPORT [0]
#   KEEP_SLURM=1 leaves the daemons running if this script started them (default: stop them)
#   SLURM_CI_ACCOUNTING [1] and the other knobs of start-local-slurm.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
TEST_DIR=${TEST_DIR:-$(mktemp -d /tmp/vnlp-slurm-test.XXXXXX)}
ROWS=${ROWS:-20}
BIG_ROWS=${BIG_ROWS:-2000}
TIMEOUT_S=${TIMEOUT_S:-600}
CHECKS="$HERE/test_local_slurm_checks.py"
say() { echo "[test_local_slurm $(date +%T)] $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
check() { "$PYTHON" "$CHECKS" "$@" || fail "check '$1' failed (above)"; }

[ -x "$PYTHON" ] || fail "no $PYTHON; run \`make install\` first"
[ "$(id -u)" = 0 ] || fail "run as root: the local Slurm is started and run as root"
mkdir -p "$TEST_DIR"
TEST_DIR=$(cd "$TEST_DIR" && pwd)

# ---------- a real single-node Slurm ----------
was_up=0
if command -v sinfo >/dev/null && sinfo -h -o %t 2>/dev/null | grep -Eq "idle|mix|alloc"; then was_up=1; fi
if [ "$was_up" = 0 ] && [ "${KEEP_SLURM:-0}" != 1 ]; then
  trap '"$HERE/local-slurm/stop-local-slurm.sh" >&2 || true' EXIT   # we start it, we stop it
fi
"$HERE/local-slurm/start-local-slurm.sh" || fail "the local Slurm did not start (jobs/local-slurm/start-local-slurm.sh)"
partition=$(sinfo -h -o %P | head -n 1)
partition=${partition%\*}   # the default partition is listed with a star

# ---------- the corpus and the jobs' settings ----------
export INPUT_DIR="$TEST_DIR/shards" OUTPUT_DIR="$TEST_DIR/annotated" WORK_DIR="$TEST_DIR/jobs"
mkdir -p "$INPUT_DIR"
# Gaps in the numbering: shards added later sort between these.
check shard "$INPUT_DIR" part-00000.parquet "$ROWS" 0
check shard "$INPUT_DIR" part-00002.parquet "$ROWS" "$ROWS"
check shard "$INPUT_DIR" part-00004.parquet "$ROWS" $((2 * ROWS))

export VNLP_BATCH_CACHE=${VNLP_BATCH_CACHE:-$TEST_DIR/cache}
export TASK=pos WEIGHTS=synthetic RUNTIME=cpu BATCH_SIZE=16
export CPUS_PER_TASK=1 MEM=2G EXPORT_SBATCH_ARGS="--cpus-per-task=1 --mem=3G"  # a 2-CPU test node

# ---------- helpers ----------
EXPORT_JOB="" ARRAY_JOB=""
submit() { # submit [NUM_TASKS]: jobs/submit.sh; sets EXPORT_JOB and ARRAY_JOB
  local ids
  ids=$(NUM_TASKS=$1 "$REPO/jobs/submit.sh") || fail "jobs/submit.sh failed"
  EXPORT_JOB=$(sed -n 's/^export_job=//p' <<<"$ids")
  ARRAY_JOB=$(sed -n 's/^annotate_job=//p' <<<"$ids")
  if [ -z "$EXPORT_JOB" ] || [ -z "$ARRAY_JOB" ]; then fail "jobs/submit.sh printed no job ids: $ids"; fi
  say "submitted export $EXPORT_JOB, then array $ARRAY_JOB ($1 tasks)"
}
wait_jobs() { # wait_jobs JOB...: until Slurm no longer lists them and accounting has their end
  local deadline=$((SECONDS + TIMEOUT_S)) ids
  ids=$(IFS=,; echo "$*")
  while squeue -h -j "$ids" -o %i 2>/dev/null | grep -q . \
    || sacct -X -n -P -j "$ids" -o State | grep -Eq "^(PENDING|RUNNING|REQUEUED|COMPLETING)"; do
    (( SECONDS < deadline )) || { scancel "$@" || true; fail "jobs $ids still queued after ${TIMEOUT_S}s"; }
    sleep 1
  done
}
states() { # states JOB...: "<jobid> <state>" per job and array task, from accounting
  local ids
  ids=$(IFS=,; echo "$*")
  sacct -X -n -P -j "$ids" -o JobID,State | tr '|' ' '
}
all_completed() { # all_completed JOB...
  local bad
  bad=$(states "$@" | awk '$2 != "COMPLETED"')
  if [ -n "$bad" ]; then
    tail -n 40 "$WORK_DIR"/logs/*.out >&2 || true
    fail "not every job COMPLETED: $bad"
  fi
  say "ok every job COMPLETED: $(states "$@" | tr '\n' ' ')"
}
array_log() { cat "$WORK_DIR"/logs/annotate-"$ARRAY_JOB"_*.out; }
written() { # the shard names the current array annotated, one line each, as often as annotated
  array_log | sed -n "s|.* → $OUTPUT_DIR/\([^ ]*\) (.*|\1|p" | sort
}
skipped() { array_log | grep -c "already annotated with this configuration" || true; }
stamps() { stat -c '%n %Y %s' "$OUTPUT_DIR"/*.parquet; }
oneline() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }
expect_written() { # expect_written NAME...: exactly these shards were annotated, each once
  local want got
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  got=$(written)
  [ "$got" = "$want" ] || fail "array $ARRAY_JOB annotated [$(oneline "$got")], expected [$(oneline "$want")]"
  if [ -n "$want" ]; then say "ok array $ARRAY_JOB annotated exactly [$(oneline "$want")], each once"
  else say "ok array $ARRAY_JOB annotated nothing"; fi
}
each_listed_once() { # every shard of the list was given to exactly one task of the array
  local listed
  listed=$(array_log | sed -n 's/^  \(part-[0-9]*\.parquet\)$/\1/p' | sort)
  [ "$listed" = "$(cd "$INPUT_DIR" && printf '%s\n' *.parquet | sort)" ] \
    || fail "the tasks of $ARRAY_JOB took [$(oneline "$listed")], expected each shard once"
  say "ok each shard went to exactly one task"
}

# ---------- 1. the chain ----------
say "1. chain: export job, then the array"
submit 2
wait_jobs "$EXPORT_JOB" "$ARRAY_JOB"
all_completed "$EXPORT_JOB" "$ARRAY_JOB"
export_end=$(sacct -X -n -P -j "$EXPORT_JOB" -o End)
first_start=$(sacct -X -n -P -j "$ARRAY_JOB" -o Start | sort | head -n 1)
[[ "$first_start" > "$export_end" || "$first_start" == "$export_end" ]] \
  || fail "array task started at $first_start, before the export ended at $export_end"
say "ok export ended $export_end; the first array task started $first_start"
if [ "${EXPECT_CACHED_EXPORT:-0}" = 1 ]; then
  grep -q "reusing cached export" "$WORK_DIR/logs/export-$EXPORT_JOB.out" \
    || fail "the export job did not reuse the cached export in $VNLP_BATCH_CACHE (log: $WORK_DIR/logs/export-$EXPORT_JOB.out)"
  say "ok the export job logged: $(grep -o 'spucontext_pos: reusing cached export.*' "$WORK_DIR/logs/export-$EXPORT_JOB.out" | head -n 1)"
fi
each_listed_once
expect_written part-00000.parquet part-00002.parquet part-00004.parquet
check outputs "$INPUT_DIR" "$OUTPUT_DIR"
say "PASS chain"

# ---------- 2. rerun ----------
say "2. rerun: nothing to redo"
before=$(stamps)
submit 2
wait_jobs "$EXPORT_JOB" "$ARRAY_JOB"
all_completed "$EXPORT_JOB" "$ARRAY_JOB"
expect_written
[ "$(skipped)" = 3 ] || fail "the rerun skipped $(skipped) shards, expected 3"
[ "$before" = "$(stamps)" ] || fail "the rerun rewrote outputs"
say "PASS rerun: all 3 shards skipped, no output rewritten"

# ---------- 3. incremental ----------
say "3. incremental: shards added (one sorting in the middle) and one rewritten, another NUM_TASKS"
check shard "$INPUT_DIR" part-00001.parquet "$ROWS" $((3 * ROWS))
check shard "$INPUT_DIR" part-00005.parquet "$ROWS" $((4 * ROWS))
sleep 1   # a new mtime, even on filesystems with 1 s timestamps
check shard "$INPUT_DIR" part-00002.parquet $((ROWS + 5)) $((5 * ROWS))
untouched=$(stat -c '%n %Y %s' "$OUTPUT_DIR/part-00000.parquet" "$OUTPUT_DIR/part-00004.parquet")
submit 3
wait_jobs "$EXPORT_JOB" "$ARRAY_JOB"
all_completed "$EXPORT_JOB" "$ARRAY_JOB"
each_listed_once
expect_written part-00001.parquet part-00002.parquet part-00005.parquet
[ "$(skipped)" = 2 ] || fail "skipped $(skipped) shards, expected 2 (part-00000, part-00004)"
[ "$untouched" = "$(stat -c '%n %Y %s' "$OUTPUT_DIR/part-00000.parquet" "$OUTPUT_DIR/part-00004.parquet")" ] \
  || fail "outputs of unchanged shards were rewritten"
check outputs "$INPUT_DIR" "$OUTPUT_DIR"
say "PASS incremental: only the 2 new shards and the rewritten one annotated"

# ---------- 4. scancel mid-shard, then resubmit ----------
say "4. scancel: one array task cancelled in the middle of a $BIG_ROWS-row shard"
check shard "$INPUT_DIR" part-00003.parquet "$BIG_ROWS" 0
submit 2
deadline=$((SECONDS + TIMEOUT_S))
until compgen -G "$OUTPUT_DIR/.part-00003.parquet.*.tmp" >/dev/null; do
  (( SECONDS < deadline )) || { scancel "$EXPORT_JOB" "$ARRAY_JOB"; fail "part-00003 never started"; }
  squeue -h -j "$ARRAY_JOB" -o %i | grep -q . || { array_log >&2; fail "the array ended before part-00003 was being written"; }
  sleep 0.2
done
task=$(grep -l "^  part-00003.parquet$" "$WORK_DIR"/logs/annotate-"$ARRAY_JOB"_*.out | sed 's/.*_\([0-9]*\)\.out$/\1/')
[ -n "$task" ] || fail "no task of $ARRAY_JOB lists part-00003"
scancel "${ARRAY_JOB}_$task"
say "cancelled task ${ARRAY_JOB}_$task while $(basename "$(compgen -G "$OUTPUT_DIR/.part-00003.parquet.*.tmp" | head -n 1)") was being written"
wait_jobs "$ARRAY_JOB"
state=$(states "$ARRAY_JOB" | awk -v id="${ARRAY_JOB}_$task" '$1 == id {print $2}')
[[ "$state" == CANCELLED* ]] || fail "task ${ARRAY_JOB}_$task ended $state, expected CANCELLED (too late: raise BIG_ROWS)"
[ ! -e "$OUTPUT_DIR/part-00003.parquet" ] || fail "the cancelled task left part-00003.parquet under its final name"
left=$(cd "$OUTPUT_DIR" && compgen -G ".part-00003.parquet.*.tmp" || echo "no temporary")
say "ok task ${ARRAY_JOB}_$task $state, no part-00003.parquet; left behind: $left"
submit 2
wait_jobs "$EXPORT_JOB" "$ARRAY_JOB"
all_completed "$EXPORT_JOB" "$ARRAY_JOB"
expect_written part-00003.parquet
! compgen -G "$OUTPUT_DIR/.*.tmp" >/dev/null || fail "temporaries left in $OUTPUT_DIR: $(compgen -G "$OUTPUT_DIR/.*.tmp")"
check outputs "$INPUT_DIR" "$OUTPUT_DIR"
say "PASS scancel: the resubmitted run finished part-00003, no temporary left"

# ---------- 5. a failed export drops the array ----------
say "5. afterok: a failing export job (bad config) must drop the array"
EXTRA_ARGS="export.opset=9" submit 2
wait_jobs "$EXPORT_JOB" "$ARRAY_JOB"
export_state=$(states "$EXPORT_JOB" | awk '{print $2}')
[ "$export_state" = FAILED ] || fail "the export job ended $export_state, expected FAILED"
# A task that started would have a record of its own (<id>_<k>) and a log.
ran=$(states "$ARRAY_JOB" | awk '$2 != "CANCELLED" || $1 ~ /_[0-9]+$/')
[ -z "$ran" ] || fail "array tasks ran after a failed export: $ran"
! compgen -G "$WORK_DIR/logs/annotate-${ARRAY_JOB}_*.out" >/dev/null || fail "array $ARRAY_JOB wrote logs"
say "PASS afterok: export FAILED, array cancelled without running: $(oneline "$(states "$ARRAY_JOB")")"

# ---------- 6. identical to a plain local run ----------
say "6. the same configuration run locally, outside Slurm, over the same shards"
"$PYTHON" -m vnlp_batch stage=infer task=pos weights=synthetic runtime=cpu batch_size=16 \
  runtime.intra_op_threads=1 data="$INPUT_DIR" data.output_dir="$TEST_DIR/reference" \
  hydra.run.dir="$TEST_DIR/runs/reference" >"$TEST_DIR/reference.log" 2>&1 \
  || { tail -n 30 "$TEST_DIR/reference.log" >&2; fail "the local reference run failed (log: $TEST_DIR/reference.log)"; }
check same "$OUTPUT_DIR" "$TEST_DIR/reference"
say "PASS every cluster output is identical to the local run's"

# ---------- 7. Hydra's submitit launcher ----------
say "7. hydra/launcher=slurm: a 2-job sweep through submitit"
sweep_input="$TEST_DIR/sweep-shards"
mkdir -p "$sweep_input"
cp "$INPUT_DIR/part-00000.parquet" "$INPUT_DIR/part-00001.parquet" "$sweep_input/"
# From the repository: the preset's setup lines activate <working dir>/.venv in each job.
(cd "$REPO" && timeout "$TIMEOUT_S" "$PYTHON" -m vnlp_batch -m hydra/launcher=slurm \
  task=pos weights=synthetic runtime=cpu runtime.intra_op_threads=1 data="$sweep_input" batch_size=16,32 \
  hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=2 hydra.launcher.timeout_min=15 \
  hydra.launcher.partition="$partition" hydra.sweep.dir="$TEST_DIR/sweep") >"$TEST_DIR/sweep.log" 2>&1 \
  || { tail -n 40 "$TEST_DIR/sweep.log" >&2; fail "the submitit sweep failed (log: $TEST_DIR/sweep.log)"; }
check sweep "$TEST_DIR/sweep" 2 "$sweep_input" "$TEST_DIR/reference"
say "PASS submitit sweep: $(grep -c '' "$TEST_DIR/sweep/sweep.csv") lines in sweep.csv (header + 2 jobs)"

say "PASS all: chain, rerun, incremental, scancel, afterok, identical to local, submitit sweep (in $TEST_DIR)"
