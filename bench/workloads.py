"""Loading the models, arranging batches as the loader does, and timing one model alone.

A model is timed alone: its upstream inputs (stemmer analyses for TreeStack, TreeStack PoS for
TreeStackDP) are computed before the clock starts, with the fast decoders, and the featurizer caches
are cleared afterwards so that the timed run starts cold. Each model runs through the same
`Annotator` method the pipeline uses (featurization, decoding and label mapping included, tokenization
excluded).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np

MODEL_ORDER = (
    "spucontext_pos",
    "spucontext_ner",
    "spucontext_dp",
    "stemmer",
    "treestack_pos",
    "treestack_dp",
    "sentiment",
    "charner",
)
VNLP_CLASS = {
    "stemmer": "StemmerAnalyzer",
    "spucontext_pos": "SPUContextPoS",
    "spucontext_ner": "SPUContextNER",
    "spucontext_dp": "SPUContextDP",
    "treestack_pos": "TreeStackPoS",
    "treestack_dp": "TreeStackDP",
    "charner": "CharNER",
    "sentiment": "SPUCBiGRUSentiment",
}
AUTOREGRESSIVE = {"spucontext_pos", "spucontext_ner", "spucontext_dp", "treestack_pos", "treestack_dp"}
PER_TEXT = {"charner", "sentiment"}  # non-autoregressive, one graph row per text

# The loader groups rows by length inside chunks of this many decoder batches (inference/loader.py).


# The monolithic graphs hold megabytes of activations per row (the stemmer ~6 MB: 80 surface words ×
# 15 chars × 512 floats per BiGRU; SPUContextNER/DP ~2 MB: 81 words × 8 pieces × 2 GRU layers).
# OnnxModel's default of 4096 rows per session.run makes the monolithic stemmer need > 23 GB at batch
# 256 (killed by the OOM killer on this machine), and onnxruntime's arenas keep each session's peak.
# The benchmark runs every monolithic graph at most 256 rows per session.run (B=1024: 4 calls a step).
MONOLITHIC_MAX_ROWS = 256


def cpu_runtime():
    from vnlp_batch.config.schema import RuntimeConfig

    return RuntimeConfig(providers=["CPUExecutionProvider"])


def featurizer_caches() -> dict[str, Callable]:
    """The bounded per-word caches of the featurizers (functools.lru_cache), by name."""
    from vnlp_batch.featurize import candidates, spucontext, stemmer, treestack
    from vnlp_batch.inference import annotate

    found = {}
    for module in (candidates, spucontext, stemmer, treestack, annotate):
        for name, obj in vars(module).items():
            info = getattr(obj, "cache_info", None)
            if info is not None and info().maxsize is not None:  # @cache (maxsize None) loads resources
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = obj
    return found


def clear_caches() -> None:
    for fn in featurizer_caches().values():
        fn.cache_clear()


def cache_counts() -> dict[str, tuple[int, int]]:
    return {name: (fn.cache_info().hits, fn.cache_info().misses) for name, fn in featurizer_caches().items()}


def cache_delta(before: dict, after: dict) -> dict[str, dict[str, float]]:
    out = {}
    for name, (hits, misses) in after.items():
        h, m = hits - before[name][0], misses - before[name][1]
        if h + m:
            out[name] = {"hits": h, "misses": m, "hit_rate": round(h / (h + m), 4)}
    return out


@dataclass
class Setup:
    """The exported graphs, and onnxruntime sessions loaded on demand and released after use (every
    session's arena keeps its peak activations; all 24 sessions at once grew past 10 GB)."""

    cache_dir: Path
    exported: dict  # name -> ExportedModel
    weights: object = None  # WeightSet (synthetic seed 0)
    load_seconds: float = 0.0
    loaded: dict = field(default_factory=dict)  # (name, decoder) -> LoadedModel

    @classmethod
    def load(cls, cache_dir: Path, sample_texts: Sequence[str], quantize: str = "none") -> Setup:
        """Every model's export (`quantize`: export.quantize), made in the cache first if missing."""
        from vnlp_batch.config.schema import ExportConfig, WeightsConfig
        from vnlp_batch.export.stage import export_models
        from vnlp_batch.models.declarations import MODELS
        from vnlp_batch.weights.sources import resolve_weights

        start = time.perf_counter()
        weights = resolve_weights(
            WeightsConfig(source="synthetic", seed=0), cache_dir, MODELS.values(), sample_texts
        )
        exported = export_models(
            MODELS.values(), weights, ExportConfig(quantize=quantize), cpu_runtime(), cache_dir, sample_texts
        ).models
        return cls(Path(cache_dir), exported, weights, time.perf_counter() - start)

    def model(self, name: str, decoder: str):
        from vnlp_batch.inference.onnx_model import LoadedModel

        key = (name, decoder)
        if key not in self.loaded:
            runtime = dataclasses.replace(cpu_runtime(), decoder=decoder)
            model = LoadedModel.load(self.exported[name].graphs, runtime)
            if decoder == "monolithic":
                model.graphs["monolithic"].max_rows = MONOLITHIC_MAX_ROWS
            self.loaded[key] = model
        return self.loaded[key]

    def models(self, names, decoder: str) -> dict:
        return {n: self.model(n, decoder) for n in names}

    def release(self) -> None:
        self.loaded.clear()
        gc.collect()


@dataclass
class Batch:
    texts: list[str]
    tokens: list[list[str]]
    analyses: list | None = None  # stemmer output (for TreeStack models)
    pos: list | None = None  # TreeStackPoS output (for TreeStackDP)

    @property
    def n_tokens(self) -> int:
        return sum(len(t) for t in self.tokens)


def loader_batches(texts: Sequence[str], tokens: Sequence[list[str]], batch_size: int) -> list[Batch]:
    """Batches as `inference/loader.py` cuts them: its chunk sizes, rows sorted by token count."""
    from vnlp_batch.inference.loader import chunk_rows, length_sorted_batches

    out, start = [], 0
    for rows in chunk_rows(batch_size):
        if start >= len(texts):
            break
        t, k = texts[start : start + rows], tokens[start : start + rows]
        start += rows
        for idx in length_sorted_batches([len(x) for x in k], batch_size):
            out.append(Batch([t[i] for i in idx], [list(k[i]) for i in idx]))
    return out


def truncated_batch(texts, tokens, batch_size: int, token_budget: int, seed: int) -> Batch:
    """One batch of `batch_size` sentences (a seeded sample, sorted by length), each cut to its first
    ceil(token_budget / batch_size) tokens: the monolithic paths' per-token cost does not depend on
    the sentence (every window is 40 rows, every word 8 pieces), so the first k decoding steps of a
    full batch measure its throughput at a fraction of the time."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(texts), size=min(batch_size, len(texts)), replace=False)
    idx = sorted(idx, key=lambda i: len(tokens[i]))
    k = max(1, math.ceil(token_budget / len(idx)))
    return Batch([texts[i] for i in idx], [list(tokens[i][:k]) for i in idx])


def add_upstream(setup: Setup, batches: Sequence[Batch], name: str) -> None:
    """Stemmer analyses (and TreeStack PoS) for the TreeStack models, computed with the fast decoders."""
    if name not in ("treestack_pos", "treestack_dp"):
        return
    from vnlp_batch.inference.annotate import Annotator
    from vnlp_batch.models.planning import Plan

    models = {"stemmer": setup.model("stemmer", "fast")}
    plan = Plan(morph="stemmer")
    if name == "treestack_dp":
        models["treestack_pos"] = setup.model("treestack_pos", "fast")
        plan = Plan(morph="stemmer", pos="treestack_pos")
    annotator = Annotator(plan, models)
    for batch in batches:
        if batch.analyses is not None and (name != "treestack_dp" or batch.pos is not None):
            continue
        result = annotator.annotate(batch.texts, batch.tokens)
        batch.analyses = result.columns["morph"]
        batch.pos = result.columns.get("pos")


def run_model(models: dict, name: str, batch: Batch):
    """One batch through one model, as `Annotator.annotate` runs it: its component decodes the batch,
    reading the upstream outputs the batch carries (the stemmer's analyses, then TreeStackPoS's tags)."""
    from vnlp_batch.components.base import AnnotateOptions, ModelOutput
    from vnlp_batch.inference.annotate import BatchResult

    model = models[name]
    n = len(batch.texts)
    result = BatchResult(errors=[None] * n, dp_chunked=[False] * n)
    carried = [ModelOutput(batch.analyses or ()), ModelOutput(batch.pos or ())]
    upstream = carried[: len(model.spec.needs)]
    model.spec.component.annotate(model, batch.texts, batch.tokens, upstream, result, AnnotateOptions())
    return result


@dataclass
class Timing:
    seconds: float
    tokens: int
    sentences: int
    caches: dict = field(default_factory=dict)


def time_batches(models: dict, name: str, batches: Sequence[Batch]) -> Timing:
    """Wall time of `batches` through model `name`, starting from cleared featurizer caches."""
    clear_caches()
    before = cache_counts()
    start = time.perf_counter()
    for batch in batches:
        run_model(models, name, batch)
    seconds = time.perf_counter() - start
    return Timing(
        seconds,
        sum(b.n_tokens for b in batches),
        sum(len(b.texts) for b in batches),
        cache_delta(before, cache_counts()),
    )


def distinct_ratio(batches: Sequence[Batch]) -> float:
    """Mean over batches of distinct tokens / tokens: what the fast decoders' per-batch dedup exploits."""
    ratios = [len({w for s in b.tokens for w in s}) / b.n_tokens for b in batches if b.n_tokens]
    return float(np.mean(ratios)) if ratios else float("nan")
