"""The TreeStack family: TreeStackPoS (tagger) and TreeStackDP (parser).

Both read the stemmer's analysis of every token (TreeStackDP also a PoS tag from TreeStackPoS) beside
the word: their declarations `need` those models, and their upstream outputs arrive in that order.
Their featurizer is featurize/treestack.py, their fast graphs graphs.py, their fast decoders fast.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from vnlp_batch.components.autoregressive import AutoregressiveComponent, Parser, Tagger
from vnlp_batch.components.base import ModelOutput
from vnlp_batch.components.treestack.fast import FastTreeStackDp, FastTreeStackPos
from vnlp_batch.components.treestack.graphs import (
    PARSER_ROLES,
    TAGGER_ROLES,
    treestack_dp_graphs,
    treestack_pos_graphs,
)
from vnlp_batch.featurize import treestack
from vnlp_batch.featurize.candidates import sentence_candidates
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.decompose import Graph
from vnlp_batch.models.spec import ModelSpec


@cache
def _pos_vocabulary() -> list[str]:
    tokenizer = vnlp_rows.module("part_of_speech_tagger.spu_context_pos").tokenizer_label
    return [tokenizer.index_word[i] for i in sorted(tokenizer.index_word)]


class _TreeStack(AutoregressiveComponent):
    def sample_upstream(self, sentence: vnlp_rows.Sentence, rng: np.random.Generator) -> None:
        """The first stemmer candidate of each token and a seeded PoS draw: realistic rows without
        running the upstream models."""
        sentence.analyses = [c[0] for c in sentence_candidates(sentence.tokens)]
        sentence.pos = [str(p) for p in rng.choice(_pos_vocabulary(), size=len(sentence.tokens))]


class _TreeStackPosRows:
    def __init__(self, sentences: Sequence[Sequence[str]], analyses: Sequence[Sequence[str]]) -> None:
        self.static_ = [treestack.treestack_static(s, a) for s, a in zip(sentences, analyses, strict=True)]

    def static(self, idx: np.ndarray, t: int) -> list[np.ndarray]:
        parts = [self.static_[i] for i in idx]
        return [
            np.stack([getattr(p, name)[t] for p in parts]).astype(np.float32)
            for name in ("word", "tags", "lc_words", "lc_tags", "rc_words", "rc_tags")
        ]

    def assemble(self, static: list[np.ndarray], history: np.ndarray) -> list[np.ndarray]:
        word, tags, lc_words, lc_tags, rc_words, rc_tags = static
        return [word, tags, lc_words, lc_tags, history, rc_words, rc_tags]


class TreeStackTagger(_TreeStack, Tagger):
    """TreeStackPoS: one PoS tag per token, from the word, its analysis and the PoS history."""

    fast_decoder = FastTreeStackPos
    graph_roles = TAGGER_ROLES

    def fast_graphs(self, model: Any) -> list[Graph]:
        return treestack_pos_graphs(model)

    def monolithic_rows(self, sentences, analyses, pos_labels=None) -> _TreeStackPosRows:
        return _TreeStackPosRows(sentences, analyses)

    def analyses(self, upstream: Sequence[ModelOutput]) -> Sequence[list[str] | None]:
        (stemmer,) = upstream
        return stemmer.rows

    def vnlp_step_inputs(self, spec: ModelSpec, t: int, sentence, labels) -> Sequence[np.ndarray]:
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        preds = [label[0] for label in labels]
        return utils.process_single_word_input(
            t,
            sentence.tokens,
            sentence.analyses,
            m.SENTENCE_MAX_LEN,
            m.TAG_MAX_LEN,
            m.tokenizer_word,
            m.tokenizer_morph_tag,
            m.tokenizer_pos_label,
            preds,
            m.WORD_FORM,
        )


class _TreeStackDpRows:
    def __init__(self, sentences, analyses, pos_labels) -> None:
        self.static_ = [
            treestack.treestack_dp_static(s, a, p)
            for s, a, p in zip(sentences, analyses, pos_labels, strict=True)
        ]

    def static(self, idx: np.ndarray, t: int) -> list[np.ndarray]:
        parts = [self.static_[i] for i in idx]
        b = [p.base for p in parts]
        pos = np.stack([p.pos_ids[t : t + 1] for p in parts]).astype(np.float32)
        lc_pos = np.stack([p.padded_pos[t : t + WINDOW] for p in parts]).astype(np.float32)
        rc_pos = np.stack([p.padded_pos[t + WINDOW + 1 : t + 2 * WINDOW + 1] for p in parts]).astype(
            np.float32
        )
        word, tags, lc_words, lc_tags, rc_words, rc_tags = (
            np.stack([getattr(x, name)[t] for x in b]).astype(np.float32)
            for name in ("word", "tags", "lc_words", "lc_tags", "rc_words", "rc_tags")
        )
        return [word, tags, pos, lc_words, lc_tags, lc_pos, rc_words, rc_tags, rc_pos]

    def assemble(self, static: list[np.ndarray], history: np.ndarray) -> list[np.ndarray]:
        word, tags, pos, lc_words, lc_tags, lc_pos, rc_words, rc_tags, rc_pos = static
        return [word, tags, pos, lc_words, lc_tags, lc_pos, history, rc_words, rc_tags, rc_pos]


class TreeStackParser(_TreeStack, Parser):
    """TreeStackDP: an arc and a relation per token, from the word, its analysis and its PoS tag."""

    fast_decoder = FastTreeStackDp
    graph_roles = PARSER_ROLES

    def fast_graphs(self, model: Any) -> list[Graph]:
        return treestack_dp_graphs(model)

    def monolithic_rows(self, sentences, analyses, pos_labels) -> _TreeStackDpRows:
        return _TreeStackDpRows(sentences, analyses, pos_labels)

    def parse_inputs(
        self, row: int, upstream: Sequence[ModelOutput], result: Any, model: str
    ) -> tuple[list[str], list[str]] | None:
        stemmer, tagger = upstream
        analyses, pos = stemmer.rows[row], tagger.rows[row]
        if analyses is None or pos is None:
            return None
        if "" in pos:
            # VNLP maps PoS strings through a Keras tokenizer that drops '' (label 0), so its
            # pos_tags[t] runs out and TreeStackDP.predict raises on this sentence.
            result.fail(row, model, "a PoS label is empty; VNLP's TreeStackDP cannot parse the sentence")
            return None
        return [treestack.plus_form(a) for a in analyses], pos

    def vnlp_step_inputs(self, spec: ModelSpec, t: int, sentence, labels) -> Sequence[np.ndarray]:
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        arcs = [label[0] for label in labels]
        rels = [label[1] for label in labels]
        return utils.process_single_word_input(
            t,
            sentence.tokens,  # 0.2.4 passes the sentence string here (README, "Deviations")
            sentence.analyses,
            m.SENTENCE_MAX_LEN,
            m.TAG_MAX_LEN,
            m.ARC_LABEL_VECTOR_LEN,
            m.tokenizer_word,
            m.tokenizer_tag,
            m.tokenizer_label,
            m.tokenizer_pos,
            arcs,
            rels,
            sentence.pos,
            m.WORD_FORM,
        )
