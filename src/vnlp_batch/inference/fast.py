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

from vnlp_batch.featurize import spucontext, treestack
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

    def rows(self, sentences, analyses=None, pos_labels=None) -> _TokenRows:
        word, left, right, lengths = self.encode_sentences(sentences)
        return _TokenRows(lengths, [word, left, right], lambda static, history: [*static, history])


class _TokenRows:
    """Per-token inputs computed before the decoding loop, gathered for the active sentences at step t."""

    def __init__(self, lengths: np.ndarray, per_token: list[np.ndarray], assemble, gathered=None) -> None:
        self.offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1], out=self.offsets[1:])
        self.per_token = per_token
        self.assemble = assemble
        self.gathered = gathered or {}  # position -> table: per-token ids looked up in a table

    def static(self, idx: np.ndarray, t: int) -> list[np.ndarray]:
        tokens = self.offsets[idx] + t
        out = []
        for k, array in enumerate(self.per_token):
            rows = array[tokens]
            out.append(self.gathered[k][rows] if k in self.gathered else rows)
        return out


def _concat(arrays: list[np.ndarray], shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros((0, *shape), dtype)


class _FastTreeStack:
    """What both TreeStack models share: tag sequences encoded once, windows as indices into them."""

    def __init__(self, spec: ModelSpec, graphs: dict[str, Runner]) -> None:
        self.spec = spec
        self.tag_encoder = graphs["tag_encoder"]
        self.context = graphs["context"]
        self.step = graphs["step"]

    def _encode_tag_rows(self, *blocks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Encode every distinct 15-tag row among `blocks` once; return encodings and per-block ids."""
        length = blocks[0].shape[-1]
        flat = [b.reshape(-1, length) for b in blocks]
        unique, inverse = _unique_rows(np.concatenate(flat))
        (encoded,) = self.tag_encoder([unique.astype(np.float32)])
        ids, start = [], 0
        for block, rows in zip(blocks, flat, strict=True):
            ids.append(inverse[start : start + len(rows)].reshape(block.shape[:-1]))
            start += len(rows)
        return encoded, ids

    def _statics(self, sentences, analyses):
        statics = [treestack.treestack_static(s, a) for s, a in zip(sentences, analyses, strict=True)]
        lengths = np.array([st.n for st in statics], np.int64)
        return statics, lengths


class FastTreeStackPos(_FastTreeStack):
    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, tags, lc_words, lc_tags, lc_pos, rc_words, rc_tags = inputs
        encoded, (tag, lc, rc) = self._encode_tag_rows(tags, lc_tags, rc_tags)
        (right,) = self.context([rc_words, encoded[rc]])
        return self.step([word, encoded[tag], lc_words, encoded[lc], lc_pos, right])[0]

    def rows(self, sentences, analyses, pos_labels=None) -> _TokenRows:
        statics, lengths = self._statics(sentences, analyses)
        cat = lambda name, shape: _concat([getattr(st, name) for st in statics], shape, np.int32)  # noqa: E731
        encoded, (tag, lc, rc) = self._encode_tag_rows(
            cat("tags", (15,)), cat("lc_tags", (WINDOW, 15)), cat("rc_tags", (WINDOW, 15))
        )
        rc_words = cat("rc_words", (WINDOW,)).astype(np.float32)
        parts = [
            self.context([rc_words[s : s + CHUNK], encoded[rc[s : s + CHUNK]]])[0]
            for s in range(0, len(tag), CHUNK)
        ]
        right = _concat(parts, (parts[0].shape[1] if parts else 0,))
        per_token = [
            cat("word", (1,)).astype(np.float32),
            tag,
            cat("lc_words", (WINDOW,)).astype(np.float32),
            lc,
            right,
        ]

        def assemble(static, history):
            word, tag_enc, lc_words, lc_enc, right_h = static
            return [word, tag_enc, lc_words, lc_enc, history, right_h]

        return _TokenRows(lengths, per_token, assemble, gathered={1: encoded, 3: encoded})


class FastTreeStackDp(_FastTreeStack):
    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, tags, pos, lc_words, lc_tags, lc_pos, history, rc_words, rc_tags, rc_pos = inputs
        encoded, (tag, lc, rc) = self._encode_tag_rows(tags, lc_tags, rc_tags)
        left, right = self.context([lc_words, encoded[lc], lc_pos, rc_words, encoded[rc], rc_pos])
        return self.step([word, encoded[tag], pos, left, right, history])[0]

    def rows(self, sentences, analyses, pos_labels) -> _TokenRows:
        statics = [
            treestack.treestack_dp_static(s, a, p)
            for s, a, p in zip(sentences, analyses, pos_labels, strict=True)
        ]
        lengths = np.array([st.n for st in statics], np.int64)
        base = lambda name, shape: _concat([getattr(st.base, name) for st in statics], shape, np.int32)  # noqa: E731
        encoded, (tag, lc, rc) = self._encode_tag_rows(
            base("tags", (15,)), base("lc_tags", (WINDOW, 15)), base("rc_tags", (WINDOW, 15))
        )
        # PoS id windows: 40 zeros + ids + 40 zeros per sentence, as VNLP's pre/post padding.
        pos = _concat([st.pos_ids[:, None] for st in statics], (1,), np.int32).astype(np.float32)
        lc_pos = _concat(
            [np.stack([st.padded_pos[t : t + WINDOW] for t in range(st.n)]) for st in statics if st.n],
            (WINDOW,),
            np.int32,
        ).astype(np.float32)
        rc_pos = _concat(
            [
                np.stack([st.padded_pos[t + WINDOW + 1 : t + 2 * WINDOW + 1] for t in range(st.n)])
                for st in statics
                if st.n
            ],
            (WINDOW,),
            np.int32,
        ).astype(np.float32)
        lc_words = base("lc_words", (WINDOW,)).astype(np.float32)
        rc_words = base("rc_words", (WINDOW,)).astype(np.float32)
        parts = [
            self.context(
                [
                    lc_words[s : s + CHUNK],
                    encoded[lc[s : s + CHUNK]],
                    lc_pos[s : s + CHUNK],
                    rc_words[s : s + CHUNK],
                    encoded[rc[s : s + CHUNK]],
                    rc_pos[s : s + CHUNK],
                ]
            )
            for s in range(0, len(tag), CHUNK)
        ]
        width = parts[0][0].shape[1] if parts else 0
        left = _concat([p[0] for p in parts], (width,))
        right = _concat([p[1] for p in parts], (width,))
        per_token = [base("word", (1,)).astype(np.float32), tag, pos, left, right]

        def assemble(static, history):
            word, tag_enc, pos_id, left_h, right_h = static
            return [word, tag_enc, pos_id, left_h, right_h, history]

        return _TokenRows(lengths, per_token, assemble, gathered={1: encoded})


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
        (encoded,) = self.candidates([stems.astype(np.int32), tags.astype(np.int32)])
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


FAST = {
    "spucontext": FastSpuContext,
    "stemmer": FastStemmer,
    "treestack_pos": FastTreeStackPos,
    "treestack_dp": FastTreeStackDp,
}
