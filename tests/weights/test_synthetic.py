"""Synthetic weights: VNLP's file layout, determinism, and labels diverse enough to make tests see."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vnlp_batch.files import sha256_file
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.weights import calibration
from vnlp_batch.weights.calibration import GroupStats, group_stats
from vnlp_batch.weights.draws import draw_model_weights, draws_sha256
from vnlp_batch.weights.synthetic import ensure_synthetic_weights
from vnlp_batch.weights.vnlp_format import read_weights_file

HELD_OUT = 200  # calibration reads the corpus from its start; diversity is measured on the rest


def test_directory_is_laid_out_like_vnlps(synthetic_weights) -> None:
    names = {p.name for p in synthetic_weights.directory.iterdir()}
    expected = {s.weights_file for s in MODELS.values()} | {
        s.embedding.file for s in MODELS.values() if s.embedding
    }
    assert expected <= names
    assert synthetic_weights.directory.name == "synthetic-seed0"
    pos = read_weights_file(synthetic_weights.directory / "PoS_SPUContext_prod.weights")
    assert len(pos) == 18 and all(a.dtype == np.float32 for a in pos)  # 19 minus the embedding
    assert synthetic_weights.synthetic and synthetic_weights.provenance["seed"] == 0


# The synthetic seed-0 files, byte for byte: the same on every machine (weights/synthetic.py), so every
# machine's tests see the same numbers. A change to the drawing or the calibration changes these on
# purpose: bump GENERATOR_VERSION, run `python -m vnlp_batch.weights.calibration`, and update them.
PINNED_SHA256 = {
    "DP_SPUContext_prod.weights": "45a7b96b956546bc20b5eb53f5dc2929187da6ec038c0c54e99ce413a7d8a14a",
    "DP_TreeStack_prod.weights": "a551a8f88a495b604a451bcdd9af1d091da5afa5a2dc8c27a569c8c53e2724cf",
    "NER_CharNER_prod.weights": "a9bec4cf697873807b3ba8999a0687cf756273d3495d9fe17f98726b338dadaf",
    "NER_SPUContext_prod.weights": "bafb1963731dd89e7b137be67bc0efd5190d71ebaa6fa91df5252fcba53e90b5",
    "PoS_SPUContext_prod.weights": "b8f55c0a7ab903f6e61e4cafde0156e3a343a4292088a3c0461f9558ca212861",
    "PoS_TreeStack_prod.weights": "869eca19dd81332e0cc4d9312ad6d3a13371f30dbcc7ae3a952d942ae32b6eed",
    "SPUTokenized_word_embedding_16k.matrix": (
        "ecb771749bbdbac4fb47b6365e4f1724ae5a00dfc3b74383a2dc47c4b61c3abf"
    ),
    "Sentiment_SPUCBiGRU_prod.weights": "0a48872545ee7baf14335d653eae74f4cfd822a6d6f41038aa903403e9da567e",
    "Stemmer_Shen_prod.weights": "737685fe6e5526c55ff60d85cd7ee82fcf0575ba936b4a65111ba8a5c25fbf9c",
    "TBWTokenized_word_embedding.matrix": "0a9c591d3036e14e5dab6d778daf8794884740b2c2c319c94c534b4c50a18b8a",
}


def test_files_are_bit_identical_to_the_pinned_ones(synthetic_weights) -> None:
    files = {f: sha256_file(synthetic_weights.directory / f) for f in PINNED_SHA256}
    assert files == PINNED_SHA256
    assert set(PINNED_SHA256) == {
        f
        for spec in MODELS.values()
        for f in (spec.weights_file, *([spec.embedding.file] if spec.embedding else []))
    }


def test_weights_files_are_pickled_as_numpy_1_wrote_vnlps(synthetic_weights) -> None:
    data = (synthetic_weights.directory / MODELS["spucontext_pos"].weights_file).read_bytes()
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    assert b"numpy._core" not in data


def test_same_seed_gives_identical_files(tmp_path, synthetic_weights, sample_texts) -> None:
    spec = MODELS["spucontext_pos"]
    again = ensure_synthetic_weights(tmp_path, 0, [spec], sample_texts)
    for name in (spec.weights_file, spec.embedding.file):
        assert sha256_file(again / name) == sha256_file(synthetic_weights.directory / name)
    assert draws_sha256(draw_model_weights(1, spec)) != draws_sha256(draw_model_weights(0, spec))


def test_the_stored_calibration_is_what_calibration_computes(sample_texts) -> None:
    """The table beside weights/calibration.py is the float64 calibration's result, recomputed here bit
    for bit (for CharNER, the quickest): on this machine's BLAS and TensorFlow kernels too."""
    spec = MODELS["charner"]
    arrays = draw_model_weights(0, spec)
    table = calibration.stored(0, spec.name, draws_sha256(arrays))
    assert table is not None, (
        "no stored calibration for these draws: run python -m vnlp_batch.weights.calibration"
    )
    assert calibration.calibrate(spec, arrays, sample_texts) == table


