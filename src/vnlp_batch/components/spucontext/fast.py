"""SPUContextPoS/NER/DP's fast decoder: its graphs (graphs.py) composed, each word encoded once per
batch, each context once per token, only `step` in the decoding loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.components.spucontext.graphs import PADDING
from vnlp_batch.featurize import spucontext
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.fast import FastDecoder, Steps, padded_stack, step_real, with_pad_row
from vnlp_batch.inference.padded import real_rows
from vnlp_batch.models.spec import ModelSpec

_WINDOW = np.arange(WINDOW)


class FastSpuContext(FastDecoder):
    padding = PADDING
    left = padded_stack("left_context", backward=False)
    right = padded_stack("right_context", backward=True)
    step = padded_stack("step", backward=False)

    def __init__(self, spec: ModelSpec, graphs: dict[str, Any]) -> None:
        super().__init__(spec, graphs)
        self.word_encoder = graphs["word_encoder"]

    def _contexts(self, encoded: np.ndarray, left: np.ndarray, right: np.ndarray, pad: int):
        """Left and right context encodings of windows given as ids into `encoded`."""
        left_h = self.left(
            real_rows(left == pad, False), lambda rows, cols: [encoded[left[rows, cols]]], left
        )
        right_h = self.right(
            real_rows(right == pad, True), lambda rows, cols: [encoded[right[rows, cols]]], right
        )
        return left_h, right_h

    def _step(self, word, left_h, right_h, history: np.ndarray, real: np.ndarray) -> np.ndarray:
        return self.step(
            real, lambda rows, cols: [word[rows], left_h[rows], right_h[rows], history[rows, cols]]
        )

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, left, right, history = inputs
        n, length = word.shape
        pieces = np.concatenate([word, left.reshape(-1, length), right.reshape(-1, length)])
        unique, inverse, pad = with_pad_row(pieces)
        (encoded,) = self.word_encoder.run_all([unique.astype(np.float32)])
        left_ids = inverse[n : n + n * WINDOW].reshape(n, WINDOW)
        right_ids = inverse[n + n * WINDOW :].reshape(n, WINDOW)
        left_h, right_h = self._contexts(encoded, left_ids, right_ids, pad)
        real = real_rows(~history.any(axis=2), False)
        return self._step(encoded[inverse[:n]], left_h, right_h, history, real)

    def encode_sentences(self, sentences: Sequence[Sequence[str]]):
        """Per token: word encoding, left and right context encodings (all tokens of all sentences)."""
        padded = [spucontext.padded_pieces(spucontext.word_pieces(s)) for s in sentences]
        bank, offsets = spucontext.stack_padded(padded)
        unique, inverse, pad = with_pad_row(bank)
        (encoded,) = self.word_encoder.run_all([unique.astype(np.float32)])
        lengths = np.array([len(s) for s in sentences], np.int64)
        starts = (
            np.concatenate([offsets[i] + np.arange(n) for i, n in enumerate(lengths)])
            if len(lengths)
            else np.zeros(0, np.int64)
        )
        left = inverse[starts[:, None] + _WINDOW]
        right = inverse[starts[:, None] + WINDOW + 1 + _WINDOW]
        word = encoded[inverse[starts + WINDOW]]
        left_h, right_h = self._contexts(encoded, left, right, pad)
        return word, left_h, right_h, lengths

    def rows(self, sentences, analyses=None, pos_labels=None) -> Steps:
        word, left_h, right_h, lengths = self.encode_sentences(sentences)

        def predict(tokens: np.ndarray, t: int, history: np.ndarray) -> np.ndarray:
            return self._step(
                word[tokens], left_h[tokens], right_h[tokens], history, step_real(len(tokens), t)
            )

        return Steps(lengths, predict)
