"""Fast decoders: the monolithic computation re-assembled from the graphs of models/decompose.py.

Work that depends only on a word (its encoding) is done once per distinct word form in a batch;
work that depends only on the sentence (context stacks) once per token before decoding; only the
history stack and the MLP run inside the decoding loop; every stack runs only its windows' real rows
(`inference/padded.py`). `probs_from_rows` re-assembles the same computation from VNLP's
monolithic input rows, which is how export verification checks the graphs against Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

from vnlp_batch.featurize import spucontext, treestack
from vnlp_batch.featurize.stemmer import stemmer_inputs
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.distinct import distinct_rows
from vnlp_batch.inference.padded import PaddedStack, real_rows
from vnlp_batch.models.spec import ModelSpec

_WINDOW = np.arange(WINDOW)
CHUNK = 1024  # tokens per call of the per-token head graphs


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D integer array and, for every input row, the index of its distinct row."""
    first, codes = distinct_rows(rows)
    return rows[first], codes


def _with_pad_row(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """`_unique_rows` of `rows` plus an all-zero (padding) row; also the padding row's index."""
    unique, inverse = _unique_rows(np.concatenate([rows, np.zeros((1, rows.shape[1]), rows.dtype)]))
    return unique, inverse[:-1], int(inverse[-1])


class Steps:
    """The decoding loop's view of a fast decoder: step t's probabilities for the active sentences."""

    def __init__(self, lengths: np.ndarray, predict: Callable[[np.ndarray, int, np.ndarray], np.ndarray]):
        self.offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1], out=self.offsets[1:])
        self._predict = predict

    def __call__(self, idx: np.ndarray, t: int, history: np.ndarray) -> np.ndarray:
        """`history`: the active sentences' 40-row history windows at step t."""
        return self._predict(self.offsets[idx] + t, t, history)


def _step_real(count: int, t: int) -> np.ndarray:
    # At step t every history window (and TreeStackPoS's left window) holds min(t, 40) real rows.
    return np.full(count, min(t, WINDOW), np.int64)


class FastSpuContext:
    def __init__(self, spec: ModelSpec, graphs: dict) -> None:
        self.spec = spec
        self.graphs = graphs
        self.word_encoder = graphs["word_encoder"]

    @cached_property
    def left(self) -> PaddedStack:
        return PaddedStack(self.graphs, "left_context", False)

    @cached_property
    def right(self) -> PaddedStack:
        return PaddedStack(self.graphs, "right_context", True)

    @cached_property
    def step(self) -> PaddedStack:
        return PaddedStack(self.graphs, "step", False)

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
        unique, inverse, pad = _with_pad_row(pieces)
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
        unique, inverse, pad = _with_pad_row(bank)
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
                word[tokens], left_h[tokens], right_h[tokens], history, _step_real(len(tokens), t)
            )

        return Steps(lengths, predict)


def _concat(arrays: list[np.ndarray], shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros((0, *shape), dtype)


class _FastTreeStack:
    """What both TreeStack models share: tag sequences encoded once, windows as indices into them."""

    def __init__(self, spec: ModelSpec, graphs: dict) -> None:
        self.spec = spec
        self.graphs = graphs
        self.tag_encoder = graphs["tag_encoder"]

    def _encode_tag_rows(self, *blocks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], int]:
        """Encode every distinct 15-tag row among `blocks` (and the padding row) once.

        Returns the encodings, per block the ids of its rows, and the padding row's id."""
        length = blocks[0].shape[-1]
        flat = [b.reshape(-1, length) for b in blocks]
        unique, inverse, pad = _with_pad_row(np.concatenate(flat))
        (encoded,) = self.tag_encoder.run_all([unique.astype(np.float32)])
        ids, start = [], 0
        for block, rows in zip(blocks, flat, strict=True):
            ids.append(inverse[start : start + len(rows)].reshape(block.shape[:-1]))
            start += len(rows)
        return encoded, ids, pad

    def _statics(self, sentences, analyses):
        statics = [treestack.treestack_static(s, a) for s, a in zip(sentences, analyses, strict=True)]
        lengths = np.array([st.n for st in statics], np.int64)
        return statics, lengths


