"""Fast decoders: the monolithic computation re-assembled from the graphs of models/decompose.py.

Work that depends only on a word (its encoding) is done once per distinct word form in a batch;
work that depends only on the sentence (context stacks) once per token before decoding; only the
history stack and the MLP run inside the decoding loop. `probs_from_rows` re-assembles the same
computation from VNLP's monolithic input rows, which is how export verification checks the graphs
against Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vnlp_batch.featurize import spucontext
from vnlp_batch.featurize.stemmer import stemmer_inputs
from vnlp_batch.models.spec import ModelSpec

Runner = Callable[[list[np.ndarray]], list[np.ndarray]]  # a graph: inputs in order → all outputs
WINDOW = 40
_WINDOW = np.arange(WINDOW)
CHUNK = 1024  # tokens per gathered (chunk, 40, width) block: bounds memory at large batch sizes


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D array and, for every input row, the index of its distinct row."""
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


class FastSpuContext:
    def __init__(self, spec: ModelSpec, graphs: dict[str, Runner]) -> None:
        self.spec = spec
        self.word_encoder = graphs["word_encoder"]
        self.context = graphs["context"]
        self.step = graphs["step"]

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, left, right, history = inputs
        pieces = np.concatenate([word, left.reshape(-1, word.shape[1]), right.reshape(-1, word.shape[1])])
        unique, inverse = _unique_rows(pieces)
        (encoded,) = self.word_encoder([unique.astype(np.float32)])
        encoded = encoded[inverse]
        n = len(word)
        w = encoded[:n]
        lw = encoded[n : n + n * WINDOW].reshape(n, WINDOW, -1)
        rw = encoded[n + n * WINDOW :].reshape(n, WINDOW, -1)
        lh, rh = self.context([lw, rw])
        return self.step([w, lh, rh, history])[0]

    def encode_sentences(self, sentences: Sequence[Sequence[str]]):
        """Per token: word encoding, left and right context encodings (all tokens of all sentences)."""
        padded = [spucontext.padded_pieces(spucontext.word_pieces(s)) for s in sentences]
        bank, offsets = spucontext.stack_padded(padded)
        unique, inverse = _unique_rows(bank)
        (encoded,) = self.word_encoder([unique.astype(np.float32)])
        lengths = np.array([len(s) for s in sentences], np.int64)
        starts = (
            np.concatenate([offsets[i] + np.arange(n) for i, n in enumerate(lengths)])
            if len(lengths)
            else np.zeros(0, np.int64)
        )
        left = inverse[starts[:, None] + _WINDOW]
        right = inverse[starts[:, None] + WINDOW + 1 + _WINDOW]
        word = encoded[inverse[starts + WINDOW]]
        parts = [
            self.context([encoded[left[s : s + CHUNK]], encoded[right[s : s + CHUNK]]])
            for s in range(0, len(starts), CHUNK)
        ]
        width = encoded.shape[1]
        left_h = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, width), np.float32)
        right_h = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, width), np.float32)
        return word, left_h, right_h, lengths


class FastStemmer:
    def __init__(self, spec: ModelSpec, graphs: dict[str, Runner]) -> None:
        self.spec = spec
        self.surface_encoder = graphs["surface_encoder"]
        self.candidates = graphs["candidates"]
        self.score = graphs["score"]

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        stems, tags, left, right = inputs
        n, window, length = left.shape
        chars = np.concatenate([left.reshape(-1, length), right.reshape(-1, length)])
        unique, inverse = _unique_rows(chars)
        left_enc, right_enc = self.surface_encoder([unique.astype(np.int32)])
        left_rows = left_enc[inverse[: n * window]].reshape(n, window, -1)
        right_rows = right_enc[inverse[n * window :]].reshape(n, window, -1)
        (encoded,) = self.candidates([stems, tags])
        return self.score([left_rows, right_rows, encoded])[0]

    def probs(
        self, sentences: Sequence[Sequence[str]], candidates: Sequence[Sequence[Sequence[str]]]
    ) -> np.ndarray:
        """Probabilities over candidate slots for every token of every sentence."""
        inputs = [stemmer_inputs(s, c) for s, c in zip(sentences, candidates, strict=True)]
        stems, tags, left, right = (np.concatenate([x[k] for x in inputs]) for k in range(4))
        # Candidate encodings depend only on the token's candidate list: encode each distinct one once.
        block = np.concatenate([stems.reshape(len(stems), -1), tags.reshape(len(tags), -1)], axis=1)
        unique, inverse = _unique_rows(block)
        split = stems.shape[1] * stems.shape[2]
        (encoded,) = self.candidates(
            [
                np.ascontiguousarray(unique[:, :split].reshape(-1, *stems.shape[1:])),
                np.ascontiguousarray(unique[:, split:].reshape(-1, *tags.shape[1:])),
            ]
        )
        n, window, length = left.shape
        chars = np.concatenate([left.reshape(-1, length), right.reshape(-1, length)])
        unique_chars, char_inverse = _unique_rows(chars)
        left_enc, right_enc = self.surface_encoder([unique_chars])
        left_ids = char_inverse[: n * window].reshape(n, window)
        right_ids = char_inverse[n * window :].reshape(n, window)
        out = [
            self.score(
                [
                    left_enc[left_ids[s : s + CHUNK]],
                    right_enc[right_ids[s : s + CHUNK]],
                    encoded[inverse[s : s + CHUNK]],
                ]
            )[0]
            for s in range(0, n, CHUNK)
        ]
        return np.concatenate(out) if out else np.zeros((0, stems.shape[1]), np.float32)


FAST = {"spucontext": FastSpuContext, "stemmer": FastStemmer}
