"""CharNER inputs and decoding, equal to VNLP 0.2.4's `CharNER` (`named_entity_recognizer/charner.py`).

- Input (`_predict_char_level`): the WordPunct tokens joined by single spaces, as a list of
  characters, through the CharNER Keras tokenizer (not char-level, so each character is looked up
  whole; num_words=150 turns ids >= 150 into `<OOV>`=1, unknown characters too), post-padded to 256.
  `pad_sequences` truncates "pre" by default, so a longer text would keep its *last* 256 characters,
  but `predict` never sends one: it splits first.
- Split (`predict`): when the joined text is longer than 256 characters, the token list is halved
  (`n // 2`) and each half is predicted recursively; a half is re-tokenized from its joined text,
  which gives back the same tokens. A single token longer than 256 characters makes VNLP recurse
  until RecursionError; here it is a ValueError.
- Decoding (`_charner_decoder`): token i owns the characters `[cumsum[i], cumsum[i+1] - 1)` of the
  per-character argmax (its own characters, not the space after it) and takes their mode, ties
  going to the lowest label id (`np.unique` sorts, `np.argmax` takes the first maximum).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vnlp_batch.featurize.vocab import keras_vocab, pad_ids
from vnlp_batch.models.resources import CHARNER_CHARS

SEQ_LEN_MAX = 256


def joined_length(tokens: Sequence[str]) -> int:
    """Characters in `" ".join(tokens)`, the length VNLP compares with 256."""
    return sum(len(token) for token in tokens) + max(len(tokens) - 1, 0)


def charner_inputs(word_punct_tokens: Sequence[str]) -> np.ndarray:
    """The (1, 256) float32 model input for tokens whose joined length is at most 256."""
    ids = keras_vocab(CHARNER_CHARS).ids(list(" ".join(word_punct_tokens)))
    return pad_ids(ids, SEQ_LEN_MAX, padding="post", truncating="pre")[None].astype(np.float32)


def split_for_length(tokens: Sequence[str]) -> list[list[str]]:
    """The token lists `CharNER.predict` runs the model on, in order (one list if no split is needed)."""
    leaves: list[list[str]] = []
    pending: list[Sequence[str]] = [tokens]
    # Depth-first, first half before second half, without Python recursion.
    while pending:
        part = pending.pop()
        if joined_length(part) <= SEQ_LEN_MAX:
            leaves.append(list(part))
            continue
        if len(part) == 1:
            raise ValueError(
                f"a token of {len(part[0])} characters is longer than CharNER's {SEQ_LEN_MAX}; "
                "VNLP 0.2.4 recurses on it until RecursionError"
            )
        half = len(part) // 2
        pending.append(part[half:])
        pending.append(part[:half])
    return leaves


def token_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Each token's [start, stop) character range in the model input (the space after it excluded)."""
    spans = []
    start = 0
    for token in tokens:
        spans.append((start, start + len(token)))
        start += len(token) + 1
    return spans


def decode_entities(tokens: Sequence[str], char_labels: Sequence[int] | np.ndarray) -> list[int]:
    """Per-token label id: the mode of the token's per-character labels, ties to the lowest id.

    `char_labels` is the per-character argmax of one model output (length 256). An empty span (an
    empty token) is an error, as in VNLP (`np.argmax` of an empty sequence).
    """
    labels = np.asarray(char_labels).reshape(-1)
    if not tokens:
        return []
    spans = np.asarray(token_spans(tokens), np.int64)
    # Python slicing clips at the end of the array; so does VNLP's `arg_max_pred[lo:hi]`.
    starts = np.minimum(spans[:, 0], labels.shape[0])
    lengths = np.minimum(spans[:, 1], labels.shape[0]) - starts
    if (lengths <= 0).any():
        empty = int(np.argmax(lengths <= 0))
        raise ValueError(f"token {empty} ({tokens[empty]!r}) has no characters to take the mode of")
    owner = np.repeat(np.arange(len(tokens)), lengths)
    first = np.cumsum(lengths) - lengths
    values = labels[np.arange(lengths.sum()) - np.repeat(first, lengths) + np.repeat(starts, lengths)]
    if values.min() < 0:
        raise ValueError("character labels must be non-negative class ids")
    width = int(values.max()) + 1
    counts = np.bincount(owner * width + values.astype(np.int64), minlength=len(tokens) * width)
    # argmax takes the first maximum: the lowest label id among tied counts, as np.unique + argmax.
    return counts.reshape(len(tokens), width).argmax(axis=1).tolist()