def _windows(*parts: np.ndarray) -> np.ndarray:
    """One integer row per window identifying its content (word ids, tag-row ids, PoS ids)."""
    return np.concatenate([p.astype(np.int64) for p in parts], axis=1)


def _is_pad(words: np.ndarray, tag_ids: np.ndarray, pad_tag: int, *pos: np.ndarray) -> np.ndarray:
    """TreeStack window rows that are padding: word 0, the all-zero tag row, no PoS."""
    pad = (words == 0) & (tag_ids == pad_tag)
    for p in pos:
        pad &= ~p.any(axis=2) if p.ndim == 3 else p == 0
    return pad


class FastTreeStackPos(_FastTreeStack):
    @cached_property
    def right(self) -> PaddedStack:
        return PaddedStack(self.graphs, "right_context", True)

    @cached_property
    def step(self) -> PaddedStack:
        return PaddedStack(self.graphs, "step", False)

    def _right(self, rc_words: np.ndarray, encoded: np.ndarray, rc: np.ndarray, pad: int) -> np.ndarray:
        real = real_rows(_is_pad(rc_words, rc, pad), True)
        return self.right(
            real, lambda rows, cols: [rc_words[rows, cols], encoded[rc[rows, cols]]], _windows(rc_words, rc)
        )

    def _step(self, word, tag_enc, right, lc_words, encoded, lc, history, real) -> np.ndarray:
        """`lc`: left windows as ids into `encoded`, gathered only over the columns the step runs."""
        return self.step(
            real,
            lambda rows, cols: [
                word[rows],
                tag_enc[rows],
                right[rows],
                lc_words[rows, cols],
                encoded[lc[rows, cols]],
                history[rows, cols],
            ],
        )

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, tags, lc_words, lc_tags, lc_pos, rc_words, rc_tags = inputs
        encoded, (tag, lc, rc), pad = self._encode_tag_rows(tags, lc_tags, rc_tags)
        right = self._right(rc_words, encoded, rc, pad)
        real = real_rows(_is_pad(lc_words, lc, pad, lc_pos), False)
        return self._step(word, encoded[tag], right, lc_words, encoded, lc, lc_pos, real)

    def rows(self, sentences, analyses, pos_labels=None) -> Steps:
        statics, lengths = self._statics(sentences, analyses)
        cat = lambda name, shape: _concat([getattr(st, name) for st in statics], shape, np.int32)  # noqa: E731
        encoded, (tag, lc, rc), pad = self._encode_tag_rows(
            cat("tags", (15,)), cat("lc_tags", (WINDOW, 15)), cat("rc_tags", (WINDOW, 15))
        )
        right = self._right(cat("rc_words", (WINDOW,)).astype(np.float32), encoded, rc, pad)
        word = cat("word", (1,)).astype(np.float32)
        lc_words = cat("lc_words", (WINDOW,)).astype(np.float32)

        def predict(tokens: np.ndarray, t: int, history: np.ndarray) -> np.ndarray:
            return self._step(
                word[tokens],
                encoded[tag[tokens]],
                right[tokens],
                lc_words[tokens],
                encoded,
                lc[tokens],
                history,
                _step_real(len(tokens), t),
            )

        return Steps(lengths, predict)


