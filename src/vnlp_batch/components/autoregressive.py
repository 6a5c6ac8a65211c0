"""What the autoregressive families share: the decode-loop hooks they fill in, greedy verification and
calibration, and how a tagger's or a parser's decoded labels become output columns.

A family provides `vnlp_step_inputs` (VNLP's own `process_single_word_input` for step t: the reference
rows) and `monolithic_rows` (the same rows built in batches for the monolithic decoder,
inference/autoregressive.py); `Tagger` and `Parser` turn the decoded labels into columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vnlp_batch.components.base import AnnotateOptions, Component, ModelOutput
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference import autoregressive
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.spec import ModelSpec, OutputGroup

if TYPE_CHECKING:
    from vnlp_batch.inference.annotate import BatchResult
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.weights.calibration import Calibration, CalibrationHead


class MonolithicRows(Protocol):
    """A batch's model input rows at each step, for the monolithic decoder."""

    def static(self, idx: np.ndarray, t: int) -> list[np.ndarray]:
        """The inputs that do not depend on predictions, for the sentences `idx` at step t."""
        ...

    def assemble(self, static: list[np.ndarray], history: np.ndarray) -> list[np.ndarray]:
        """The model's inputs, in its input order, from `static` and the history windows."""
        ...


class AutoregressiveComponent(Component):
    """A family whose model predicts token by token, reading its own earlier predictions."""

    decoding = "autoregressive"

    def vnlp_step_inputs(
        self, spec: ModelSpec, t: int, sentence: vnlp_rows.Sentence, labels: list[tuple[int, ...]]
    ) -> Sequence[np.ndarray]:
        """VNLP's own input function for token t of `sentence`, given the labels of tokens 0..t-1."""
        raise NotImplementedError

    def monolithic_rows(
        self,
        sentences: Sequence[Sequence[str]],
        analyses: Sequence[Sequence[str]] | None,
        pos_labels: Sequence[Sequence[str]] | None,
    ) -> MonolithicRows:
        """The monolithic decoder's rows for `sentences` (with their upstream analyses and PoS)."""
        raise NotImplementedError

    def verification_rows(
        self, spec: ModelSpec, texts: Sequence[str], rows: int, keras: vnlp_rows.Predict
    ) -> None:
        """Decoded greedily by the Keras model itself, so the history inputs are the ones VNLP would
        really feed, not zeros."""
        vnlp_rows.decode_autoregressive(spec, keras, vnlp_rows.sample_sentences(spec, texts, rows))

    def calibrate(self, spec: ModelSpec, head: CalibrationHead, corpus: Sequence[str]) -> Calibration:
        """Calibrated on its own greedy decodes, re-run after each refit: the history input depends on
        the labels."""
        sentences = vnlp_rows.sample_sentences(spec, corpus, head.tokens)
        for round_ in range(head.rounds):
            head.features.clear()
            vnlp_rows.decode_autoregressive(spec, head, sentences)
            if round_ == 0:
                head.spread_logits(np.concatenate(head.features))
            head.refit(np.concatenate(head.features))
        decoded = vnlp_rows.decode_autoregressive(spec, head, sentences)
        return head.result(np.array([label for d in decoded for label in d.labels]))


class Tagger(AutoregressiveComponent):
    """One label per token, written as its task's column (`pos`, `ner`)."""

    def analyses(self, upstream: Sequence[ModelOutput]) -> Sequence[list[str] | None] | None:
        """The stemmer analyses it reads, from its upstream outputs (None: it reads none)."""
        return None

    def annotate(
        self,
        model: LoadedModel,
        texts: Sequence[str],
        tokens: Sequence[list[str]],
        upstream: Sequence[ModelOutput],
        result: BatchResult,
        options: AnnotateOptions,
    ) -> ModelOutput:
        spec = model.spec
        analyses = self.analyses(upstream)
        vocabulary = model.metadata.labels(spec.output_groups[0].name)
        rows = [i for i, s in enumerate(tokens) if s and (analyses is None or analyses[i] is not None)]
        decoded = autoregressive.decode(
            spec,
            model,
            [tokens[i] for i in rows],
            analyses=[analyses[i] for i in rows] if analyses is not None else None,  # type: ignore[misc]
            fast=model.fast(),
            keep_probs=options.keep_probs,
        )
        out: list[list[str] | None] = [[] if not s else None for s in tokens]
        for i, labels in zip(rows, decoded.labels, strict=True):
            out[i] = [vocabulary[k] for k in labels[:, 0]]
        if options.keep_probs:
            kept: list[np.ndarray | None] = [None] * len(tokens)
            for i, p in zip(rows, decoded.probs, strict=True):
                kept[i] = p
            result.probs[spec.name] = kept
        return ModelOutput(out, {spec.task: out})


