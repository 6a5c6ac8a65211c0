"""Session-wide fixtures: synthetic weights and the ONNX exports are built once and shared.

Set VNLP_BATCH_TEST_CACHE to a directory to keep them between runs (CI starts empty).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from vnlp_batch.config.schema import ExportConfig, RuntimeConfig, WeightsConfig
from vnlp_batch.models.declarations import MODELS

CPU = RuntimeConfig(providers=["CPUExecutionProvider"])


@pytest.fixture(scope="session")
def cpu_runtime() -> RuntimeConfig:
    return CPU


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = os.environ.get("VNLP_BATCH_TEST_CACHE")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("vnlp_batch_cache")


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    from vnlp_batch.corpus.sample import read_sample_sentences

    return read_sample_sentences()


@pytest.fixture(scope="session")
def synthetic_weights(cache_dir: Path, sample_texts: list[str]):
    """WeightSet of synthetic seed-0 files for all eight models."""
    from vnlp_batch.weights.sources import resolve_weights

    return resolve_weights(
        WeightsConfig(source="synthetic", seed=0), cache_dir, MODELS.values(), sample_texts
    )


@pytest.fixture(scope="session")
def exports(cache_dir: Path, sample_texts: list[str], synthetic_weights):
    """All eight models exported at opset 13 and verified against Keras (the export stage itself)."""
    from vnlp_batch.export.stage import export_models

    return export_models(MODELS.values(), synthetic_weights, ExportConfig(), CPU, cache_dir, sample_texts)


@pytest.fixture(scope="session")
def onnx_sessions(exports):
    """A CPU onnxruntime session per model, from the shared exports."""
    from vnlp_batch.runtime.sessions import make_session

    return {name: make_session(m.graphs["monolithic"], CPU.providers) for name, m in exports.models.items()}
