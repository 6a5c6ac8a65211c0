#!/usr/bin/env bash
# Submit a scheduled run over a sharded corpus: the export job, then the annotation array, which
# starts only if the export succeeded (--dependency=afterok) and is dropped if it failed.
#
#   INPUT_DIR=/data/corpus OUTPUT_DIR=/data/annotated jobs/submit.sh
#   TASK=pos WEIGHTS=synthetic RUNTIME=cpu NUM_TASKS=4 INPUT_DIR=... OUTPUT_DIR=... jobs/submit.sh
#
# Prints `export_job=<id>` and `annotate_job=<id>`. Running it again is safe: the export is reused
# from the cache and finished, unchanged shards are skipped, so a nightly run (cron or scrontab, see
# jobs/README.md) annotates only the shards that arrived or changed since the last one. NUM_TASKS may
# differ between runs.
#
# Environment (defaults in brackets), passed on to both jobs (sbatch --export=ALL):
#   INPUT_DIR, OUTPUT_DIR (required)  NUM_TASKS  array size [min(shards, 16)]
#   ARRAY_PARALLELISM  tasks running at once [NUM_TASKS]
#   TASK [all] WEIGHTS [vnlp] RUNTIME [default] BATCH_SIZE [256] ON_BAD_FILE [skip] EXTRA_ARGS []
#   VNLP_BATCH_CACHE  the export cache, on a filesystem every node sees [~/.cache/vnlp_batch]
#   WORK_DIR [${OUTPUT_DIR}_jobs]: logs/, runs/ (Hydra run dirs, metrics.json), shard-lists/, links/;
#            must not be inside OUTPUT_DIR (vnlp_batch ignores inputs below its output dir)
#   CPUS_PER_TASK, MEM (e.g. 16G), TIME (e.g. 24:00:00): the annotation tasks' resources
#   EXPORT_SBATCH_ARGS, ANNOTATE_SBATCH_ARGS: more sbatch options, e.g. "--gpus-per-node=1"
#   Partition/account/QOS: sbatch's own SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_QOS variables.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VNLP_BATCH_HOME=${VNLP_BATCH_HOME:-$(dirname "$HERE")}
: "${INPUT_DIR:?set INPUT_DIR to the directory holding the *.parquet shards}"
: "${OUTPUT_DIR:?set OUTPUT_DIR to the output directory (shared by all array tasks)}"
[ -d "$INPUT_DIR" ] || { echo "INPUT_DIR=$INPUT_DIR is not a directory" >&2; exit 2; }
mkdir -p "$OUTPUT_DIR"
# Absolute paths: the jobs start in another working directory, possibly on another node.
INPUT_DIR=$(cd "$INPUT_DIR" && pwd)
OUTPUT_DIR=$(cd "$OUTPUT_DIR" && pwd)
export INPUT_DIR OUTPUT_DIR
export WORK_DIR=${WORK_DIR:-${OUTPUT_DIR%/}_jobs}
mkdir -p "$WORK_DIR/logs"   # sbatch does not create the directory of --output
case "$(cd "$WORK_DIR" && pwd)/" in
  "$OUTPUT_DIR/"*) echo "WORK_DIR=$WORK_DIR must not be inside OUTPUT_DIR=$OUTPUT_DIR" >&2; exit 2 ;;
esac

# The shards are listed once, here, and every array task splits this list: a shard landing in
# INPUT_DIR while the array runs waits for the next run instead of shifting the tasks' subsets. Same
# rule as annotate_shards.sbatch uses without a list: byte order, no "." or "_" names.
mkdir -p "$WORK_DIR/shard-lists"
SHARD_LIST="$WORK_DIR/shard-lists/$(date +%Y%m%d-%H%M%S)-$$.txt"
find "$INPUT_DIR" -maxdepth 1 -name '*.parquet' ! -name '.*' ! -name '_*' \( -type f -o -type l \) \
  | LC_ALL=C sort >"$SHARD_LIST"
export SHARD_LIST
shards=$(wc -l <"$SHARD_LIST")
if (( shards == 0 )); then
  rm -f "$SHARD_LIST"
  echo "no *.parquet shard in $INPUT_DIR" >&2
  exit 2
fi
NUM_TASKS=${NUM_TASKS:-$(( shards < 16 ? shards : 16 ))}
if (( NUM_TASKS > shards )); then NUM_TASKS=$shards; fi   # more tasks than shards: idle jobs
export NUM_TASKS
ARRAY_PARALLELISM=${ARRAY_PARALLELISM:-$NUM_TASKS}

read -r -a export_args <<<"${EXPORT_SBATCH_ARGS:-}"
read -r -a annotate_args <<<"${ANNOTATE_SBATCH_ARGS:-}"
if [ -n "${CPUS_PER_TASK:-}" ]; then annotate_args+=("--cpus-per-task=$CPUS_PER_TASK"); fi
if [ -n "${MEM:-}" ]; then annotate_args+=("--mem=$MEM"); fi
if [ -n "${TIME:-}" ]; then annotate_args+=("--time=$TIME"); fi

# Each array job links its shards under links/<job id>/; drop those of jobs Slurm no longer lists
# (finished). Only when squeue answers: a failed squeue must not look like "no job is running".
if [ -d "$WORK_DIR/links" ] && active=$(squeue -h -o %F); then
  for dir in "$WORK_DIR"/links/*/; do
    [ -d "$dir" ] || continue
    grep -qx "$(basename "$dir")" <<<"$active" || rm -rf "$dir"
  done
fi

# --parsable prints "<id>" or "<id>;<cluster>".
export_job=$(sbatch --parsable --export=ALL \
  --output="$WORK_DIR/logs/export-%j.out" \
  ${export_args[@]+"${export_args[@]}"} \
  "$HERE/export_models.sbatch")
export_job=${export_job%%;*}

annotate_job=$(sbatch --parsable --export=ALL \
  --dependency="afterok:$export_job" --kill-on-invalid-dep=yes \
  --array="0-$((NUM_TASKS - 1))%$ARRAY_PARALLELISM" \
  --output="$WORK_DIR/logs/annotate-%A_%a.out" \
  ${annotate_args[@]+"${annotate_args[@]}"} \
  "$HERE/annotate_shards.sbatch")
annotate_job=${annotate_job%%;*}

echo "submitted: $shards shards in $INPUT_DIR (listed in $SHARD_LIST) -> $OUTPUT_DIR, $NUM_TASKS array tasks; logs in $WORK_DIR/logs" >&2
echo "export_job=$export_job"
echo "annotate_job=$annotate_job"