class Parser(AutoregressiveComponent):
    """A head (arc) and a relation per token: output groups arc ‖ relation, written as `dep_head` and
    `dep_rel`. VNLP's parsers read at most 40 tokens; a longer sentence is parsed in chunks of 40
    (its row's status says so), each exactly as VNLP parses a sentence of its own. The arc group is a
    token pointer: with `options.heads == "in_sentence"` each sentence's (or chunk's) arcs are chosen
    among its own tokens and the root."""

    def group_labels(self, spec: ModelSpec, group: OutputGroup) -> list[str]:
        if group.token_pointer:
            return [str(i) for i in range(group.stop - group.start)]  # 0 = root, k = the k-th token
        return super().group_labels(spec, group)

    def parse_inputs(
        self, row: int, upstream: Sequence[ModelOutput], result: BatchResult, model: str
    ) -> tuple[list[str] | None, list[str] | None] | None:
        """Row `row`'s upstream analyses and PoS labels (None each when it reads none), or None when
        the row cannot be parsed (recorded in `result` if that is an error)."""
        return None, None

    def annotate(
        self,
        model: LoadedModel,
        texts: Sequence[str],
        tokens: Sequence[list[str]],
        upstream: Sequence[ModelOutput],
        result: BatchResult,
        options: AnnotateOptions,
    ) -> ModelOutput:
        spec = model.spec
        relations = model.metadata.labels(spec.output_groups[1].name)
        chunks, owners, starts = [], [], []
        chunk_analyses: list[list[str]] = []
        chunk_pos: list[list[str]] = []
        for row, sentence in enumerate(tokens):
            inputs = self.parse_inputs(row, upstream, result, spec.name)
            if inputs is None:
                continue
            analyses, pos = inputs
            if len(sentence) > WINDOW:
                result.dp_chunked[row] = True
            for start in range(0, len(sentence), WINDOW):
                chunks.append(sentence[start : start + WINDOW])
                owners.append(row)
                starts.append(start)
                if analyses is not None and pos is not None:
                    chunk_analyses.append(analyses[start : start + WINDOW])
                    chunk_pos.append(pos[start : start + WINDOW])
        decoded = autoregressive.decode(
            spec,
            model,
            chunks,
            analyses=chunk_analyses or None,
            pos_labels=chunk_pos or None,
            fast=model.fast(),
            keep_probs=options.keep_probs,
            in_sentence=options.heads == "in_sentence",
        )
        if options.keep_probs:
            kept: list[list[np.ndarray]] = [[] for _ in tokens]
            for row, p in zip(owners, decoded.probs, strict=True):
                kept[row].append(p)
            result.probs[spec.name] = [np.concatenate(k) if k else None for k in kept]
        heads: list[list[int] | None] = [[] if not s else None for s in tokens]
        rels: list[list[str] | None] = [[] if not s else None for s in tokens]
        for row, start, labels in zip(owners, starts, decoded.labels, strict=True):
            if heads[row] is None:
                heads[row], rels[row] = [], []
            heads[row] += chunk_heads(labels[:, 0], start, chunked=result.dp_chunked[row])  # type: ignore[operator]
            rels[row] += [relations[k] for k in labels[:, 1]]  # type: ignore[operator]
        return ModelOutput(rels, {"dep_head": heads, "dep_rel": rels})


def chunk_heads(arcs: np.ndarray, start: int, chunked: bool) -> list[int]:
    """A chunk's arcs as heads in its sentence: arc k points at the chunk's k-th token, 0 (root) stays 0.

    An arc past the chunk's end points at padding, not at a token; offset, it would land on a token of
    the next chunk, which the parser never saw, so it becomes -1. A sentence of at most 40 tokens keeps
    VNLP's argmax as it is, even past the sentence end. (With `dep.heads=in_sentence` no arc is past
    its chunk's end.)
    """
    if not chunked:
        return [int(a) for a in arcs]
    size = len(arcs)
    return [-1 if a > size else int(a) + start if a > 0 else 0 for a in arcs]
