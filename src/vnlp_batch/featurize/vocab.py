"""VNLP's Keras tokenizers as plain lookups, and Keras's `pad_sequences`, for one sequence.

VNLP turns tokens, characters and tags into ids with Keras `Tokenizer`s (JSON files among its
resources, `models/resources.py`) and pads them with `pad_sequences`; every featurizer here does the
same per token, without Keras, and caches the result per token (at most ENCODING_CACHE_SIZE of them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Literal

import numpy as np

from vnlp_batch.models.resources import vnlp_resource

# Per-token and per-candidate encodings are cached; a corpus has far more distinct tokens than this,
# but the frequent ones (most of running text) stay cached and memory stays bounded.
ENCODING_CACHE_SIZE = 2**18

Side = Literal["pre", "post"]


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


def readonly(array: np.ndarray) -> np.ndarray:
    """`array`, made read-only: cached arrays are shared by every caller, so an accidental in-place
    edit must fail loudly."""
    array.flags.writeable = False
    return array
