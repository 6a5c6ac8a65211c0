"""vnlp-batch benchmark: VNLP's per-sentence predict, the monolithic decoders and the fast decoders,
side by side in one offline run.

    .venv/bin/python bench/run.py            # full: < 20 min on the project's 2-core machine
    .venv/bin/python bench/run.py --quick    # smoke: < 2 min

Prints the tables and writes bench/results/<UTC timestamp>.json and bench/results/latest.md
(latest-quick.md for --quick).
Weights are the synthetic ones (seed 0) and the exports come from the export cache
($VNLP_BATCH_CACHE, default ~/.cache/vnlp_batch), built there first if missing. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import machine
import numpy as np
import workloads as W

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
BATCH_SIZES = (16, 64, 256, 1024)


@dataclasses.dataclass
class Config:
    name: str
    repeats: int
    budget_s: float  # the whole run, wall clock; the adaptive phase stops adding repeats beyond it
    vocabulary: int
    zipf_s: float
    batch_sizes: tuple[int, ...]
    cell_min_sentences: int  # a fast cell at batch B runs max(B, this) sentences
    mono_tokens: dict  # batch size -> token budget of a monolithic cell (first k steps of B sentences)
    mono_stemmer_tokens: int
    sample_batch_size: int
    sample_sentences: int | None  # None: the whole sample corpus
    models: tuple[str, ...]
    vnlp_sentences: int
    vnlp_models: tuple[str, ...]
    end_to_end_tasks: tuple[str, ...]
    e2e_sentences: int | None  # None: also run the sample corpus end to end
    e2e_zipf_rows: dict  # task -> rows of the generated end-to-end corpus


FULL = Config(
    name="full",
    repeats=3,
    budget_s=18.5 * 60,
    vocabulary=100_000,
    zipf_s=1.1,
    batch_sizes=BATCH_SIZES,
    cell_min_sentences=64,
    mono_tokens={16: 128, 64: 128, 256: 256, 1024: 1024},
    mono_stemmer_tokens=256,
    sample_batch_size=256,
    sample_sentences=None,
    # Cheap models first: time a model's share leaves unused passes to the models after it.
    models=(
        "spucontext_pos",
        "sentiment",
        "charner",
        "stemmer",
        "treestack_pos",
        "spucontext_ner",
        "spucontext_dp",
        "treestack_dp",
    ),
    vnlp_sentences=10,
    vnlp_models=W.MODEL_ORDER,
    end_to_end_tasks=("pos", "all"),
    e2e_sentences=None,
    e2e_zipf_rows={"pos": 20_000, "all": 2_000},
)
QUICK = dataclasses.replace(
    FULL,
    name="quick",
    repeats=1,
    budget_s=110,
    vocabulary=50_000,
    batch_sizes=(16, 64),
    cell_min_sentences=16,
    mono_tokens={16: 16, 64: 64},
    mono_stemmer_tokens=16,
    sample_batch_size=64,
    sample_sentences=24,
    models=("spucontext_pos", "stemmer", "treestack_pos", "sentiment"),
    vnlp_sentences=2,
    vnlp_models=("spucontext_pos",),
    end_to_end_tasks=("pos",),
    e2e_sentences=24,
    e2e_zipf_rows={"pos": 500},
)


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.start = time.perf_counter()
        self.budget_s = budget_s

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def left(self) -> float:
        return self.budget_s - self.elapsed


def log(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --- corpora -----------------------------------------------------------------------------------


class Corpora:
    """Per repeat r: a fresh Zipf draw (seed 1000 + r) of 1024 sentences, tokenized; the sample corpus."""

    def __init__(self, cfg: Config, sample_texts: list[str]) -> None:
        import zipf_corpus
        from vnlp.tokenizer import TreebankWordTokenize

        self.tokenize = TreebankWordTokenize
        t = time.perf_counter()
        self.zipf = zipf_corpus.ZipfCorpus(zipf_corpus.build_vocabulary(cfg.vocabulary, seed=0), s=cfg.zipf_s)
        self.draw_size = max(max(cfg.batch_sizes), cfg.cell_min_sentences)
        self.draws = []
        for r in range(cfg.repeats):
            texts = self.zipf.sentences(self.draw_size, seed=1000 + r)
            self.draws.append((texts, [TreebankWordTokenize(x) for x in texts]))
        sample = sample_texts if cfg.sample_sentences is None else sample_texts[: cfg.sample_sentences]
        self.sample = (sample, [TreebankWordTokenize(x) for x in sample])
        self.seconds = time.perf_counter() - t

    def describe(self) -> dict:
        tokens = [w for _, toks in self.draws for s in toks for w in s]
        lengths = [len(s) for _, toks in self.draws for s in toks]
        sample_tokens = [w for s in self.sample[1] for w in s]
        return {
            "zipf": {
                "vocabulary": len(self.zipf.vocabulary),
                "law": f"P(rank r) ∝ (r + {self.zipf.q})^-{self.zipf.s}",
                "sentences_per_repeat": self.draw_size,
                "repeats": len(self.draws),
                "tokens": len(tokens),
                "distinct_tokens": len(set(tokens)),
                "sentence_tokens_min_mean_max": [
                    min(lengths),
                    round(float(np.mean(lengths)), 2),
                    max(lengths),
                ],
                "example": self.draws[0][0][:3],
            },
            "sample": {
                "sentences": len(self.sample[0]),
                "tokens": len(sample_tokens),
                "distinct_tokens": len(set(sample_tokens)),
            },
        }


class Upstream:
    """Stemmer analyses and TreeStack PoS per token list, computed once (fast decoders, untimed)."""

    def __init__(self, setup) -> None:
        self.setup = setup
        self.memo: dict[tuple, tuple] = {}

    def fill(self, name: str, batches: list) -> None:
        if name not in ("treestack_pos", "treestack_dp"):
            return
        missing = {}
        for b in batches:
            for text, toks in zip(b.texts, b.tokens, strict=True):
                key = tuple(toks)
                if key not in self.memo or (name == "treestack_dp" and self.memo[key][1] is None):
                    missing[key] = text
        if missing:
            keys = list(missing)
            pending = [
                W.Batch([missing[k] for k in keys[i : i + 256]], [list(k) for k in keys[i : i + 256]])
                for i in range(0, len(keys), 256)
            ]
            W.add_upstream(self.setup, pending, "treestack_dp" if name == "treestack_dp" else name)
            for p in pending:
                for k, a, pos in zip(p.tokens, p.analyses, p.pos or [None] * len(p.tokens), strict=True):
                    self.memo[tuple(k)] = (a, pos)
        for b in batches:
            b.analyses = [self.memo[tuple(t)][0] for t in b.tokens]
            b.pos = [self.memo[tuple(t)][1] for t in b.tokens]


# --- cells ---------------------------------------------------------------------------------------


def fast_batches(texts, tokens, batch_size: int, cfg: Config) -> list:
    n = max(batch_size, cfg.cell_min_sentences)
    return W.loader_batches(texts[:n], tokens[:n], batch_size)


def mono_batches(
    name: str, texts, tokens, batch_size: int, cfg: Config, seed: int, fast_cell
) -> tuple[list, str]:
    """A monolithic cell's batches and how they were cut."""
    if name in W.PER_TEXT:
        # CharNER and sentiment have no fast graphs: both paths run the same texts through one graph.
        return fast_cell, "same texts as the fast cell"
    if name == "stemmer":
        # One graph call per 256 token rows whatever the batch size: a fixed token budget.
        budget = cfg.mono_stemmer_tokens
        size = min(batch_size, budget)
        return [
            W.truncated_batch(texts, tokens, size, budget, seed)
        ], f"{size} sentences × first {-(-budget // size)} tokens"
    budget = cfg.mono_tokens[batch_size]
    k = max(1, -(-budget // batch_size))
    return [
        W.truncated_batch(texts, tokens, batch_size, budget, seed)
    ], f"{batch_size} sentences × first {k} steps"


@dataclasses.dataclass
class Cell:
    model: str
    path: str  # fast | monolithic
    corpus: str  # zipf | sample
    batch_size: int
    workload: str = ""
    seconds: list = dataclasses.field(default_factory=list)
    tokens: list = dataclasses.field(default_factory=list)
    sentences: list = dataclasses.field(default_factory=list)
    flops: list = dataclasses.field(default_factory=list)
    caches: list = dataclasses.field(default_factory=list)
    distinct_ratio: list = dataclasses.field(default_factory=list)
    max_batch: int = 0

    @property
    def tokens_per_s(self) -> float:
        return (
            statistics.median(t / s for t, s in zip(self.tokens, self.seconds, strict=True))
            if self.seconds
            else float("nan")
        )

    @property
    def useful_gflops(self) -> float:
        return (
            statistics.median(f / s / 1e9 for f, s in zip(self.flops, self.seconds, strict=True))
            if self.seconds
            else float("nan")
        )

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["repeats"] = len(self.seconds)
        d["tokens_per_s"] = self.tokens_per_s
        d["useful_gflops"] = self.useful_gflops
        d["cache_hit_rates"] = _merge_caches(self.caches)
        return d


def _merge_caches(per_repeat: list[dict]) -> dict:
    total: dict[str, list[int]] = {}
    for caches in per_repeat:
        for name, c in caches.items():
            h, m = total.setdefault(name, [0, 0])
            total[name] = [h + c["hits"], m + c["misses"]]
    return {name: round(h / (h + m), 4) for name, (h, m) in total.items() if h + m}


def measure(setup, upstream: Upstream, cell: Cell, batches: list) -> None:
    import flops

    upstream.fill(cell.model, batches)
    timing = W.time_batches(setup.models([cell.model], cell.path), cell.model, batches)
    texts = [t for b in batches for t in b.texts]
    tokens = [t for b in batches for t in b.tokens]
    analyses = [a for b in batches for a in (b.analyses or [])] or None
    cell.seconds.append(timing.seconds)
    cell.tokens.append(timing.tokens)
    cell.sentences.append(timing.sentences)
    cell.caches.append(timing.caches)
    cell.distinct_ratio.append(round(W.distinct_ratio(batches), 4))
    cell.max_batch = max(len(b.texts) for b in batches)
    cell.flops.append(flops.minimal_flops(cell.model, texts, tokens, analyses))


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (< 2 min)")
    parser.add_argument("--budget-min", type=float, help="wall-clock budget of the whole run, minutes")
    parser.add_argument(
        "--cache-dir", type=Path, help="export cache (default $VNLP_BATCH_CACHE or ~/.cache/vnlp_batch)"
    )
    parser.add_argument("--no-vnlp", action="store_true", help="skip VNLP's own predict")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end CLI runs")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.budget_min:
        cfg = dataclasses.replace(cfg, budget_s=args.budget_min * 60)
    clock = Clock(cfg.budget_s)
    started = dt.datetime.now(dt.timezone.utc)

    from vnlp_batch.config.schema import default_cache_dir
    from vnlp_batch.corpus.sample import read_sample_sentences

    cache_dir = args.cache_dir or Path(default_cache_dir())
    out: dict = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": " ".join(
            [".venv/bin/python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "config": dataclasses.asdict(cfg),
        "cache_dir": str(cache_dir),
        "load_before": machine.load_snapshot(),
        "machine": machine.describe(),
        # Every path runs on these sessions (monolithic included): providers, threads, lanes.
        "runtime": {
            **dataclasses.asdict(W.cpu_runtime()),
            "session_threads": W.cpu_runtime().session_threads(),
        },
    }
    log(f"{cfg.name} run, budget {cfg.budget_s / 60:.0f} min; load average {out['load_before']['loadavg']}")
    out["sgemm"] = machine.sgemm_gflops()
    log(f"sgemm 2048³ fp32: {out['sgemm']['gflops']:.1f} GFLOP/s (median of 5)")

    sample_texts = read_sample_sentences()
    setup = W.Setup.load(cache_dir, sample_texts)
    out["load_s"] = round(setup.load_seconds, 1)
    log(f"weights and exports ready in {setup.load_seconds:.1f} s (sessions load per model)")
    # The budget covers the measurements, not a first-time export (minutes, once per export-cache key).
    clock.budget_s += setup.load_seconds
    corpora = Corpora(cfg, sample_texts)
    out["corpora"] = corpora.describe()
    upstream = Upstream(setup)
    cells: dict[tuple, Cell] = {}

    def cell(model, path, corpus, b) -> Cell:
        return cells.setdefault((model, path, corpus, b), Cell(model, path, corpus, b))

    unit_wall: dict[
        tuple, list[float]
    ] = {}  # cell key -> wall seconds of each repeat (upstream, FLOPs incl.)
    s_texts, s_tokens = corpora.sample

    def run_unit(key, r) -> None:
        model, path, corpus, b = key
        start = time.perf_counter()
        c = cell(*key)
        if corpus == "sample":
            batches = W.loader_batches(s_texts, s_tokens, b)
            c.workload = f"whole sample corpus ({len(s_texts)} sentences), batches of {b}"
        else:
            texts, tokens = corpora.draws[r]
            fast_cell = fast_batches(texts, tokens, b, cfg)
            if path == "fast":
                batches = fast_cell
                c.workload = f"{sum(len(x.texts) for x in batches)} fresh Zipf sentences, batches of {b}"
            else:
                batches, c.workload = mono_batches(model, texts, tokens, b, cfg, 2000 + r, fast_cell)
        measure(setup, upstream, c, batches)
        unit_wall.setdefault(key, []).append(time.perf_counter() - start)

    def estimate(key) -> float:
        """Wall seconds one more repeat of `key` should take, from what has run so far."""
        if key in unit_wall:
            return max(unit_wall[key])
        model, path, corpus, _ = key
        ref = unit_wall.get((model, path, "zipf", 256)) or unit_wall.get((model, path, "zipf", 64)) or [30.0]
        ref_tokens = cells.get((model, path, "zipf", 256)) or cells.get((model, path, "zipf", 64))
        ref_tokens = max(ref_tokens.tokens) if ref_tokens and ref_tokens.tokens else 1
        if corpus == "sample":
            return max(ref) * len([w for s in s_tokens for w in s]) / ref_tokens
        if path == "monolithic" and model == "stemmer":
            return max(ref)
        return 4 * max(ref)  # 1024 vs 256 sentences (fast) or tokens (monolithic)

    small = [b for b in cfg.batch_sizes if b < 1024]
    # Time kept for the end-to-end runs and VNLP's predict, which come last (measured under load:
    # task=pos ~20 s, task=all ~130 s with its decoders-only twin, VNLP ~12 s a model).
    reserve = 0.0 if args.no_e2e else sum(300.0 if t == "all" else 60.0 for t in cfg.end_to_end_tasks)
    reserve += 0.0 if args.no_vnlp else 15.0 * len(cfg.vnlp_models)
    skipped: list[str] = []
    out["end_to_end"] = []
    out["vnlp"] = {}

    # Model by model (sessions released after each model: onnxruntime arenas keep their peaks), each
    # with a share of the remaining budget. Inside a model's share the repeats go round robin — every
    # cell gets its first repeat before any gets its second — so a share that runs out still leaves
    # every cell measured; the table marks cells with fewer than `repeats` repeats.
    for index, model in enumerate(cfg.models):
        share = max(0.0, clock.left - reserve) / (len(cfg.models) - index)
        model_start = clock.elapsed
        keys = [(model, p, "zipf", b) for b in small for p in ("fast", "monolithic")]
        keys += [(model, "fast", "sample", cfg.sample_batch_size)]
        if 1024 in cfg.batch_sizes:
            keys += [(model, "fast", "zipf", 1024), (model, "monolithic", "zipf", 1024)]
        for r in range(cfg.repeats):
            for key in keys:
                mandatory = r == 0 and key[2] == "zipf" and key[3] < 1024
                spent = clock.elapsed - model_start
                if not mandatory and spent + estimate(key) > share:
                    skipped.append(f"{key[0]} {key[1]} {key[2]} B={key[3]} repeat {r + 1}")
                    continue
                try:
                    run_unit(key, r)
                except Exception as exc:  # keep the rest of the run
                    log(f"{key}: {type(exc).__name__}: {str(exc)[:300]}")
                    out.setdefault("errors", []).append(
                        f"{key} repeat {r + 1}: {type(exc).__name__}: {exc}"[:500]
                    )
        setup.release()

        def tps(path, corpus, b, _model=model):
            c = cells.get((_model, path, corpus, b))
            return f"{c.tokens_per_s:,.0f}" if c and c.seconds else "-"

        summary = ", ".join(
            f"B={b} {tps('fast', 'zipf', b)}/{tps('monolithic', 'zipf', b)}" for b in cfg.batch_sizes
        )
        log(
            f"{model}: {summary} tok/s fast/mono; sample {tps('fast', 'sample', cfg.sample_batch_size)}"
            f"  [{clock.elapsed - model_start:.0f} s of {share:.0f}; total {clock.elapsed:.0f} s]"
        )

    run_end_to_end(cfg, args, setup, cells, small, s_texts, s_tokens, cache_dir, clock, out)
    setup.release()
    run_vnlp(cfg, args, setup, s_texts, s_tokens, clock, out)
    out["skipped_for_budget"] = skipped
    if skipped:
        log(f"{len(skipped)} cell repeats skipped to stay within {cfg.budget_s / 60:.0f} min")

    out["cells"] = [c.to_json() for c in cells.values()]
    out["load_after"] = machine.load_snapshot()
    out["elapsed_s"] = round(clock.elapsed, 1)
    out["elapsed_without_load_s"] = round(clock.elapsed - setup.load_seconds, 1)
    out["targets"] = evaluate_targets(cells, out)
    import report

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    # A smoke run must not replace the tables of the last full run.
    latest = RESULTS / ("latest.md" if cfg.name == FULL.name else f"latest-{cfg.name}.md")
    latest.write_text(report.markdown(out))
    report.print_rich(out)
    log(f"wrote {path} and {latest} in {clock.elapsed / 60:.1f} min")
    return 0


def run_end_to_end(cfg, args, setup, cells, small, s_texts, s_tokens, cache_dir, clock, out) -> None:
    """End to end vs decoders only, at the batch size where the task's fast decoders are fastest."""
    if args.no_e2e:
        return
    import tempfile

    import end_to_end
    import memory
    import pyarrow.parquet as pq
    from vnlp.tokenizer import TreebankWordTokenize

    from vnlp_batch.corpus.sample import SAMPLE_PARQUET

    def corpora(task: str, tmp: Path):
        """(label, Parquet file, texts, tokens): the sample file as shipped, and a Zipf file large
        enough that a run's fixed costs (tf.data start-up, first batch) stop mattering."""
        if cfg.e2e_sentences is None:
            yield f"sample corpus Parquet ({len(s_texts)} rows)", SAMPLE_PARQUET, s_texts, s_tokens
        rows = cfg.e2e_zipf_rows.get(task)
        if rows:
            parquet = tmp / f"zipf_{task}.parquet"
            memory.write_corpus(parquet, rows, seed=7)
            texts = pq.read_table(parquet, columns=["text"]).column("text").to_pylist()
            yield (
                f"Zipf corpus Parquet ({rows:,} rows)",
                parquet,
                texts,
                [TreebankWordTokenize(t) for t in texts],
            )

    with tempfile.TemporaryDirectory(prefix="vnlp_bench_e2e_") as tmp:
        for task in cfg.end_to_end_tasks:
            _, names = end_to_end.task_models(task)

            def per_token_s(b, names=names):
                return sum(
                    1 / cells[(n, "fast", "zipf", b)].tokens_per_s
                    for n in names
                    if (n, "fast", "zipf", b) in cells
                )

            best = min(small, key=per_token_s)
            for label, parquet, texts, tokens in corpora(task, Path(tmp)):
                log(f"end to end task={task} batch_size={best}, {label} …")
                try:
                    cli = end_to_end.run_cli(task, parquet, best, cache_dir)
                except Exception as exc:
                    log(f"end to end task={task}: {exc}")
                    out["end_to_end_errors"] = [
                        *out.get("end_to_end_errors", []),
                        f"task={task}: {exc}"[:1000],
                    ]
                    continue
                dec = end_to_end.decoders_only(setup, task, texts, tokens, best)
                entry = {
                    "task": task,
                    "batch_size": best,
                    "corpus": label,
                    "cli": cli,
                    "decoders_only": dec,
                    "ratio": cli["metrics"]["tokens_per_s"] / dec["tokens_per_s"],
                }
                out["end_to_end"].append(entry)
                log(
                    f"end to end task={task}, {label}: {cli['metrics']['tokens_per_s']:,.0f} tok/s vs "
                    f"decoders only {dec['tokens_per_s']:,.0f} ({100 * entry['ratio']:.0f} %)  "
                    f"[{clock.elapsed:.0f} s]"
                )


def run_vnlp(cfg, args, setup, s_texts, s_tokens, clock, out) -> None:
    """VNLP's own predict, per sentence, on a subset of the sample corpus (sentences of ≤ 40 tokens)."""
    if args.no_vnlp:
        return
    import vnlp_predict

    short = [i for i, t in enumerate(s_tokens) if 0 < len(t) <= 40]
    warm, timed = short[:2], short[2 : 2 + cfg.vnlp_sentences]
    for model in cfg.vnlp_models:
        try:
            res = vnlp_predict.measure(
                model,
                setup.weights.directory,
                [s_texts[i] for i in timed],
                [s_tokens[i] for i in timed],
                [s_texts[i] for i in warm],
            )
        except Exception as exc:  # one model's failure must not lose the run's results
            log(f"VNLP {model}: {type(exc).__name__}: {str(exc)[:300]}")
            out["vnlp"][model] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            continue
        out["vnlp"][model] = res
        log(
            f"VNLP {W.VNLP_CLASS[model]}.predict: {res['tokens_per_s']:,.1f} tok/s "
            f"({res['sentences']} sentences)  [{clock.elapsed:.0f} s]"
        )


def best(cells, model, path, corpus="zipf") -> Cell | None:
    found = [c for (m, p, k, _), c in cells.items() if m == model and p == path and k == corpus and c.seconds]
    return max(found, key=lambda c: c.tokens_per_s) if found else None


def evaluate_targets(cells, out) -> list[dict]:
    """The issue's targets, on the Zipf corpus, best batch size per path."""
    targets = []

    def add(what, value, goal, met, note=""):
        targets.append({"target": what, "measured": value, "goal": goal, "met": bool(met), "note": note})

    for model, goal in (("spucontext_pos", 8000), ("spucontext_ner", 700), ("spucontext_dp", 700)):
        b = best(cells, model, "fast")
        if b:
            add(
                f"{W.VNLP_CLASS[model]} fast ≥ {goal:,} tok/s",
                round(b.tokens_per_s, 1),
                goal,
                b.tokens_per_s >= goal,
                f"B={b.batch_size}",
            )
    for model, goal, tolerance in (
        ("stemmer", 10, 1),
        ("treestack_pos", 10, 1),
        ("treestack_dp", 10, 1),
        ("sentiment", 1, 0.95),
        ("charner", 1, 0.95),
    ):
        f, m = best(cells, model, "fast"), best(cells, model, "monolithic")
        if f and m:
            ratio = f.tokens_per_s / m.tokens_per_s
            what = (
                f"{W.VNLP_CLASS[model]} fast ≥ {goal}× monolithic"
                if goal > 1
                else f"{W.VNLP_CLASS[model]} fast no slower than monolithic (±5 % noise)"
            )
            add(
                what,
                round(ratio, 2),
                goal,
                ratio >= goal * tolerance,
                f"fast B={f.batch_size}, monolithic B={m.batch_size}",
            )
    for e in out.get("end_to_end", []):
        add(
            f"end to end task={e['task']} ≥ 80 % of decoders only ({e['corpus']})",
            round(e["ratio"], 3),
            0.8,
            e["ratio"] >= 0.8,
            f"B={e['batch_size']}",
        )
    add(
        "benchmark under 20 minutes",
        round(out["elapsed_s"] / 60, 1),
        20,
        out["elapsed_s"] < 20 * 60,
        f"of which {out['load_s']:.0f} s loading weights, exports and sessions",
    )
    return targets


if __name__ == "__main__":
    raise SystemExit(main())
