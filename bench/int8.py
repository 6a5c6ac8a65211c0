"""int8 against fp32: every model's decoder on its `export=int8` graphs and on its fp32 graphs.

Each model is timed alone (bench/workloads.py) on the bundled sample corpus cut into loader-shaped
batches, with the decoder the CLI uses (fast where the model has fast graphs); upstream inputs
(stemmer analyses, TreeStack PoS) are computed first with fp32, so both precisions time the same
work. fp32 and int8 runs alternate; each figure is the median of `--repeats`:

    VNLP_BATCH_CACHE=/tmp/tcache .venv/bin/python bench/int8.py --repeats 7

Label agreement with fp32 on the same corpus is measured by tests/inference/test_int8.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as W


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--batch-size", type=int, default=64, help="sentences per decoder batch (CLI default)"
    )
    parser.add_argument("--models", nargs="*", default=list(W.MODEL_ORDER), choices=W.MODEL_ORDER)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    from vnlp_batch.config.schema import default_cache_dir
    from vnlp_batch.corpus.sample import read_sample_sentences
    from vnlp_batch.featurize.treebank import treebank_word_tokenize
    from vnlp_batch.models.declarations import MODELS

    cache_dir = Path(default_cache_dir())
    texts = read_sample_sentences()
    tokens = [treebank_word_tokenize(t) for t in texts]
    setups = {"fp32": W.Setup.load(cache_dir, texts), "int8": W.Setup.load(cache_dir, texts, "int8_dynamic")}
    command = " ".join(["python", "bench/int8.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"command: {command}")
    print(f"sample corpus, batch size {args.batch_size}, median of {args.repeats}, CPU\n")
    print("| model | decoder | tokens | fp32 s | int8 s | fp32 tok/s | int8 tok/s | int8 / fp32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    results = {}
    for name in args.models:
        decoder = "fast" if MODELS[name].component.fast_decoder is not None else "monolithic"
        batches = W.loader_batches(texts, tokens, args.batch_size)
        W.add_upstream(setups["fp32"], batches, name)
        seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
        models = {p: setup.models([name], decoder) for p, setup in setups.items()}
        for p in seconds:  # warm-up: padding-state tables, first session runs
            W.time_batches(models[p], name, batches[:1])
        for _ in range(args.repeats):
            for p in seconds:
                timing = W.time_batches(models[p], name, batches)
                seconds[p].append(timing.seconds)
        median = {p: statistics.median(v) for p, v in seconds.items()}
        n = timing.tokens
        results[name] = {"decoder": decoder, "tokens": n, "seconds": seconds, "median_s": median}
        fp32, int8 = median["fp32"], median["int8"]
        print(
            f"| {name} | {decoder} | {n:,} | {fp32:.3f} | {int8:.3f} | "
            f"{n / fp32:,.0f} | {n / int8:,.0f} | {fp32 / int8:.2f}× |",
            flush=True,
        )
        for setup in setups.values():
            setup.release()
    if args.json:
        args.json.write_text(json.dumps({"command": command, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
