"""Sentiment inputs and long-text splitting against VNLP's process_text_input and predict_proba."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from vnlp_batch.featurize.sentiment import (
    TEXT_MAX_LEN,
    UnsplittableTextError,
    sentiment_pieces,
    split_for_length,
)
from vnlp_batch.vnlp_env import tensorflow, vnlp_module

Same = Callable[[np.ndarray, object, type], None]


def _fake_prob(x: Any) -> np.ndarray:
    """A deterministic float32 'probability' in (0, 1) with a full mantissa, from the input ids."""
    ids = np.asarray(x, np.int64).reshape(-1)
    rng = np.random.default_rng(int((ids * np.arange(1, ids.size + 1)).sum()))
    return rng.random((1, 1), dtype=np.float32)


class _Recorder:
    """Stands in for the sentiment Keras model: records each input, answers with `_fake_prob`."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> Any:
        self.inputs.append(np.asarray(x))
        return tensorflow().constant(_fake_prob(x))


@pytest.fixture(scope="module")
def module() -> ModuleType:
    return vnlp_module("sentiment_analyzer.spu_context_bigru_sentiment")


@pytest.fixture(scope="module")
def analyzer(module: ModuleType) -> Any:
    """VNLP's SPUCBiGRUSentimentAnalyzer without weights: its own predict_proba code."""
    instance = module.SPUCBiGRUSentimentAnalyzer.__new__(module.SPUCBiGRUSentimentAnalyzer)
    instance.spu_tokenizer_word = module.spu_tokenizer_word
    instance.model = _Recorder()
    assert module.TEXT_MAX_LEN == TEXT_MAX_LEN
    return instance


@pytest.fixture(scope="module")
def long_texts(sample_texts: list[str]) -> list[str]:
    """Texts of > 256 pieces: a whole paragraph, an odd number of words, and very long ones."""
    return [
        " ".join(sample_texts[:20]),
        " ".join(sample_texts[20:33]) + " tek",
        "  ".join(sample_texts[40:140]),  # several levels of halving, uneven leaves
        "😀 " * 300,
        " ".join(["Çekoslovakyalılaştıramadıklarımızdanmışsınız"] * 40),
    ]


def test_pieces_equal_process_text_input(
    sample_texts: list[str], edge_tokens: list[str], long_texts: list[str], module: ModuleType, same: Same
) -> None:
    utils = vnlp_module("sentiment_analyzer._spu_context_bigru_utils")
    for text in [*sample_texts, *edge_tokens, " ".join(edge_tokens), "", *long_texts]:
        theirs = utils.process_text_input(text, module.spu_tokenizer_word, TEXT_MAX_LEN)
        same(sentiment_pieces(text), theirs, np.float32)
    assert sentiment_pieces(long_texts[0]).shape[1] > TEXT_MAX_LEN  # VNLP never truncates


def test_split_and_combine_equal_predict_proba(
    sample_texts: list[str], long_texts: list[str], analyzer: Any, same: Same
) -> None:
    deep = 0
    for text in [*sample_texts, *long_texts]:
        analyzer.model.inputs.clear()
        theirs = analyzer.predict_proba(text)
        split = split_for_length(text)
        ours = split.combine([_fake_prob(x)[0, 0] for x in split.inputs])
        # Bit-identical, same numpy scalar type.
        assert type(ours) is type(theirs) and ours.tobytes() == theirs.tobytes(), text[:60]
        assert len(split.leaves) == len(analyzer.model.inputs)
        for row, fed in zip(split.inputs, analyzer.model.inputs, strict=True):
            same(row[None], fed, np.float32)
        assert abs(sum(w for w in split.weights) - 1.0) < 1e-12
        deep += max(split.depths) >= 2
    assert deep >= 2


def test_nesting_order_matters_for_float32() -> None:
    # Three leaves: VNLP computes ((a + b) / 2 + c) / 2 here, not a weighted sum, and the two differ.
    split = split_for_length("  ".join(["kelime"] * 700))
    assert len(split.leaves) > 2
    rng = np.random.default_rng(3)
    mismatches = 0
    for _ in range(200):
        probs = rng.random(len(split.leaves), dtype=np.float32)
        exact = split.combine(probs)
        weighted = np.float32(sum(np.float64(p) * w for p, w in zip(probs, split.weights, strict=True)))
        mismatches += exact != weighted
        assert abs(float(exact) - float(weighted)) < 1e-6
    assert mismatches > 0


def test_unsplittable_word_fails_like_vnlp(analyzer: Any) -> None:
    word = "xq" * 300  # one whitespace-free word of 600 pieces
    with pytest.raises(RecursionError):
        analyzer.predict_proba(word)
    with pytest.raises(UnsplittableTextError):
        split_for_length(word)
    with pytest.raises(UnsplittableTextError):
        split_for_length("kısa bir cümle " + word)
    with pytest.raises(ValueError, match="leaves"):
        split_for_length("kısa").combine([0.1, 0.2])
