"""TreeStackPoS's and TreeStackDP's fast decoders: their graphs (graphs.py) composed, each distinct tag
sequence encoded once per batch, the contexts that do not read the model's own output once per token,
only `step` in the decoding loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.components.treestack.graphs import PADDING
from vnlp_batch.featurize import treestack
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.fast import FastDecoder, Steps, concat, padded_stack, step_real, with_pad_row
from vnlp_batch.inference.padded import real_rows
from vnlp_batch.models.spec import ModelSpec

_WINDOW = np.arange(WINDOW)


class _FastTreeStack(FastDecoder):
    """What both TreeStack models share: tag sequences encoded once, windows as indices into them."""

    padding = PADDING

    def __init__(self, spec: ModelSpec, graphs: dict[str, Any]) -> None:
        super().__init__(spec, graphs)
        self.tag_encoder = graphs["tag_encoder"]

    def _encode_tag_rows(self, *blocks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], int]:
        """Encode every distinct 15-tag row among `blocks` (and the padding row) once.

        Returns the encodings, per block the ids of its rows, and the padding row's id."""
        length = blocks[0].shape[-1]
        flat = [b.reshape(-1, length) for b in blocks]
        unique, inverse, pad = with_pad_row(np.concatenate(flat))
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
    right = padded_stack("right_context", backward=True)
    step = padded_stack("step", backward=False)

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
        cat = lambda name, shape: concat([getattr(st, name) for st in statics], shape, np.int32)  # noqa: E731
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
                step_real(len(tokens), t),
            )

        return Steps(lengths, predict)


class FastTreeStackDp(_FastTreeStack):
    left = padded_stack("left_context", backward=False)
    right = padded_stack("right_context", backward=True)
    step = padded_stack("step", backward=False)

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
        base = lambda name, shape: concat([getattr(st.base, name) for st in statics], shape, np.int32)  # noqa: E731
        encoded, (tag, lc, rc), pad = self._encode_tag_rows(
            base("tags", (15,)), base("lc_tags", (WINDOW, 15)), base("rc_tags", (WINDOW, 15))
        )
        # PoS id windows: 40 zeros + ids + 40 zeros per sentence, as VNLP's pre/post padding.
        padded = concat([st.padded_pos for st in statics], (), np.int32)
        sizes = np.array([len(st.padded_pos) for st in statics], np.int64)
        firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        starts = concat([f + np.arange(st.n) for f, st in zip(firsts, statics, strict=True)], (), np.int64)
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
                step_real(len(tokens), t),
            )

        return Steps(lengths, predict)
