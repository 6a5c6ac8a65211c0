"""The session cache (synthetic weights and ONNX exports) built one model per task in worker processes.

A model's weights and export depend on no other model, and much of building them is single-threaded
(tracing VNLP's GRUs, tf2onnx), so on a cold cache two workers take far less wall time than the
session alone. Workers only fill the cache: the session fixtures then call the same library functions,
which find every file in place. Spawned workers import this module by name, hence a module of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Longest first (weights + export on 2 cores), so that the last task to start is a short one.
ORDER = (
    "treestack_dp",
    "stemmer",
    "treestack_pos",
    "spucontext_dp",
    "spucontext_ner",
    "spucontext_pos",
    "charner",
    "sentiment",
)


def missing(cache_dir: Path, texts: Sequence[str]) -> list[str]:
    """Models whose synthetic weights or opset-13 export are not in `cache_dir` yet, in ORDER."""
    import json

    from vnlp_batch.config.schema import ExportConfig, WeightsConfig
    from vnlp_batch.export import cache
    from vnlp_batch.models.declarations import MODELS
    from vnlp_batch.weights.draws import GENERATOR_VERSION
    from vnlp_batch.weights.sources import resolve_weights
    from vnlp_batch.weights.synthetic import synthetic_dir

    manifest_path = synthetic_dir(cache_dir, 0) / "calibration.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest.get("generator_version") != GENERATOR_VERSION or set(manifest["models"]) != set(MODELS):
        return list(ORDER)
    weights = resolve_weights(WeightsConfig(source="synthetic", seed=0), cache_dir, MODELS.values(), texts)
    opset = ExportConfig().opset

    def exported(name: str) -> bool:
        key = cache.cache_key(name, weights.fingerprint(MODELS[name]), opset, "none")
        return (cache.export_dir(cache_dir, name, key) / "export.json").exists()

    return [name for name in ORDER if not exported(name)]


def prepare(name: str, cache_dir: str, texts: Sequence[str]) -> str:
    """Generate `name`'s synthetic seed-0 weights and export it (verified against Keras) into `cache_dir`."""
    from vnlp_batch.config.schema import ExportConfig, RuntimeConfig, WeightsConfig
    from vnlp_batch.export.stage import export_models
    from vnlp_batch.models.declarations import MODELS
    from vnlp_batch.weights.sources import resolve_weights

    specs = [MODELS[name]]
    weights = resolve_weights(WeightsConfig(source="synthetic", seed=0), Path(cache_dir), specs, texts)
    cpu = RuntimeConfig(providers=["CPUExecutionProvider"])
    export_models(specs, weights, ExportConfig(), cpu, Path(cache_dir), texts)
    return name
