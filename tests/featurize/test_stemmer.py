"""Stemmer inputs against VNLP's process_input_text, and through StemmerAnalyzer.predict itself."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from vnlp_batch.featurize.candidates import sentence_candidates, use_deterministic_candidates
from vnlp_batch.featurize.stemmer import (
    NUM_MAX_ANALYSIS,
    STEM_MAX_LEN,
    SURFACE_TOKEN_MAX_LEN,
    TAG_MAX_LEN,
    stemmer_inputs,
)
from vnlp_batch.featurize.windows import WINDOW as SENTENCE_MAX_LEN
from vnlp_batch.vnlp_env import tensorflow, vnlp_module

Same = Callable[[np.ndarray, object, type], None]


@pytest.fixture(scope="module")
def stemmer_module() -> ModuleType:
    return vnlp_module("stemmer_morph_analyzer.stemmer_morph_analyzer")


@pytest.fixture(scope="module")
def vnlp_process(stemmer_module: ModuleType) -> Callable[[list[str], list[list[str]]], Any]:
    """VNLP's process_input_text for one sentence, with StemmerAnalyzer's constants and tokenizers."""
    from vnlp.utils import load_keras_tokenizer

    melik = vnlp_module("stemmer_morph_analyzer._melik_utils")
    chars = load_keras_tokenizer(stemmer_module.TOKENIZER_CHAR_LOC)
    tags = load_keras_tokenizer(stemmer_module.TOKENIZER_TAG_LOC)
    m = stemmer_module

    def process(tokens: list[str], candidates: list[list[str]]) -> tuple[np.ndarray, ...]:
        x, _ = melik.process_input_text(
            [[tokens, candidates]],
            chars,
            tags,
            m.STEM_MAX_LEN,
            m.TAG_MAX_LEN,
            m.SURFACE_TOKEN_MAX_LEN,
            m.SENTENCE_MAX_LEN,
            m.NUM_MAX_ANALYSIS,
            exclude_unambigious=False,
            shuffle=False,
        )
        return x

    return process


def test_constants_are_vnlps(stemmer_module: ModuleType) -> None:
    m = stemmer_module
    assert (NUM_MAX_ANALYSIS, STEM_MAX_LEN, TAG_MAX_LEN, SURFACE_TOKEN_MAX_LEN, SENTENCE_MAX_LEN) == (
        m.NUM_MAX_ANALYSIS,
        m.STEM_MAX_LEN,
        m.TAG_MAX_LEN,
        m.SURFACE_TOKEN_MAX_LEN,
        m.SENTENCE_MAX_LEN,
    )


def test_stemmer_inputs_equal_process_input_text(
    all_sentences: list[list[str]], vnlp_process: Callable[..., Any], same: Same
) -> None:
    many = 0
    for tokens in all_sentences:
        candidates = sentence_candidates(tokens)
        many += sum(len(c) > NUM_MAX_ANALYSIS for c in candidates)
        ours = stemmer_inputs(tokens, candidates)
        theirs = vnlp_process(tokens, candidates)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b, np.int32)
    assert many > 0  # candidate lists longer than 10 were exercised


def test_hand_made_candidates(vnlp_process: Callable[..., Any], same: Same) -> None:
    # Long stems and tag lists (truncation), unknown tags and characters, empty stem and tags.
    tokens = ["Kitaplarımızdakilerden", "x", "😀"]
    candidates = [
        ["kitaplarımızdakiler+Noun+A3pl+" + "+".join(["P1pl", "Loc", "DB", "Adj", "Rel"] * 4)],
        ["+", "++", "x+NoSuchTag+Noun", "çok+uzun+bir+kök+ve+etiket+listesi"],
        [f"c{i}+Noun" for i in range(25)],
    ]
    for a, b in zip(stemmer_inputs(tokens, candidates), vnlp_process(tokens, candidates), strict=True):
        same(a, b, np.int32)


def test_token_without_candidates_fails_like_vnlp(vnlp_process: Callable[..., Any]) -> None:
    with pytest.raises(IndexError):
        vnlp_process(["a", "b"], [["a+Noun"], []])
    with pytest.raises(ValueError, match="no stemmer candidates"):
        stemmer_inputs(["a", "b"], [["a+Noun"], []])
    with pytest.raises(ValueError):
        stemmer_inputs(["a", "b"], [["a+Noun"]])


def test_empty_sentence_has_empty_arrays() -> None:
    shapes = [a.shape for a in stemmer_inputs([], [])]
    assert shapes == [(0, 10, 10), (0, 10, 15), (0, 40, 15), (0, 40, 15)]


def test_through_stemmer_analyzer_predict(
    sample_texts: list[str], treebank_sentences: list[list[str]], stemmer_module: ModuleType, same: Same
) -> None:
    """VNLP's own predict, with the deterministic generator swapped in, feeds the model our arrays."""
    from vnlp.utils import load_keras_tokenizer

    tf = tensorflow()
    analyzer = stemmer_module.StemmerAnalyzer.__new__(stemmer_module.StemmerAnalyzer)  # no weights needed
    analyzer.tokenizer_char = load_keras_tokenizer(stemmer_module.TOKENIZER_CHAR_LOC)
    analyzer.tokenizer_tag = load_keras_tokenizer(stemmer_module.TOKENIZER_TAG_LOC)
    analyzer.candidate_generator = None
    use_deterministic_candidates(analyzer)
    seen: list[list[np.ndarray]] = []

    def fake_model(x: tuple[np.ndarray, ...]) -> Any:
        seen.append([np.asarray(a) for a in x])
        return tf.ones((len(x[0]), NUM_MAX_ANALYSIS))

    analyzer.model = fake_model
    # Sentences over 64 tokens are sliced by VNLP into several model calls: concatenated below.
    assert any(len(tokens) > 64 for tokens in treebank_sentences)
    for i in range(len(sample_texts)):
        seen.clear()
        analyzer.predict(sample_texts[i])
        fed = [np.concatenate([call[k] for call in seen]) for k in range(4)]
        tokens = treebank_sentences[i]
        for a, b in zip(stemmer_inputs(tokens, sentence_candidates(tokens)), fed, strict=True):
            same(a, b, np.int32)
