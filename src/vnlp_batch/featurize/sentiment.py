"""Sentiment (SPUCBiGRU) inputs, equal to VNLP 0.2.4's `process_text_input` and `predict_proba`'s split.

- Input: SentencePiece ids of the raw text (`encode_as_ids`), zeros prepended up to 256, never
  truncated — a longer text keeps all its ids (VNLP builds that array too, then does not use it).
- Split: when a text has more than 256 ids, `predict_proba` splits it on whitespace into halves
  (`words[:k]`, `words[k:]`, k = len(words) // 2, each re-joined by single spaces, re-encoded) and
  returns `(p(first) + p(second)) / 2`, recursively. The result depends on the nesting and on float32
  rounding, so the split is kept as a tree and `SentimentSplit.combine` redoes the same arithmetic.
  A text whose single whitespace-separated word has more than 256 ids makes VNLP recurse until
  RecursionError; here it is an `UnsplittableTextError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from vnlp_batch.featurize.spucontext import spu_processor

TEXT_MAX_LEN = 256

# A leaf is the text sent to the model; a node is (first half, second half).
SplitTree: TypeAlias = str | tuple["SplitTree", "SplitTree"]


class UnsplittableTextError(ValueError):
    """A text VNLP's sentiment model cannot process: one word longer than 256 pieces."""


def _padded(ids: list[int]) -> np.ndarray:
    # VNLP pads manually: zeros prepended up to TEXT_MAX_LEN, nothing removed when longer.
    row = np.zeros(max(TEXT_MAX_LEN, len(ids)), np.float32)
    row[row.shape[0] - len(ids) :] = ids
    return row[None]


def sentiment_pieces(text: str) -> np.ndarray:
    """`process_text_input(text, spu, 256)` as float32: (1, 256), or (1, m) when the text has m > 256 ids."""
    return _padded(spu_processor().encode_as_ids(text))


@dataclass(frozen=True)
class SentimentSplit:
    """How VNLP's `predict_proba` evaluates one text: the split tree, its leaves and their inputs."""

    tree: SplitTree
    leaves: tuple[str, ...]  # leaf texts, depth-first, first half first
    depths: tuple[int, ...]  # each leaf's depth in the tree (0 = the text itself)
    inputs: np.ndarray  # (len(leaves), 256) float32 model inputs, one per leaf

    @property
    def weights(self) -> tuple[float, ...]:
        """Each leaf's share of the final probability (2**-depth); summing with them is only approximate."""
        return tuple(0.5**depth for depth in self.depths)

    def combine(self, leaf_probs: Sequence[float] | np.ndarray) -> np.float32:
        """The probability VNLP returns, given the model's output for each leaf (in `leaves` order).

        Same operations in the same order as VNLP: `(first + second) / 2` on float32 scalars at
        every node, so the result is bit-identical to `predict_proba`.
        """
        probs = [np.float32(p) for p in np.asarray(leaf_probs, np.float32).reshape(-1)]
        if len(probs) != len(self.leaves):
            raise ValueError(f"{len(self.leaves)} leaves but {len(probs)} probabilities")
        return _evaluate(self.tree, iter(probs))


def _evaluate(node: SplitTree, probs: Iterator[np.float32]) -> np.float32:
    if isinstance(node, str):
        return next(probs)
    first = _evaluate(node[0], probs)
    second = _evaluate(node[1], probs)
    return (first + second) / 2  # VNLP's expression verbatim: numpy's scalar rules decide the dtype


def split_for_length(text: str) -> SentimentSplit:
    """The split `predict_proba` makes of `text` (a single leaf when it has at most 256 ids)."""
    leaves: list[str] = []
    depths: list[int] = []
    rows: list[np.ndarray] = []

    def build(node_text: str, depth: int) -> SplitTree:
        ids = spu_processor().encode_as_ids(node_text)
        if len(ids) <= TEXT_MAX_LEN:
            leaves.append(node_text)
            depths.append(depth)
            rows.append(_padded(ids))
            return node_text
        words = node_text.split()
        half = len(words) // 2
        first, second = " ".join(words[:half]), " ".join(words[half:])
        if second == node_text:
            # One word of > 256 ids: VNLP's second half is the text itself, forever.
            raise UnsplittableTextError(
                f"a word of {len(ids)} SentencePiece ids exceeds the sentiment model's {TEXT_MAX_LEN}; "
                "VNLP 0.2.4 recurses on it until RecursionError"
            )
        return (build(first, depth + 1), build(second, depth + 1))

    tree = build(text, 0)
    return SentimentSplit(tree, tuple(leaves), tuple(depths), np.concatenate(rows))
