"""SPUContextPoS/NER/DP word and context inputs, equal to VNLP 0.2.4's `vnlp.utils.process_word_context`.

VNLP encodes each word with the SentencePiece model `resources/SPU_word_tokenizer_16k.model`
(`encode_as_ids`, no BOS/EOS) and pads it to TOKEN_PIECE_MAX_LEN = 8 ids, pre-padded and pre-truncated
(the *last* 8 pieces are kept). For token t the left context is the pieces of the 40 words before t,
pre-padded with zero rows; the right context is the 40 words after t, post-padded — a sliding window
for sentences over 40 tokens. VNLP re-encodes every context word for every t; here each word form is
encoded once and every window is a slice of one zero-bordered array.

The prediction-history input (one-hot PoS/NER labels, DP arc‖label) is the decoder's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np
import sentencepiece as spm

from vnlp_batch.featurize.vocab import ENCODING_CACHE_SIZE, pad_ids, readonly
from vnlp_batch.featurize.windows import WINDOW, pad_context
from vnlp_batch.models.resources import SPU_MODEL, vnlp_resource

TOKEN_PIECE_MAX_LEN = 8

# Offsets of token t's windows from the start of its left window in the padded rows.
_LEFT = np.arange(WINDOW)
_RIGHT = np.arange(WINDOW + 1, 2 * WINDOW + 1)


@cache
def spu_processor() -> spm.SentencePieceProcessor:
    """VNLP's SentencePiece unigram model (16k pieces), shared by SPUContext* and the sentiment model."""
    return spm.SentencePieceProcessor(model_file=str(vnlp_resource(SPU_MODEL)))


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def piece_row(word: str) -> np.ndarray:
    """`tokenize_single_word(word, …, 8)`: last 8 SentencePiece ids, pre-padded; int32, read-only."""
    return readonly(pad_ids(spu_processor().encode_as_ids(word), TOKEN_PIECE_MAX_LEN, "pre", "pre"))


def word_pieces(tokens: Sequence[str]) -> np.ndarray:
    """Piece rows of a sentence's tokens: (n, 8) int32."""
    if not tokens:
        return np.zeros((0, TOKEN_PIECE_MAX_LEN), np.int32)
    return np.stack([piece_row(token) for token in tokens])


def context_windows(pieces: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`process_word_context(t, …)` from a sentence's piece rows: word (8,), left (40, 8), right (40, 8)."""
    n = pieces.shape[0]
    if not 0 <= t < n:
        raise IndexError(f"token {t} of a {n}-token sentence")
    left = np.zeros((WINDOW, TOKEN_PIECE_MAX_LEN), np.int32)
    right = np.zeros((WINDOW, TOKEN_PIECE_MAX_LEN), np.int32)
    k = min(t, WINDOW)
    left[WINDOW - k :] = pieces[t - k : t]
    m = min(n - t - 1, WINDOW)
    right[:m] = pieces[t + 1 : t + 1 + m]
    return np.array(pieces[t], np.int32), left, right


def padded_pieces(pieces: np.ndarray) -> np.ndarray:
    """40 zero rows + `pieces` + 40 zero rows: (n + 80, 8) int32.

    For token t: left = `p[t : t+40]`, word = `p[t+40]`, right = `p[t+41 : t+81]`.
    """
    return pad_context(np.asarray(pieces, np.int32), WINDOW)


def stack_padded(padded: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate several sentences' `padded_pieces` into one bank: (bank, offset of each sentence)."""
    lengths = np.fromiter((p.shape[0] for p in padded), np.int64, len(padded))
    offsets = np.zeros(len(padded), np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    bank = np.concatenate(padded) if padded else np.zeros((0, TOKEN_PIECE_MAX_LEN), np.int32)
    return bank, offsets


def rows_from_bank(bank: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model rows for tokens whose padded rows begin at `starts` (= sentence offset + t) in `bank`.

    Three fancy-indexing gathers give word (B, 8), left (B, 40, 8) and right (B, 40, 8), C-contiguous
    float32 (the models' Input dtype; piece ids < 2**24 are exact in float32).
    """
    starts = np.asarray(starts, np.int64)
    left = bank[starts[:, None] + _LEFT].astype(np.float32)
    word = bank[starts + WINDOW].astype(np.float32)
    right = bank[starts[:, None] + _RIGHT].astype(np.float32)
    return word, left, right


def batch_rows(padded: Sequence[np.ndarray], ts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word (B, 8), left (B, 40, 8) and right (B, 40, 8) float32 rows: token `ts[b]` of sentence `padded[b]`.

    A decoder that calls this at every step can build the bank once with `stack_padded` and call
    `rows_from_bank` instead.
    """
    if len(padded) != len(ts):
        raise ValueError(f"{len(padded)} sentences but {len(ts)} positions")
    for p, t in zip(padded, ts, strict=True):
        if not 0 <= t < p.shape[0] - 2 * WINDOW:
            raise IndexError(f"token {t} of a {p.shape[0] - 2 * WINDOW}-token sentence")
    bank, offsets = stack_padded(padded)
    return rows_from_bank(bank, offsets + np.asarray(ts, np.int64))
