"""Synthetic weights: VNLP's file layout, determinism, and labels diverse enough to make tests see."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from vnlp_batch.export.verify import run_session
from vnlp_batch.models import vnlp_reference as ref
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.weights.synthetic import GroupStats, ensure_synthetic_weights, group_stats
from vnlp_batch.weights.vnlp_format import read_weights_file, sha256_file

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


def test_same_seed_gives_identical_files(tmp_path, synthetic_weights, sample_texts) -> None:
    spec = MODELS["spucontext_pos"]
    again = ensure_synthetic_weights(tmp_path, 0, [spec], sample_texts)
    for name in (spec.weights_file, spec.embedding.file):
        assert sha256_file(again / name) == sha256_file(synthetic_weights.directory / name)
    other = ensure_synthetic_weights(tmp_path, 1, [spec], sample_texts)
    assert sha256_file(other / spec.weights_file) != sha256_file(again / spec.weights_file)


def _onnx_predict(session, spec) -> Callable[[list[np.ndarray]], np.ndarray]:
    return lambda batch: run_session(session, spec, batch)


def _held_out_stats(spec, session, texts) -> list[GroupStats]:
    held_out = texts[HELD_OUT:]
    if spec.decoding == "autoregressive":
        decoded = ref.decode_autoregressive(
            spec, _onnx_predict(session, spec), ref.sample_sentences(spec, held_out, 400)
        )
        return group_stats(spec, np.array([label for d in decoded for label in d.labels]))
    if spec.decoding == "per_token":
        chosen = []
        for s in ref.sample_sentences(spec, held_out, 10**9):
            candidates = [c[:10] for c in ref.stemmer_candidates(s.tokens)]
            probs = run_session(session, spec, ref.stemmer_inputs(spec, s.tokens, candidates))
            mask = np.array([[k < len(c) for k in range(10)] for c in candidates])
            slots = (probs * mask).argmax(axis=1)
            chosen += [int(k) for k, c in zip(slots, candidates, strict=True) if len(c) > 1]
        return group_stats(spec, np.array(chosen)[:, None])
    if spec.decoding == "per_char":
        from vnlp.named_entity_recognizer.charner import CharNER

        decoder = CharNER.__new__(CharNER)  # only its span/mode decoder is used, no weights needed
        decoder.tokenizer_label = ref._keras_tokenizer(ref._module(spec.module).TOKENIZER_LABEL_LOC)
        names = ["", "O", "ORG", "PER", "LOC"]
        labels = []
        for s in ref.sample_sentences(spec, held_out, 10**9):
            if len(" ".join(s.tokens)) > 256:
                continue
            chars = run_session(session, spec, [ref.charner_inputs(spec, s.tokens)])[0].argmax(-1)
            labels += [names.index(e) for e in decoder._charner_decoder(s.tokens, chars)]
        return group_stats(spec, np.array(labels)[:, None])
    rows = [ref.sentiment_inputs(spec, t) for t in held_out]
    probs = run_session(session, spec, [np.concatenate([r for r in rows if r.shape[1] == 256])])
    return group_stats(spec, (probs[:, :1] > 0.5).astype(int))


@pytest.mark.parametrize("name", list(MODELS))
def test_calibrated_labels_are_diverse_on_held_out_text(name, onnx_sessions, sample_texts) -> None:
    spec = MODELS[name]
    for stats in _held_out_stats(spec, onnx_sessions[name], sample_texts):
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
