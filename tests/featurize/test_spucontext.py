"""SPUContext word/context inputs against VNLP's tokenize_single_word and process_word_context."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from vnlp_batch.featurize.spucontext import (
    batch_rows,
    context_windows,
    padded_pieces,
    piece_row,
    rows_from_bank,
    stack_padded,
    word_pieces,
)
from vnlp_batch.vnlp_env import vnlp_module

Same = Callable[[np.ndarray, object, type], None]


@pytest.fixture(scope="module")
def vnlp_utils() -> ModuleType:
    return vnlp_module("utils")


@pytest.fixture(scope="module")
def spu() -> Any:
    return vnlp_module("part_of_speech_tagger.spu_context_pos").spu_tokenizer_word


def test_word_pieces_equal_tokenize_single_word(
    all_sentences: list[list[str]], vnlp_utils: ModuleType, spu: Any, same: Same
) -> None:
    tokens = sorted({token for sentence in all_sentences for token in sentence})
    ours = word_pieces(tokens)
    reference = np.stack([vnlp_utils.tokenize_single_word(token, spu, 8) for token in tokens])
    same(ours, reference, np.int32)
    # Pre-truncation keeps the last 8 pieces of long words, and the 60-char token needs it.
    assert len(spu.encode_as_ids("a" * 60)) > 8
    assert word_pieces([]).shape == (0, 8)


@pytest.fixture(scope="module")
def vnlp_windows(
    all_sentences: list[list[str]], vnlp_utils: ModuleType, spu: Any
) -> list[list[tuple[np.ndarray, ...]]]:
    """VNLP's process_word_context for every token of every sentence."""
    return [
        [vnlp_utils.process_word_context(t, tokens, spu, 40, 8) for t in range(len(tokens))]
        for tokens in all_sentences
    ]


def test_context_windows_equal_process_word_context(
    all_sentences: list[list[str]], vnlp_windows: list[list[tuple[np.ndarray, ...]]], same: Same
) -> None:
    checked = 0
    for tokens, references in zip(all_sentences, vnlp_windows, strict=True):
        pieces = word_pieces(tokens)
        for t, theirs in enumerate(references):
            for a, b in zip(context_windows(pieces, t), theirs, strict=True):
                same(a, b, np.int32)
            checked += 1
    assert checked > 5500
    assert any(len(tokens) > 100 for tokens in all_sentences)


def test_batch_rows_equal_process_word_context(
    all_sentences: list[list[str]], vnlp_windows: list[list[tuple[np.ndarray, ...]]], same: Same
) -> None:
    padded = [padded_pieces(word_pieces(tokens)) for tokens in all_sentences]
    # Decoder-shaped batches: step t over every sentence longer than t.
    for t in range(max(len(tokens) for tokens in all_sentences)):
        active = [i for i, tokens in enumerate(all_sentences) if len(tokens) > t]
        word, left, right = batch_rows([padded[i] for i in active], [t] * len(active))
        for row, i in enumerate(active):
            theirs = vnlp_windows[i][t]
            same(word[row], theirs[0], np.float32)
            same(left[row], theirs[1], np.float32)
            same(right[row], theirs[2], np.float32)


def test_rows_from_a_prebuilt_bank_and_mixed_positions(
    treebank_sentences: list[list[str]], same: Same
) -> None:
    sentences = treebank_sentences[:20]
    padded = [padded_pieces(word_pieces(tokens)) for tokens in sentences]
    bank, offsets = stack_padded(padded)
    ts = [(7 * i) % len(tokens) for i, tokens in enumerate(sentences)]
    word, left, right = rows_from_bank(bank, offsets + np.asarray(ts))
    expected = batch_rows(padded, ts)
    for a, b in zip((word, left, right), expected, strict=True):
        same(a, b, np.float32)
        assert a.flags.c_contiguous  # onnxruntime copies non-contiguous inputs
    for row, (tokens, t) in enumerate(zip(sentences, ts, strict=True)):
        single = context_windows(word_pieces(tokens), t)
        same(left[row], single[1], np.float32)


def test_padded_layout_and_errors() -> None:
    pieces = word_pieces(["Bu", "film", "güzel"])
    padded = padded_pieces(pieces)
    assert padded.shape == (3 + 80, 8)
    assert not padded[:40].any() and not padded[43:].any()
    assert np.array_equal(padded[40:43], pieces)
    with pytest.raises(IndexError):
        batch_rows([padded], [3])
    with pytest.raises(IndexError):
        context_windows(pieces, -1)
    with pytest.raises(ValueError):
        piece_row("film")[0] = 5  # cached rows are read-only
