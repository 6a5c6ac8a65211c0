"""StemmerAnalyzer's fast decoder: its graphs (graphs.py) composed, each surface token and each
candidate analysis encoded once per batch, each context and the score once per token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.components.stemmer.graphs import PADDING
from vnlp_batch.featurize.stemmer import stemmer_inputs
from vnlp_batch.inference.fast import FastDecoder, padded_stack, unique_rows, with_pad_row
from vnlp_batch.inference.padded import real_rows
from vnlp_batch.models.spec import ModelSpec

CHUNK = 1024  # tokens per call of the score graph


class FastStemmer(FastDecoder):
    padding = PADDING
    left = padded_stack("left_context", backward=False)
    right = padded_stack("right_context", backward=True)

    def __init__(self, spec: ModelSpec, graphs: dict[str, Any]) -> None:
        super().__init__(spec, graphs)
        self.surface_encoder = graphs["surface_encoder"]
        self.candidates = graphs["candidates"]
        self.score = graphs["score"]

    def _contexts(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Left and right context encodings of (tokens, 40, 15) character windows."""
        n, window, length = left.shape
        unique, inverse, pad = with_pad_row(
            np.concatenate([left.reshape(-1, length), right.reshape(-1, length)])
        )
        left_enc, right_enc = self.surface_encoder.run_all([unique.astype(np.int32)])
        left_ids = inverse[: n * window].reshape(n, window)
        right_ids = inverse[n * window :].reshape(n, window)
        left_h = self.left(
            real_rows(left_ids == pad, False), lambda rows, cols: [left_enc[left_ids[rows, cols]]], left_ids
        )
        right_h = self.right(
            real_rows(right_ids == pad, True),
            lambda rows, cols: [right_enc[right_ids[rows, cols]]],
            right_ids,
        )
        return left_h, right_h

    def _score(self, left_h: np.ndarray, right_h: np.ndarray, encoded: np.ndarray) -> np.ndarray:
        out = [
            self.score.run_all([left_h[s : s + CHUNK], right_h[s : s + CHUNK], encoded[s : s + CHUNK]])[0]
            for s in range(0, len(left_h), CHUNK)
        ]
        return np.concatenate(out)

    def _encode_candidates(self, stems: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """(tokens, 10, width) encodings of (tokens, 10, 10) stems and (tokens, 10, 15) tags.

        Each distinct analysis (stem ‖ tags row) is encoded once; empty slots are one zero row."""
        n, slots, split = stems.shape
        # Distinct candidate lists first (frequent words repeat), then distinct analyses among them.
        lists, list_ids = unique_rows(np.concatenate([stems.reshape(n, -1), tags.reshape(n, -1)], axis=1))
        analyses = np.concatenate(
            [
                lists[:, : slots * split].reshape(-1, split),
                lists[:, slots * split :].reshape(len(lists) * slots, -1),
            ],
            axis=1,
        )
        unique, inverse, _ = with_pad_row(analyses.astype(np.int32))
        (encoded,) = self.candidates.run_all([unique[:, :split], unique[:, split:]])
        return encoded[inverse].reshape(len(lists), slots, -1)[list_ids]

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        stems, tags, left, right = inputs
        return self._score(*self._contexts(left, right), self._encode_candidates(stems, tags))

    def probs(
        self, sentences: Sequence[Sequence[str]], candidates: Sequence[Sequence[Sequence[str]]]
    ) -> np.ndarray:
        """Probabilities over candidate slots for every token of every sentence."""
        inputs = [stemmer_inputs(s, c) for s, c in zip(sentences, candidates, strict=True)]
        stems, tags, left, right = (np.concatenate([x[k] for x in inputs]) for k in range(4))
        if not len(stems):
            return np.zeros((0, stems.shape[1]), np.float32)
        left_h, right_h = self._contexts(left, right)
        return self._score(left_h, right_h, self._encode_candidates(stems, tags))
