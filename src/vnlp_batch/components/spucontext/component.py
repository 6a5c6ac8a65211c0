"""The SPUContext family: SPUContextPoS and SPUContextNER (taggers), SPUContextDP (parser).

They share VNLP's SPUContext architecture — each word's SentencePiece pieces encoded by a GRU stack,
left and right context stacks over 40 word encodings, a history stack over 40 predictions, an MLP —
so they share its featurizer (featurize/spucontext.py), its cut into fast graphs (graphs.py) and its
fast decoder (fast.py); the tagger and the parser differ in VNLP's input function (the parser's
history is arc ‖ relation) and in their outputs (components/autoregressive.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.components.autoregressive import AutoregressiveComponent, Parser, Tagger
from vnlp_batch.components.spucontext.fast import FastSpuContext
from vnlp_batch.components.spucontext.graphs import ROLES, spucontext_graphs
from vnlp_batch.featurize import spucontext
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.decompose import Graph
from vnlp_batch.models.spec import ModelSpec


class _SpuContextRows:
    """Word and context pieces of every token from one bank per batch; the history is appended."""

    def __init__(self, sentences: Sequence[Sequence[str]]) -> None:
        self.bank, self.offsets = spucontext.stack_padded(
            [spucontext.padded_pieces(spucontext.word_pieces(s)) for s in sentences]
        )

    def static(self, idx: np.ndarray, t: int) -> list[np.ndarray]:
        return list(spucontext.rows_from_bank(self.bank, self.offsets[idx] + t))

    def assemble(self, static: list[np.ndarray], history: np.ndarray) -> list[np.ndarray]:
        return [*static, history]


class _SpuContext(AutoregressiveComponent):
    fast_decoder = FastSpuContext
    graph_roles = ROLES

    def fast_graphs(self, model: Any) -> list[Graph]:
        return spucontext_graphs(model)

    def monolithic_rows(self, sentences, analyses=None, pos_labels=None) -> _SpuContextRows:
        return _SpuContextRows(sentences)


class SpuContextTagger(_SpuContext, Tagger):
    """SPUContextPoS, SPUContextNER: one label per token."""

    def vnlp_step_inputs(self, spec: ModelSpec, t: int, sentence, labels) -> Sequence[np.ndarray]:
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        preds = [label[0] for label in labels]
        return utils.process_single_word_input(
            t, sentence.tokens, m.spu_tokenizer_word, m.tokenizer_label, preds
        )


class SpuContextParser(_SpuContext, Parser):
    """SPUContextDP: an arc and a relation per token."""

    def vnlp_step_inputs(self, spec: ModelSpec, t: int, sentence, labels) -> Sequence[np.ndarray]:
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        arcs = [label[0] for label in labels]
        rels = [label[1] for label in labels]
        return utils.process_single_word_input(
            t, sentence.tokens, m.spu_tokenizer_word, m.tokenizer_label, m.ARC_LABEL_VECTOR_LEN, arcs, rels
        )
