"""StemmerAnalyzer inputs, equal to VNLP 0.2.4's `_melik_utils.process_input_text`, in numpy.

VNLP's layout, per token j of a sentence (constants of `stemmer_morph_analyzer.stemmer_morph_analyzer`):
- stems (10, 10): the first 10 candidates' roots (text before the first `+`), char ids, pre-padded and
  pre-truncated to 10 (the last 10 chars are kept); missing candidates are zero rows.
- tags (10, 15): the candidates' `split("+")[1:]` tag ids, pre-padded and pre-truncated to 15.
- left (40, 15): the surface tokens `tokens[max(0, j-40):j]`, each as 15 char ids (pre/pre), and the
  window pre-padded with zero rows; right (40, 15): `tokens[j+1:j+41]`, post-padded with zero rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from vnlp_batch.featurize.vocab import ENCODING_CACHE_SIZE, keras_vocab, pad_ids, readonly
from vnlp_batch.featurize.windows import context_windows_all
from vnlp_batch.models.resources import STEMMER_CHARS, STEMMER_TAGS

NUM_MAX_ANALYSIS = 10
STEM_MAX_LEN = 10
TAG_MAX_LEN = 15
SURFACE_TOKEN_MAX_LEN = 15


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def surface_row(token: str) -> np.ndarray:
    """One surface token as SURFACE_TOKEN_MAX_LEN char ids (pre-padded, pre-truncated), read-only."""
    return readonly(pad_ids(keras_vocab(STEMMER_CHARS).ids(token), SURFACE_TOKEN_MAX_LEN))


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def candidate_rows(candidate: str) -> tuple[np.ndarray, np.ndarray]:
    """One `root+Tag+…` candidate as (stem char ids (10,), tag ids (15,)), read-only."""
    parts = candidate.split("+")
    stem = pad_ids(keras_vocab(STEMMER_CHARS).ids(parts[0]), STEM_MAX_LEN)
    tags = pad_ids(keras_vocab(STEMMER_TAGS).ids(parts[1:]), TAG_MAX_LEN)
    return readonly(stem), readonly(tags)


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def _candidate_block(candidates: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    stems = np.zeros((NUM_MAX_ANALYSIS, STEM_MAX_LEN), np.int32)
    tags = np.zeros((NUM_MAX_ANALYSIS, TAG_MAX_LEN), np.int32)
    # VNLP keeps the first NUM_MAX_ANALYSIS candidates; the model never sees the rest.
    for slot, candidate in enumerate(candidates[:NUM_MAX_ANALYSIS]):
        stems[slot], tags[slot] = candidate_rows(candidate)
    return readonly(stems), readonly(tags)


def stemmer_inputs(tokens: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """The four StemmerAnalyzer inputs of one sentence, int32:
    stems (n, 10, 10), tags (n, 10, 15), left surface (n, 40, 15), right surface (n, 40, 15).

    Equal to `process_input_text([[tokens, candidates]], …, exclude_unambigious=False, shuffle=False)[0]`
    with VNLP's constants, for any sentence length. A token without candidates is an error, as in VNLP
    (which fails there with an IndexError); VNLP's generator always gives at least `word+Unknown`.
    """
    n = len(tokens)
    if len(candidates) != n:
        raise ValueError(f"{n} tokens but {len(candidates)} candidate lists")
    stems = np.empty((n, NUM_MAX_ANALYSIS, STEM_MAX_LEN), np.int32)
    tags = np.empty((n, NUM_MAX_ANALYSIS, TAG_MAX_LEN), np.int32)
    surface = np.empty((n, SURFACE_TOKEN_MAX_LEN), np.int32)
    for j, (token, token_candidates) in enumerate(zip(tokens, candidates, strict=True)):
        if not token_candidates:
            raise ValueError(f"token {j} ({token!r}) has no stemmer candidates")
        stems[j], tags[j] = _candidate_block(tuple(token_candidates))
        surface[j] = surface_row(token)
    left, right = context_windows_all(surface)
    return [stems, tags, left, right]
