"""The fast decoders' shared pieces: each family's fast decoder (`components/<family>/fast.py`)
re-assembles its monolithic computation from the graphs its component cut (models/decompose.py).

Work that depends only on a word (its encoding) is done once per distinct word form in a batch;
work that depends only on the sentence (context stacks) once per token before decoding; only the
history stack and the MLP run inside the decoding loop; every stack runs only its windows' real rows
(`inference/padded.py`). A fast decoder's `probs_from_rows` re-assembles the same computation from
VNLP's monolithic input rows, which is how export verification checks the graphs against Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.distinct import distinct_rows
from vnlp_batch.inference.padded import PaddedStack
from vnlp_batch.models.spec import ModelSpec


class FastDecoder:
    """A fast decoder over one model's graphs (role → OnnxModel-like graph, `monolithic` excluded).

    One per loaded model: its `PaddedStack`s hold padding-state tables, built on first use."""

    padding: ClassVar[Mapping[str, tuple[str, int]]] = {}  # the family's PADDING (models/decompose.py)

    def __init__(self, spec: ModelSpec, graphs: dict[str, Any]) -> None:
        self.spec = spec
        self.graphs = graphs


def padded_stack(role: str, backward: bool) -> Any:
    """A fast decoder attribute: the `PaddedStack` over its graph `role`, built on first use."""
    return cached_property(lambda self: PaddedStack(self.graphs, role, backward, self.padding))


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D integer array and, for every input row, the index of its distinct row."""
    first, codes = distinct_rows(rows)
    return rows[first], codes


def with_pad_row(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """`unique_rows` of `rows` plus an all-zero (padding) row; also the padding row's index."""
    unique, inverse = unique_rows(np.concatenate([rows, np.zeros((1, rows.shape[1]), rows.dtype)]))
    return unique, inverse[:-1], int(inverse[-1])


def concat(arrays: list[np.ndarray], shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """`np.concatenate(arrays)`, or an empty array of rows of `shape` when there are none."""
    return np.concatenate(arrays) if arrays else np.zeros((0, *shape), dtype)


class Steps:
    """The decoding loop's view of a fast decoder: step t's probabilities for the active sentences."""

    def __init__(self, lengths: np.ndarray, predict: Callable[[np.ndarray, int, np.ndarray], np.ndarray]):
        self.offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1], out=self.offsets[1:])
        self._predict = predict

    def __call__(self, idx: np.ndarray, t: int, history: np.ndarray) -> np.ndarray:
        """`history`: the active sentences' 40-row history windows at step t."""
        return self._predict(self.offsets[idx] + t, t, history)


def step_real(count: int, t: int) -> np.ndarray:
    """Real rows of the windows at step t: every history window (and TreeStackPoS's left window)
    holds min(t, 40) real rows."""
    return np.full(count, min(t, WINDOW), np.int64)
