"""Greedy autoregressive decoding, batched across sentences: step t runs every sentence longer than t.

Each family's component builds the exact rows VNLP's `process_single_word_input` builds (proved in
tests/featurize), from banks filled once per batch: the sentence's static inputs (the component's
`monolithic_rows`, or its fast decoder's), and a history bank into which each step writes its
one-hot prediction. VNLP's history window at step t — `40 - t` zero rows, then the one-hots of
predictions 0..t-1, cut to the last 40 — is exactly rows t..t+39 of a bank holding 40 zero rows
followed by the predictions, for every t (sliding windows past 40 included).

Each output group's label is VNLP's argmax over its slice (the first maximum). With `in_sentence`,
a token-pointer group (DP's arcs, models/spec.py) is arg-maxed over 0..n only, n being the length of
the sentence (or 40-token chunk) being decoded: the choice that is kept, and fed back as history, is
always a token of that sentence or the root (`dep.heads=in_sentence`, README "Deviations").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.models.spec import ModelSpec

_WINDOW = np.arange(WINDOW)


@dataclass
class Decoded:
    labels: list[np.ndarray]  # per sentence: (n, groups) int64
    probs: list[np.ndarray] | None  # per sentence: (n, output width), when asked for


class _History:
    """One-hot predictions of every sentence, 40 zero rows in front of each."""

    def __init__(self, lengths: np.ndarray, width: int) -> None:
        self.offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1] + WINDOW, out=self.offsets[1:])
        self.bank = np.zeros((int((lengths + WINDOW).sum()), width), np.float32)

    def window(self, idx: np.ndarray, t: int) -> np.ndarray:
        return self.bank[(self.offsets[idx] + t)[:, None] + _WINDOW]

    def write(self, idx: np.ndarray, t: int, columns: np.ndarray) -> None:
        rows = self.offsets[idx] + WINDOW + t
        for k in range(columns.shape[1]):
            self.bank[rows, columns[:, k]] = 1.0


def _history_columns(spec: ModelSpec, labels: np.ndarray) -> np.ndarray:
    # DP histories are one-hot arc (41) ‖ one-hot relation (49): the relation column is offset by 41.
    return np.stack([labels[:, k] + g.start for k, g in enumerate(spec.output_groups)], axis=1)


def _choose(spec: ModelSpec, probs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """(rows, groups) labels: each group's argmax; with `lengths` (each row's sentence length n), a
    token-pointer group's argmax among 0..n."""
    columns = []
    for g in spec.output_groups:
        part = probs[:, g.start : g.stop]
        if lengths is not None and g.token_pointer:
            # Masked, not sliced per row: the first maximum among 0..n is np.argmax's, as VNLP's is.
            part = np.where(np.arange(g.stop - g.start) <= lengths[:, None], part, -np.inf)
        columns.append(part.argmax(axis=1))
    return np.stack(columns, axis=1)


def decode(
    spec: ModelSpec,
    predict: Callable[[list[np.ndarray]], np.ndarray],
    sentences: Sequence[Sequence[str]],
    analyses: Sequence[Sequence[str]] | None = None,
    pos_labels: Sequence[Sequence[str]] | None = None,
    keep_probs: bool = False,
    fast=None,
    forced: Sequence[np.ndarray] | None = None,
    in_sentence: bool = False,
) -> Decoded:
    """Greedy decoding of `sentences` (token lists, each at most 40 tokens for DP models).

    With `fast` (the model's fast decoder, inference/fast.py), `predict` is ignored: its step graph
    runs. `analyses` and `pos_labels` are the sentences' upstream outputs, for the families that read
    them (TreeStack).
    `forced`, per sentence (n, groups) labels, is fed back as the history instead of the decoder's
    own choices (teacher forcing): the fidelity tests compare every step of two decoders that saw the
    same history. `Decoded.labels` are always the decoder's own choices.
    `in_sentence` restricts token-pointer groups to 0..len(sentence) (module docstring); otherwise
    every label is VNLP's argmax.
    """
    lengths = np.array([len(s) for s in sentences], np.int64)
    if not len(sentences):
        # onnxruntime aborts the process on some zero-row inputs: never call a graph with nothing.
        return Decoded([], [] if keep_probs else None)
    steps = fast.rows(sentences, analyses, pos_labels) if fast is not None else None
    if steps is None:
        rows = spec.component.monolithic_rows(sentences, analyses, pos_labels)
    history = _History(lengths, spec.output_width)
    # Flat per-token outputs, written with one fancy assignment per step (no per-sentence Python).
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    flat_labels = np.zeros((int(lengths.sum()), len(spec.output_groups)), np.int64)
    flat_probs = np.zeros((int(lengths.sum()), spec.output_width), np.float32) if keep_probs else None
    fed = np.concatenate(forced).astype(np.int64) if forced is not None else flat_labels
    if fed.shape != flat_labels.shape:
        raise ValueError(f"forced labels of shape {fed.shape}, the sentences need {flat_labels.shape}")
    order = np.argsort(-lengths, kind="stable")  # active sentences are always a prefix of this order
    for t in range(int(lengths.max(initial=0))):
        idx = order[: int((lengths > t).sum())]
        window = history.window(idx, t)
        if steps is not None:
            out = steps(idx, t, window)
        else:
            out = predict(rows.assemble(rows.static(idx, t), window))
        flat_labels[starts[idx] + t] = _choose(spec, out, lengths[idx] if in_sentence else None)
        history.write(idx, t, _history_columns(spec, fed[starts[idx] + t]))
        if flat_probs is not None:
            flat_probs[starts[idx] + t] = out
    cuts = starts[1:]
    labels = np.split(flat_labels, cuts)
    return Decoded(labels, np.split(flat_probs, cuts) if flat_probs is not None else None)
