"""Peak memory against corpus size: the same CLI run over a small and a 10× larger Zipf corpus.

Streaming means memory must not grow with the corpus: issue 4 asks that a `task=all` run over 200k
rows peaks within 15 % of the same run over 20k rows. Each size is one Parquet file of Zipf-corpus
sentences (bench/zipf_corpus.py), run through `python -m vnlp_batch stage=infer …` in a fresh
directory; peak RSS and throughput come from that run's `metrics.json`.

    VNLP_BATCH_CACHE=/tmp/tcache .venv/bin/python bench/memory.py --task pos --rows 20000 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zipf_corpus
from end_to_end import run_cli

LIMIT = 1.15  # larger run's peak RSS over the smaller run's


def write_corpus(path: Path, rows: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = zipf_corpus.ZipfCorpus(zipf_corpus.build_vocabulary(100_000, seed=0))
    writer = None
    for start in range(0, rows, 50_000):  # generated in slices: the generator itself stays small
        texts = corpus.sentences(min(50_000, rows - start), seed=seed + start)
        table = pa.table({"id": pa.array(range(start, start + len(texts)), pa.int64()), "text": texts})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=10_000)
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="all")
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cache-dir", default=os.environ.get("VNLP_BATCH_CACHE"))
    # task=all over 200k rows takes about two hours on a 2-core machine
    parser.add_argument("--timeout-h", type=float, default=6.0, help="per CLI run")
    args = parser.parse_args(argv)
    cache = Path(args.cache_dir or Path.home() / ".cache" / "vnlp_batch")
    runs = []
    with tempfile.TemporaryDirectory(prefix="vnlp_bench_mem_") as tmp:
        for rows in args.rows:
            parquet = Path(tmp) / f"zipf_{rows}.parquet"
            write_corpus(parquet, rows, seed=7)
            result = run_cli(args.task, parquet, args.batch_size, cache, timeout_s=args.timeout_h * 3600)
            m = result["metrics"]
            runs.append(
                {
                    "rows": rows,
                    "command": result["command"],
                    "peak_rss_mb": m["peak_rss_mb"],
                    "tokens": m.get("tokens"),
                    "tokens_per_s": m.get("tokens_per_s"),
                    "wall_s": m.get("wall_s"),
                }
            )
            print(
                f"task={args.task} rows={rows:>9,}: peak RSS {m['peak_rss_mb']:,.0f} MB, "
                f"{m.get('tokens_per_s')} tok/s, wall {m.get('wall_s')} s",
                flush=True,
            )
    base = runs[0]["peak_rss_mb"]
    for run in runs[1:]:
        ratio = run["peak_rss_mb"] / base
        verdict = "met" if ratio <= LIMIT else "MISSED"
        print(
            f"peak RSS {run['rows']:,} rows / {runs[0]['rows']:,} rows = {ratio:.3f} "
            f"(limit {LIMIT}): {verdict}"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out / f"memory-{args.task}-{stamp}.json").write_text(
        json.dumps({"task": args.task, "runs": runs}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
