"""StemmerAnalyzer inputs, equal to VNLP 0.2.4's `_melik_utils.process_input_text`, in numpy.

Also home of the small pieces every featurizer shares: VNLP resource paths, a numpy re-implementation
of Keras's `Tokenizer.texts_to_sequences` and `pad_sequences` for one sequence, and the 40-row
left/right context windows that VNLP builds with Python loops for every token.

VNLP's layout, per token j of a sentence (constants of `stemmer_morph_analyzer.stemmer_morph_analyzer`):
- stems (10, 10): the first 10 candidates' roots (text before the first `+`), char ids, pre-padded and
  pre-truncated to 10 (the last 10 chars are kept); missing candidates are zero rows.
- tags (10, 15): the candidates' `split("+")[1:]` tag ids, pre-padded and pre-truncated to 15.
- left (40, 15): the surface tokens `tokens[max(0, j-40):j]`, each as 15 char ids (pre/pre), and the
  window pre-padded with zero rows; right (40, 15): `tokens[j+1:j+41]`, post-padded with zero rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from vnlp_batch.models.declarations import STEMMER_CHARS, STEMMER_TAGS

NUM_MAX_ANALYSIS = 10
STEM_MAX_LEN = 10
TAG_MAX_LEN = 15
SURFACE_TOKEN_MAX_LEN = 15
SENTENCE_MAX_LEN = 40

# Per-token and per-candidate encodings are cached; a corpus has far more distinct tokens than this,
# but the frequent ones (most of running text) stay cached and memory stays bounded.
ENCODING_CACHE_SIZE = 2**18

Side = Literal["pre", "post"]


@cache
def vnlp_resource(relative: str) -> Path:
    """Absolute path of a file shipped inside the installed `vnlp` package."""
    from vnlp_batch.models.labels import vnlp_package_dir

    return vnlp_package_dir() / relative


class KerasVocab:
    """Keras `Tokenizer.texts_to_sequences` for one text, without Keras.

    Only the two paths VNLP uses: a list of tokens (each looked up whole) and, for `char_level`
    tokenizers, a string (each character looked up). Ids >= `num_words` become the OOV id, unknown
    items become the OOV id, and both are dropped when the tokenizer has no OOV token — as in Keras.
    """

    def __init__(
        self,
        word_index: Mapping[str, int],
        oov_token: str | None = None,
        num_words: int | None = None,
        lower: bool = False,
        char_level: bool = False,
    ) -> None:
        self.word_index = dict(word_index)
        self.oov_token = oov_token
        self.num_words = num_words
        self.lower = lower
        self.char_level = char_level
        oov_index = self.word_index.get(oov_token) if oov_token is not None else None
        # Each known item's final id (None = dropped), so that a lookup is one dict access.
        self._table: dict[str, int | None] = {
            item: oov_index if num_words and index >= num_words else index
            for item, index in self.word_index.items()
        }
        # Keras appends the OOV id for unknown items whenever an oov_token is set, else drops them.
        self._unknown = oov_index

    def ids(self, text: str | Sequence[str]) -> list[int]:
        """`texts_to_sequences([text])[0]`."""
        if isinstance(text, str):
            if not self.char_level:
                raise NotImplementedError("word-level tokenizers are only called with token lists in VNLP")
            items: Sequence[str] = text.lower() if self.lower else text
        else:
            items = [item.lower() for item in text] if self.lower else text
        table, unknown = self._table, self._unknown
        out = []
        for item in items:
            index = table.get(item, unknown)
            if index is not None:
                out.append(index)
        return out

    def __contains__(self, item: str) -> bool:
        return item in self.word_index


@cache
def keras_vocab(resource: str) -> KerasVocab:
    """A VNLP Keras tokenizer JSON (path relative to the vnlp package) as a `KerasVocab`."""
    # VNLP's load_keras_tokenizer reads only the first line of the file; so do we.
    with vnlp_resource(resource).open(encoding="utf-8") as f:
        config = json.loads(f.readline())["config"]
    return KerasVocab(
        word_index=json.loads(config["word_index"]),
        oov_token=config.get("oov_token"),
        num_words=config.get("num_words"),
        lower=bool(config.get("lower", True)),
        char_level=bool(config.get("char_level", False)),
    )


def pad_ids(ids: Sequence[int], maxlen: int, padding: Side = "pre", truncating: Side = "pre") -> np.ndarray:
    """`pad_sequences([ids], maxlen, padding=…, truncating=…)[0]`: int32, zeros as padding."""
    out = np.zeros(maxlen, np.int32)
    if not ids:
        return out
    kept = ids[-maxlen:] if truncating == "pre" else ids[:maxlen]
    if padding == "post":
        out[: len(kept)] = kept
    else:
        out[maxlen - len(kept) :] = kept
    return out


def pad_context(rows: np.ndarray, width: int = SENTENCE_MAX_LEN) -> np.ndarray:
    """`rows` with `width` zero rows before and after: shape (n + 2·width, …).

    Then the left window of token t (the `width` rows before it, pre-padded) is `padded[t : t+width]`
    and its right window (the `width` rows after it, post-padded) is `padded[t+width+1 : t+2·width+1]`.
    """
    padded = np.zeros((rows.shape[0] + 2 * width, *rows.shape[1:]), rows.dtype)
    padded[width : width + rows.shape[0]] = rows
    return padded


def context_windows_all(rows: np.ndarray, width: int = SENTENCE_MAX_LEN) -> tuple[np.ndarray, np.ndarray]:
    """Left and right windows of every token at once: two arrays of shape (n, width, …)."""
    padded = pad_context(rows, width)
    starts = np.arange(rows.shape[0])[:, None] + np.arange(width)[None, :]
    return padded[starts], padded[starts + width + 1]


def _readonly(array: np.ndarray) -> np.ndarray:
    # Cached arrays are shared by every caller: make accidental in-place edits fail loudly.
    array.flags.writeable = False
    return array


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def surface_row(token: str) -> np.ndarray:
    """One surface token as SURFACE_TOKEN_MAX_LEN char ids (pre-padded, pre-truncated), read-only."""
    return _readonly(pad_ids(keras_vocab(STEMMER_CHARS).ids(token), SURFACE_TOKEN_MAX_LEN))


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def candidate_rows(candidate: str) -> tuple[np.ndarray, np.ndarray]:
    """One `root+Tag+…` candidate as (stem char ids (10,), tag ids (15,)), read-only."""
    parts = candidate.split("+")
    stem = pad_ids(keras_vocab(STEMMER_CHARS).ids(parts[0]), STEM_MAX_LEN)
    tags = pad_ids(keras_vocab(STEMMER_TAGS).ids(parts[1:]), TAG_MAX_LEN)
    return _readonly(stem), _readonly(tags)


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def _candidate_block(candidates: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    stems = np.zeros((NUM_MAX_ANALYSIS, STEM_MAX_LEN), np.int32)
    tags = np.zeros((NUM_MAX_ANALYSIS, TAG_MAX_LEN), np.int32)
    # VNLP keeps the first NUM_MAX_ANALYSIS candidates; the model never sees the rest.
    for slot, candidate in enumerate(candidates[:NUM_MAX_ANALYSIS]):
        stems[slot], tags[slot] = candidate_rows(candidate)
    return _readonly(stems), _readonly(tags)


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
