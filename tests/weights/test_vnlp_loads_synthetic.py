"""VNLP's own classes load the synthetic directory (its exact file format) and predict with it.

For the SPUContext models, the stemmer and sentiment, VNLP's own `predict` must also give the same
labels as VNLP's input functions + our exported ONNX graph: weights written, read and exported
without a slip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vnlp_batch.export.verify import run_session
from vnlp_batch.models import vnlp_reference as ref
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.labels import group_labels
from vnlp_batch.vnlp_env import vnlp_module

SENTENCE = "Benim adım Melikşah ve İstanbul'da yaşıyorum, Ankara'ya 3 Mart'ta taşınacağım."


def _point_at(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Point every VNLP module's weight and matrix paths at `directory`."""
    for spec in MODELS.values():
        module = vnlp_module(spec.module)
        monkeypatch.setattr(module, "PROD_WEIGHTS_LOC", str(directory / spec.weights_file))
        if spec.embedding:
            monkeypatch.setattr(module, "WORD_EMBEDDING_MATRIX_LOC", str(directory / spec.embedding.file))
        # VNLP would download a missing file; fail loudly instead if a path was not redirected.
        monkeypatch.setattr(module, "check_and_download", _must_exist, raising=False)


@pytest.fixture
def vnlp_points_at(monkeypatch, synthetic_weights):
    """Point every VNLP module's weight and matrix paths at the synthetic directory."""
    _point_at(monkeypatch, synthetic_weights.directory)
    return synthetic_weights.directory


@pytest.fixture(scope="module")
def treestack_dp(synthetic_weights):
    """VNLP's TreeStackDP on the synthetic files, built once for the module.

    VNLP's own __init__ builds a StemmerAnalyzer() and a TreeStackPoS beside it; the stemmer and
    TreeStackPoS tests use those rather than building the same classes again (each build traces
    every GRU of the model, for seconds)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _point_at(monkeypatch, synthetic_weights.directory)
        spec = MODELS["treestack_dp"]
        return getattr(vnlp_module(spec.module), spec.vnlp_class)(False)


def _must_exist(path, url):
    import os

    assert os.path.isfile(path), f"VNLP tried to download {url} to {path}"


def _ours(name, onnx_sessions, tokens):
    spec = MODELS[name]
    predict = lambda batch: run_session(onnx_sessions[name], spec, batch)  # noqa: E731
    return ref.decode_autoregressive(spec, predict, [ref.Sentence(tokens)])[0].labels


@pytest.mark.parametrize("name", ["spucontext_pos", "spucontext_ner"])
def test_vnlp_spucontext_tagger_matches_onnx(name, vnlp_points_at, onnx_sessions) -> None:
    spec = MODELS[name]
    instance = getattr(vnlp_module(spec.module), spec.vnlp_class)(evaluate=False)
    result = instance.predict(SENTENCE)
    tokens = [t for t, _ in result]
    vocabulary = group_labels(spec)[spec.output_groups[0].name]
    assert [label for _, label in result] == [vocabulary[g[0]] for g in _ours(name, onnx_sessions, tokens)]


def test_vnlp_spucontext_dp_matches_onnx(vnlp_points_at, onnx_sessions) -> None:
    spec = MODELS["spucontext_dp"]
    result = getattr(vnlp_module(spec.module), spec.vnlp_class)(evaluate=False).predict(SENTENCE)
    tokens = [r[1] for r in result]
    relations = group_labels(spec)["rel"]
    ours = _ours("spucontext_dp", onnx_sessions, tokens)
    assert [(r[2], r[3]) for r in result] == [(arc, relations[rel]) for arc, rel in ours]


def test_vnlp_stemmer_matches_onnx(vnlp_points_at, onnx_sessions, treestack_dp, monkeypatch) -> None:
    from vnlp_batch.featurize.candidates import use_deterministic_candidates

    spec = MODELS["stemmer"]
    stemmer = treestack_dp.stemmer_analyzer  # VNLP's StemmerAnalyzer(), built by VNLP's TreeStackDP
    assert type(stemmer).__name__ == spec.vnlp_class
    # VNLP with the same candidate-order change as ours, for this test only (the instance is shared).
    monkeypatch.setattr(stemmer, "candidate_generator", stemmer.candidate_generator)
    use_deterministic_candidates(stemmer)
    analyses = stemmer.predict(SENTENCE)
    tokens = ref.tokenize(spec, SENTENCE)
    candidates = [c[:10] for c in ref.stemmer_candidates(tokens)]
    probs = run_session(onnx_sessions["stemmer"], spec, ref.stemmer_inputs(spec, tokens, candidates))
    mask = np.array([[k < len(c) for k in range(10)] for c in candidates])
    ours = [c[k].replace("+DB", "^DB") for c, k in zip(candidates, (probs * mask).argmax(1), strict=True)]
    assert analyses == ours


def test_vnlp_sentiment_matches_onnx(vnlp_points_at, onnx_sessions) -> None:
    spec = MODELS["sentiment"]
    instance = getattr(vnlp_module(spec.module), spec.vnlp_class)(evaluate=False)
    prob = instance.predict_proba(SENTENCE)
    ours = run_session(onnx_sessions["sentiment"], spec, [ref.sentiment_inputs(spec, SENTENCE)])[0, 0]
    assert abs(prob - ours) <= 1e-4  # the fp32 bar: eager Keras at batch 1 takes other kernels


@pytest.mark.parametrize("name", ["treestack_pos", "treestack_dp", "charner"])
def test_vnlp_loads_and_predicts(name, vnlp_points_at, request) -> None:
    spec = MODELS[name]
    if name == "treestack_dp":
        instance = request.getfixturevalue("treestack_dp")
    elif name == "treestack_pos":
        # VNLP's TreeStackPoS(False, stemmer_analyzer), as VNLP's TreeStackDP builds it.
        instance = request.getfixturevalue("treestack_dp").pos_tagger.instance
    else:
        instance = getattr(vnlp_module(spec.module), spec.vnlp_class)(False)
    assert type(instance).__name__ == spec.vnlp_class
    result = instance.predict(SENTENCE)
    tokens = ref.tokenize(spec, SENTENCE)
    assert len(result) == len(tokens)
    labels = group_labels(spec)[spec.output_groups[-1].name]
    assert all(r[-1] in labels for r in result)