class FastTreeStackDp(_FastTreeStack):
    @cached_property
    def left(self) -> PaddedStack:
        return PaddedStack(self.graphs, "left_context", False)

    @cached_property
    def right(self) -> PaddedStack:
        return PaddedStack(self.graphs, "right_context", True)

    @cached_property
    def step(self) -> PaddedStack:
        return PaddedStack(self.graphs, "step", False)

    def _contexts(self, encoded, pad, lc_words, lc, lc_pos, rc_words, rc, rc_pos):
        real_l = real_rows(_is_pad(lc_words, lc, pad, lc_pos), False)
        real_r = real_rows(_is_pad(rc_words, rc, pad, rc_pos), True)
        left = self.left(
            real_l,
            lambda rows, cols: [lc_words[rows, cols], encoded[lc[rows, cols]], lc_pos[rows, cols]],
            _windows(lc_words, lc, lc_pos),
        )
        right = self.right(
            real_r,
            lambda rows, cols: [rc_words[rows, cols], encoded[rc[rows, cols]], rc_pos[rows, cols]],
            _windows(rc_words, rc, rc_pos),
        )
        return left, right

    def _step(self, word, tag_enc, pos, left, right, history, real) -> np.ndarray:
        return self.step(
            real,
            lambda rows, cols: [
                word[rows],
                tag_enc[rows],
                pos[rows],
                left[rows],
                right[rows],
                history[rows, cols],
            ],
        )

    def probs_from_rows(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        word, tags, pos, lc_words, lc_tags, lc_pos, history, rc_words, rc_tags, rc_pos = inputs
        encoded, (tag, lc, rc), pad = self._encode_tag_rows(tags, lc_tags, rc_tags)
        left, right = self._contexts(encoded, pad, lc_words, lc, lc_pos, rc_words, rc, rc_pos)
        real = real_rows(~history.any(axis=2), False)
        return self._step(word, encoded[tag], pos, left, right, history, real)

    def rows(self, sentences, analyses, pos_labels) -> Steps:
        statics = [
            treestack.treestack_dp_static(s, a, p)
            for s, a, p in zip(sentences, analyses, pos_labels, strict=True)
        ]
        lengths = np.array([st.n for st in statics], np.int64)
        base = lambda name, shape: _concat([getattr(st.base, name) for st in statics], shape, np.int32)  # noqa: E731
        encoded, (tag, lc, rc), pad = self._encode_tag_rows(
            base("tags", (15,)), base("lc_tags", (WINDOW, 15)), base("rc_tags", (WINDOW, 15))
        )
        # PoS id windows: 40 zeros + ids + 40 zeros per sentence, as VNLP's pre/post padding.
        padded = _concat([st.padded_pos for st in statics], (), np.int32)
        sizes = np.array([len(st.padded_pos) for st in statics], np.int64)
        firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        starts = _concat([f + np.arange(st.n) for f, st in zip(firsts, statics, strict=True)], (), np.int64)
        pos = padded[starts + WINDOW][:, None].astype(np.float32)
        lc_pos = padded[starts[:, None] + _WINDOW].astype(np.float32)
        rc_pos = padded[starts[:, None] + WINDOW + 1 + _WINDOW].astype(np.float32)
        left, right = self._contexts(
            encoded,
            pad,
            base("lc_words", (WINDOW,)).astype(np.float32),
            lc,
            lc_pos,
            base("rc_words", (WINDOW,)).astype(np.float32),
            rc,
            rc_pos,
        )
        word = base("word", (1,)).astype(np.float32)

        def predict(tokens: np.ndarray, t: int, history: np.ndarray) -> np.ndarray:
            return self._step(
                word[tokens],
                encoded[tag[tokens]],
                pos[tokens],
                left[tokens],
                right[tokens],
                history,
                _step_real(len(tokens), t),
            )

        return Steps(lengths, predict)


class FastStemmer:
    def __init__(self, spec: ModelSpec, graphs: dict) -> None:
        self.spec = spec
        self.graphs = graphs
        self.surface_encoder = graphs["surface_encoder"]
        self.candidates = graphs["candidates"]
        self.score = graphs["score"]

    @cached_property
    def left(self) -> PaddedStack:
        return PaddedStack(self.graphs, "left_context", False)

    @cached_property
    def right(self) -> PaddedStack:
        return PaddedStack(self.graphs, "right_context", True)

    def _contexts(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Left and right context encodings of (tokens, 40, 15) character windows."""
        n, window, length = left.shape
        unique, inverse, pad = _with_pad_row(
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
        lists, list_ids = _unique_rows(np.concatenate([stems.reshape(n, -1), tags.reshape(n, -1)], axis=1))
        analyses = np.concatenate(
            [
                lists[:, : slots * split].reshape(-1, split),
                lists[:, slots * split :].reshape(len(lists) * slots, -1),
            ],
            axis=1,
        )
        unique, inverse, _ = _with_pad_row(analyses.astype(np.int32))
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


FAST = {
    "spucontext": FastSpuContext,
    "stemmer": FastStemmer,
    "treestack_pos": FastTreeStackPos,
    "treestack_dp": FastTreeStackDp,
}
