"""End to end: `python -m vnlp_batch stage=infer …` on a Parquet file, against the decoders alone.

`bench/run.py` calls `run_cli` and `decoders_only`. Run on its own, this file measures one task
(default task=pos at batch size 256 on the bundled sample corpus): the CLI's `metrics.json`
throughput and stages, the decoders alone on the same sentences cut into the same batches as the
loader cuts them, and the tokenizer alone (VNLP's `TreebankWordTokenize` against the exact cached
equivalent the loader uses), each the median of `--repeats` runs in this process:

    VNLP_BATCH_CACHE=/tmp/tcache4 .venv/bin/python bench/end_to_end.py --task pos --batch-size 256
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
from collections.abc import Callable, Sequence
from pathlib import Path

TASKS = ("pos", "all")


def task_models(task: str):
    """The Plan and the models the CLI itself chooses for `task=<task>` (model=auto)."""
    from vnlp_batch.models.planning import models_for, plan_for

    return plan_for(task, "auto"), {spec.name for spec in models_for(task, "auto")}


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


def run_cli(task: str, parquet: Path, batch_size: int, cache_dir: Path, timeout_s: float = 1800) -> dict:
    """One CLI run in a fresh directory; its metrics.json (wall time starts after the models are loaded)."""
    with tempfile.TemporaryDirectory(prefix="vnlp_bench_e2e_") as tmp:
        workdir = Path(tmp)
        cmd = cli_command(task, parquet, batch_size, workdir)
        env = dict(os.environ, VNLP_BATCH_CACHE=str(cache_dir))
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
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

    from vnlp_batch.inference.annotate import Annotator

    plan, names = task_models(task)
    annotator = Annotator(plan, setup.models(names, "fast"))
    annotator.warm_up()  # as the CLI does before its clock starts
    batches = workloads.loader_batches(texts, tokens, batch_size)  # as the loader cuts them
    workloads.clear_caches()
    start = time.perf_counter()
    for batch in batches:
        annotator.annotate(batch.texts, batch.tokens)
    seconds = time.perf_counter() - start
    n_tokens = sum(b.n_tokens for b in batches)
    return {"tokens": n_tokens, "seconds": round(seconds, 3), "tokens_per_s": n_tokens / seconds}


def tokenizer_throughput(texts: Sequence[str], repeats: int) -> dict:
    """Tokens/s of VNLP's TreebankWordTokenize and of `featurize.treebank` on `texts`, median of
    `repeats` interleaved runs; ours starts each run with an empty word cache."""
    from vnlp_batch.featurize import treebank
    from vnlp_batch.vnlp_env import vnlp_module

    theirs: Callable[[str], list[str]] = vnlp_module("tokenizer").TreebankWordTokenize
    expected = [theirs(t) for t in texts]
    n_tokens = sum(len(t) for t in expected)

    def timed(fn: Callable[[str], list[str]], clear: bool) -> float:
        if clear:
            treebank.cache_clear()
        start = time.perf_counter()
        for text in texts:
            fn(text)
        return n_tokens / (time.perf_counter() - start)

    runs: dict[str, list[float]] = {"vnlp": [], "ours_cold": [], "ours_warm": []}
    for _ in range(repeats):
        runs["vnlp"].append(timed(theirs, clear=False))
        runs["ours_cold"].append(timed(treebank.treebank_word_tokenize, clear=True))
        runs["ours_warm"].append(timed(treebank.treebank_word_tokenize, clear=False))
    if [treebank.treebank_word_tokenize(t) for t in texts] != expected:
        raise AssertionError("featurize.treebank disagrees with VNLP on the benchmark corpus")
    medians = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "sentences": len(texts),
        "tokens": n_tokens,
        "runs": runs,
        "median_tokens_per_s": medians,
        "ratio_cold": medians["ours_cold"] / medians["vnlp"],
        "ratio_warm": medians["ours_warm"] / medians["vnlp"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=TASKS, default="pos")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cache-dir", type=Path, help="export cache (default $VNLP_BATCH_CACHE or ~/.cache/vnlp_batch)"
    )
    parser.add_argument("--zipf-sentences", type=int, default=10_000, help="tokenizer table, Zipf corpus")
    parser.add_argument("--tokenizer-only", action="store_true", help="only the tokenizer table")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import zipf_corpus

    from vnlp_batch.config.schema import default_cache_dir
    from vnlp_batch.corpus.sample import SAMPLE_PARQUET, read_sample_sentences
    from vnlp_batch.featurize.treebank import treebank_word_tokenize

    cache_dir = args.cache_dir or Path(default_cache_dir())
    texts = read_sample_sentences()
    zipf = zipf_corpus.ZipfCorpus(zipf_corpus.build_vocabulary(100_000)).sentences(args.zipf_sentences, 0)
    out: dict = {"command": " ".join(["python", "bench/end_to_end.py", *(argv or sys.argv[1:])])}
    out["tokenizer"] = {
        "sample": tokenizer_throughput(texts, args.repeats),
        "zipf": tokenizer_throughput(zipf, args.repeats),
    }
    print(f"tokenizer (tokens/s, median of {args.repeats}; ours cold = empty word cache each run)")
    print("| corpus | tokens | VNLP | ours cold | ours warm | cold / VNLP | warm / VNLP |")
    print("|---|---|---|---|---|---|---|")
    for name, t in out["tokenizer"].items():
        m = t["median_tokens_per_s"]
        print(
            f"| {name} | {t['tokens']:,} | {m['vnlp']:,.0f} | {m['ours_cold']:,.0f} | "
            f"{m['ours_warm']:,.0f} | {t['ratio_cold']:.1f}× | {t['ratio_warm']:.1f}× |"
        )

    if not args.tokenizer_only:
        import workloads

        tokens = [treebank_word_tokenize(t) for t in texts]
        cli = [run_cli(args.task, SAMPLE_PARQUET, args.batch_size, cache_dir) for _ in range(args.repeats)]
        setup = workloads.Setup.load(cache_dir, texts)
        dec = []
        for _ in range(args.repeats):  # fresh sessions each time, as each CLI run has
            dec.append(decoders_only(setup, args.task, texts, tokens, args.batch_size))
            setup.release()
        cli_tps = statistics.median(c["metrics"]["tokens_per_s"] for c in cli)
        dec_tps = statistics.median(d["tokens_per_s"] for d in dec)
        out["end_to_end"] = {"cli": cli, "decoders_only": dec, "ratio": cli_tps / dec_tps}
        print(f"\nend to end, task={args.task}, batch_size={args.batch_size}, sample corpus Parquet")
        print(f"command: {cli[0]['command']}")
        print("| run | CLI tok/s | decoders only tok/s | CLI stages (s) |")
        print("|---|---|---|---|")
        for i, (c, d) in enumerate(zip(cli, dec, strict=True)):
            stages = ", ".join(f"{k} {v:.2f}" for k, v in c["metrics"]["stages"].items())
            print(f"| {i + 1} | {c['metrics']['tokens_per_s']:,.0f} | {d['tokens_per_s']:,.0f} | {stages} |")
        print(
            f"| median | {cli_tps:,.0f} | {dec_tps:,.0f} | CLI / decoders = {100 * cli_tps / dec_tps:.0f} % |"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
