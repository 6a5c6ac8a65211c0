"""Where a fast decoder's time goes: wall time per graph (role) vs the Python around it.

    .venv/bin/python bench/profile_decoder.py spucontext_pos spucontext_ner --batch-size 256

Runs one Zipf-corpus cell (256 sentences, seed 1000, caches cleared) per model, plus a cProfile of it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads as W


def profile(setup, name: str, batches) -> dict:
    stats = defaultdict(lambda: [0, 0.0, 0])  # role -> calls, seconds, rows
    graphs = setup.model(name, "fast").graphs
    originals = {}
    for role, graph in graphs.items():
        originals[role] = graph.run_all

        def timed(inputs, _run=graph.run_all, _role=role):
            t = time.perf_counter()
            out = _run(inputs)
            s = stats[_role]
            s[0] += 1
            s[1] += time.perf_counter() - t
            s[2] += len(inputs[0])
            return out

        graph.run_all = timed
    try:
        timing = W.time_batches(setup.models([name], "fast"), name, batches)
    finally:
        for role, graph in graphs.items():
            graph.run_all = originals[role]
    roles = {}
    for role, (calls, seconds, rows) in stats.items():
        entry = {
            "calls": calls,
            "seconds": round(seconds, 3),
            "share": round(seconds / timing.seconds, 3),
            "rows": rows,
        }
        roles[role] = entry
    graph_s = sum(v[1] for v in stats.values())
    return {
        "model": name,
        "tokens": timing.tokens,
        "seconds": round(timing.seconds, 3),
        "tokens_per_s": round(timing.tokens / timing.seconds, 1),
        "graphs": roles,
        "outside_graphs_s": round(timing.seconds - graph_s, 3),
        "outside_share": round(1 - graph_s / timing.seconds, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    import zipf_corpus
    from vnlp.tokenizer import TreebankWordTokenize

    from vnlp_batch.config.schema import default_cache_dir
    from vnlp_batch.corpus.sample import read_sample_sentences

    setup = W.Setup.load(Path(default_cache_dir()), read_sample_sentences())
    corpus = zipf_corpus.ZipfCorpus(zipf_corpus.build_vocabulary(100_000, seed=0))
    texts = corpus.sentences(args.sentences, seed=1000)
    tokens = [TreebankWordTokenize(t) for t in texts]
    for name in args.models:
        batches = W.loader_batches(texts, tokens, args.batch_size)
        W.add_upstream(setup, batches, name)
        result = profile(setup, name, batches)
        print(
            f"\n{name}: {result['tokens']} tokens in {result['seconds']} s = {result['tokens_per_s']} tok/s; "
            f"outside graph calls {result['outside_graphs_s']} s ({100 * result['outside_share']:.0f} %)"
        )
        for role, e in result["graphs"].items():
            print(
                f"  {role:16s} {e['calls']:4d} calls {e['rows']:8d} rows {e['seconds']:7.3f} s "
                f"({100 * e['share']:.0f} %)"
            )
        if args.cprofile:
            prof = cProfile.Profile()
            prof.enable()
            W.time_batches(setup.models([name], "fast"), name, batches)
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(8)
            print(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
