"""TreeStack rows against VNLP's process_single_word_input (PoS and DP), for every token of the corpus."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from vnlp_batch.featurize.candidates import sentence_candidates
from vnlp_batch.featurize.treestack import (
    ARC_LABEL_VECTOR_LEN,
    POS_VECTOR_SIZE,
    TAG_MAX_LEN,
    TreeStackDPStatic,
    dp_pos_ids,
    preprocess_word,
    treestack_dp_row,
    treestack_dp_static,
    treestack_pos_row,
    treestack_static,
)
from vnlp_batch.featurize.windows import WINDOW as SENTENCE_MAX_LEN
from vnlp_batch.vnlp_env import vnlp_module

Same = Callable[[np.ndarray, object, type], None]


@pytest.fixture(scope="module")
def pos_module() -> ModuleType:
    return vnlp_module("part_of_speech_tagger.treestack_pos")


@pytest.fixture(scope="module")
def dp_module() -> ModuleType:
    return vnlp_module("dependency_parser.treestack_dp")


@pytest.fixture(scope="module")
def pos_labels(pos_module: ModuleType) -> list[str]:
    index_word = pos_module.tokenizer_pos_label.index_word
    return [index_word[i] for i in sorted(index_word)]


@pytest.fixture(scope="module")
def analyses(all_sentences: list[list[str]]) -> list[list[str]]:
    """First deterministic candidate per token, in the form StemmerAnalyzer.predict returns it."""
    return [[c[0].replace("+DB", "^DB") for c in sentence_candidates(tokens)] for tokens in all_sentences]


def test_constants_are_vnlps(pos_module: ModuleType, dp_module: ModuleType) -> None:
    assert (SENTENCE_MAX_LEN, TAG_MAX_LEN) == (pos_module.SENTENCE_MAX_LEN, pos_module.TAG_MAX_LEN)
    assert (SENTENCE_MAX_LEN, TAG_MAX_LEN) == (dp_module.SENTENCE_MAX_LEN, dp_module.TAG_MAX_LEN)
    assert POS_VECTOR_SIZE == pos_module.POS_VOCAB_SIZE + 1
    assert ARC_LABEL_VECTOR_LEN == dp_module.ARC_LABEL_VECTOR_LEN
    assert pos_module.WORD_FORM == dp_module.WORD_FORM == "whole"


def test_preprocess_word_equals_vnlps(all_sentences: list[list[str]], edge_tokens: list[str]) -> None:
    vnlp_preprocess = vnlp_module("part_of_speech_tagger._treestack_utils").preprocess_word
    for token in {t for tokens in all_sentences for t in tokens} | set(edge_tokens) | {"²³", "Ⅻ", "ǅ"}:
        assert preprocess_word(token) == vnlp_preprocess(token), token


def test_treestack_pos_rows_equal_vnlps(
    all_sentences: list[list[str]], analyses: list[list[str]], pos_module: ModuleType, same: Same
) -> None:
    utils = vnlp_module("part_of_speech_tagger._treestack_utils")
    m = pos_module
    rng = np.random.default_rng(0)
    rows = 0
    for tokens, sentence_analyses in zip(all_sentences, analyses, strict=True):
        static = treestack_static(tokens, sentence_analyses)
        plus = [a.replace("^", "+") for a in sentence_analyses]  # what TreeStackPoS.predict passes
        history = rng.integers(0, POS_VECTOR_SIZE, len(tokens)).tolist()  # 0 included: nothing stops it
        for t in range(len(tokens)):
            theirs = utils.process_single_word_input(
                t, tokens, plus, m.SENTENCE_MAX_LEN, m.TAG_MAX_LEN, m.tokenizer_word,
                m.tokenizer_morph_tag, m.tokenizer_pos_label, history[:t], m.WORD_FORM,
            )  # fmt: skip
            ours = treestack_pos_row(static, t, history)
            assert len(ours) == len(theirs) == 7
            for a, b in zip(ours, theirs, strict=True):
                same(a, b, np.float32)
            rows += 1
    assert rows > 5500


def _vnlp_dp_row(
    m: ModuleType,
    t: int,
    tokens: list[str],
    plus: list[str],
    arcs: list[int],
    labels: list[int],
    pos_labels: list[str],
) -> Any:
    utils = vnlp_module("dependency_parser._treestack_utils")
    try:
        return utils.process_single_word_input(
            t, tokens, plus, m.SENTENCE_MAX_LEN, m.TAG_MAX_LEN, m.ARC_LABEL_VECTOR_LEN,
            m.tokenizer_word, m.tokenizer_tag, m.tokenizer_label, m.tokenizer_pos,
            arcs[:t], labels[:t], pos_labels, m.WORD_FORM,
        )  # fmt: skip
    except (IndexError, ValueError) as error:
        return type(error)


def _ours_dp_row(static: TreeStackDPStatic, t: int, arcs: list[int], labels: list[int]) -> Any:
    try:
        return treestack_dp_row(static, t, arcs, labels)
    except (IndexError, ValueError) as error:
        return type(error)


def test_treestack_dp_rows_equal_vnlps(
    all_sentences: list[list[str]],
    analyses: list[list[str]],
    dp_module: ModuleType,
    pos_labels: list[str],
    same: Same,
) -> None:
    rng = np.random.default_rng(1)
    rows = failures = 0
    for tokens, sentence_analyses in zip(all_sentences, analyses, strict=True):
        labels_in = [str(p) for p in rng.choice(pos_labels, len(tokens))]
        static = treestack_dp_static(tokens, sentence_analyses, labels_in)
        plus = [a.replace("^", "+") for a in sentence_analyses]  # what TreeStackDP.predict passes
        arcs = rng.integers(0, SENTENCE_MAX_LEN + 1, len(tokens)).tolist()
        rels = rng.integers(0, ARC_LABEL_VECTOR_LEN - SENTENCE_MAX_LEN - 1, len(tokens)).tolist()
        for t in range(len(tokens)):
            # The token list, not 0.2.4's sentence string (vnlp-batch's documented fix).
            theirs = _vnlp_dp_row(dp_module, t, tokens, plus, arcs, rels, labels_in)
            ours = _ours_dp_row(static, t, arcs, rels)
            if isinstance(theirs, type):
                # > 40 tokens: VNLP's function fails for t > 40 or > 40 tokens after t, and so do we.
                assert ours is theirs, (len(tokens), t)
                assert t > SENTENCE_MAX_LEN or len(tokens) - 1 - t > SENTENCE_MAX_LEN
                failures += 1
                continue
            assert not isinstance(ours, type), (len(tokens), t, ours)
            assert len(ours) == len(theirs) == 10
            for a, b in zip(ours, theirs, strict=True):
                same(a, b, np.float32)
            rows += 1
    assert rows > 4000 and failures > 0


def test_treestack_dp_drops_unknown_pos_labels_like_vnlp(
    treebank_sentences: list[list[str]], dp_module: ModuleType, same: Same
) -> None:
    # '' is what VNLP's PoS taggers return for output 0; the DP's PoS tokenizer has no OOV, so it
    # drops it and every later PoS id shifts left (and the last tokens have none: IndexError).
    tokens = next(t for t in treebank_sentences if 8 <= len(t) <= 20)
    plus = [c[0] for c in sentence_candidates(tokens)]
    labels_in = ["NOUN"] * len(tokens)
    labels_in[2] = ""
    labels_in[5] = "NOT_A_TAG"
    assert len(dp_pos_ids(labels_in)) == len(tokens) - 2
    static = treestack_dp_static(tokens, plus, labels_in)
    arcs = list(range(len(tokens)))
    rels = [i % 40 for i in range(len(tokens))]
    for t in range(len(tokens)):
        theirs = _vnlp_dp_row(dp_module, t, tokens, plus, arcs, rels, labels_in)
        ours = _ours_dp_row(static, t, arcs, rels)
        if isinstance(theirs, type):
            assert theirs is IndexError and ours is IndexError
            assert t >= len(tokens) - 2
            continue
        for a, b in zip(ours, theirs, strict=True):
            same(a, b, np.float32)


def test_row_errors_and_static_shapes() -> None:
    static = treestack_static(["Bu", "film"], ["bu+Det", "film+Noun+A3sg+Pnon+Nom"])
    assert static.word.shape == (2, 1) and static.lc_tags.shape == (2, 40, 15)
    with pytest.raises(IndexError):
        treestack_pos_row(static, 2, [1, 1])
    with pytest.raises(ValueError, match="previous predictions"):
        treestack_pos_row(static, 1, [])
    with pytest.raises(ValueError):
        treestack_static(["Bu"], [])
    empty = treestack_static([], [])
    assert empty.n == 0 and empty.lc_words.shape == (0, 40)
