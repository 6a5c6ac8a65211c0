"""Where a fast decoder's time goes: wall time per graph (role) vs the Python around it, and for the
SPUContext models the arithmetic each graph executes (GFLOP/s actually achieved by onnxruntime).

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

import flops
import workloads as W

# MAC per row executed by each SPUContext fast graph (all 40 steps of every window run today).
SPU = {
    "spucontext_pos": dict(
        word=8 * flops.gru(128, 128),
        context=40 * 2 * flops.gru(128, 128),
        step=40 * flops.gru(128, 18) + 512 * 256 + 256 * 128 + 128 * 18,
    ),
    "spucontext_ner": dict(
        word=8 * (flops.gru(256, 128) + flops.gru(256, 256)),
        context=40 * 4 * flops.gru(256, 256),
        step=40 * (flops.gru(256, 5) + flops.gru(256, 256)) + 1024 * 512 + 512 * 256 + 256 * 5,
    ),
    "spucontext_dp": dict(
        word=8 * (flops.gru(256, 128) + flops.gru(256, 256)),
        context=40 * 4 * flops.gru(256, 256),
        step=40 * (flops.gru(256, 90) + flops.gru(256, 256)) + 1024 * 512 + 512 * 256 + 256 * 90,
    ),
}
ROLE_KEY = {"word_encoder": "word", "context": "context", "step": "step"}


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
        if name in SPU and role in ROLE_KEY:
            gflop = 2 * rows * SPU[name][ROLE_KEY[role]] / 1e9
            entry["executed_gflop"] = round(gflop, 2)
            entry["gflops"] = round(gflop / seconds, 1) if seconds else None
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
            extra = (
                f", executed {e['executed_gflop']} GFLOP at {e['gflops']} GFLOP/s" if "gflops" in e else ""
            )
            print(
                f"  {role:16s} {e['calls']:4d} calls {e['rows']:8d} rows {e['seconds']:7.3f} s "
                f"({100 * e['share']:.0f} %){extra}"
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