LABEL_COLUMNS = {  # model -> (plan, column) in the shared `ours` output (tests/conftest.py)
    "spucontext_pos": ("default", "pos"),
    "spucontext_ner": ("default", "ner"),
    "treestack_pos": ("alternatives", "pos"),
    "charner": ("alternatives", "ner"),
}


def _held_out_stats(name, ours, loaded, corpus) -> list[GroupStats]:
    """Label spread of vnlp-batch's own output on the held-out part of the sample corpus."""
    spec = MODELS[name]
    if name == "stemmer":
        from vnlp_batch.featurize.candidates import sentence_candidates

        chosen = []
        for p, tokens in zip(ours["default"][1]["stemmer"][HELD_OUT:], corpus[1][HELD_OUT:], strict=True):
            levels = np.array([len(c) for c in sentence_candidates(tokens)])
            masked = p * (levels[:, None] > np.arange(p.shape[1]))
            chosen += masked[levels > 1].argmax(axis=1).tolist()
        return group_stats(spec, np.array(chosen)[:, None])
    if name == "sentiment":
        values = ours["default"][0]["sentiment"][HELD_OUT:]
        return group_stats(spec, (np.array(values) > 0.5).astype(int)[:, None])
    if name in LABEL_COLUMNS:
        plan, column = LABEL_COLUMNS[name]
        vocabulary = loaded[name].metadata.labels(spec.output_groups[0].name)
        labels = [vocabulary.index(x) for row in ours[plan][0][column][HELD_OUT:] for x in row or []]
        return group_stats(spec, np.array(labels)[:, None])
    plan = "default" if name == "spucontext_dp" else "alternatives"
    columns = ours[plan][0]
    relations = loaded[name].metadata.labels("rel")
    pairs = [  # sentences of up to 40 tokens, where a head is the model's arc output itself
        (head, relations.index(rel))
        for heads, rels in zip(columns["dep_head"][HELD_OUT:], columns["dep_rel"][HELD_OUT:], strict=True)
        if heads is not None and len(heads) <= 40
        for head, rel in zip(heads, rels, strict=True)
    ]
    return group_stats(spec, np.array(pairs))


@pytest.mark.parametrize("name", list(MODELS))
def test_calibrated_labels_are_diverse_on_held_out_text(name, ours, loaded, corpus) -> None:
    spec = MODELS[name]
    for stats in _held_out_stats(name, ours, loaded, corpus):
        if spec.name == "stemmer":
            # The chosen candidate slot must vary: most slots used, none dominant.
            assert stats.seen >= 6, stats
            assert stats.max_share <= 0.5, stats
        elif spec.name == "sentiment":
            assert stats.seen == 2 and stats.max_share <= 0.7, stats
        else:
            assert stats.seen >= 0.8 * stats.classes, stats
            assert stats.max_share <= 0.30, stats
            assert stats.reserved_share <= 0.05, stats


def test_calibration_record_says_synthetic(synthetic_weights) -> None:
    record = json.loads((synthetic_weights.directory / "calibration.json").read_text())
    assert record["synthetic"] is True
    assert set(record["models"]) == set(MODELS)


def test_concurrent_writers_keep_every_manifest_entry(tmp_path) -> None:
    """Processes generating different models into one directory (the session's cache workers) each
    add their entry to calibration.json; none may drop another's."""
    from concurrent.futures import ThreadPoolExecutor

    from vnlp_batch.weights.draws import GENERATOR_VERSION
    from vnlp_batch.weights.synthetic import _record

    names = [f"model{i}" for i in range(32)]
    with ThreadPoolExecutor(8) as pool:  # one flock per open: threads contend as processes do
        list(pool.map(lambda name: _record(tmp_path, 0, name, [{"group": name}]), names))
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert record["generator_version"] == GENERATOR_VERSION
    assert record["models"] == {name: [{"group": name}] for name in names}
