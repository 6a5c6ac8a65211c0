"""One batch of sentences through every model a run needs, in dependency order, into output columns.

A model that fails on a sentence fails that row only: its status becomes `error:<model>: <reason>`,
its columns for that model stay null, and the other models' annotations are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vnlp_batch.featurize import charner as charner_features
from vnlp_batch.featurize import sentiment as sentiment_features
from vnlp_batch.featurize.candidates import deterministic_generator, sentence_candidates
from vnlp_batch.featurize.stemmer import stemmer_inputs
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference import autoregressive
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models.planning import Plan

DP_CHUNK = WINDOW  # VNLP's DP models read at most 40 tokens; longer sentences are parsed in chunks
STATUS_OK = "ok"
STATUS_DP_CHUNKED = "ok:dp_chunked"


@dataclass
class BatchResult:
    """Per-row annotation columns for one batch (lists aligned with the batch's sentences)."""

    columns: dict[str, list] = field(default_factory=dict)
    errors: list[str | None] = field(default_factory=list)
    # With keep_probs: model -> per-row output probabilities (None where the model did not run)
    probs: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    dp_chunked: list[bool] = field(default_factory=list)

    def fail(self, row: int, model: str, reason: str) -> None:
        if self.errors[row] is None:
            self.errors[row] = f"error:{model}: {reason}"


@lru_cache(maxsize=2**18)
def _roots(token: str) -> tuple[str, ...]:
    # The lemma is the candidate's root, taken from the generator's tuple rather than split out of
    # the joined string: a root may itself contain '+' (a token like "C++").
    return tuple(a[0] for a in deterministic_generator().get_analysis_candidates(token))


class Annotator:
    def __init__(self, plan: Plan, models: dict[str, LoadedModel], keep_probs: bool = False) -> None:
        self.plan = plan
        self.models = models
        self.keep_probs = keep_probs  # the fidelity harness compares full probability vectors

    def warm_up(self) -> None:
        """Annotate one short sentence and discard it: loads the lexicons, tokenizers and SentencePiece
        model the featurizers read lazily, builds the fast decoders' padding-state tables and gives every
        onnxruntime session its first run (about 10 s for task=all on 2 cores, paid once per process)."""
        from vnlp_batch.featurize.treebank import treebank_word_tokenize

        text = "Bu sabah Ankara'da yağmur yağdı, İstanbul'da ise güneş vardı."
        self.annotate([text], [treebank_word_tokenize(text)])

    def annotate(self, texts: Sequence[str], tokens: Sequence[list[str]]) -> BatchResult:
        n = len(texts)
        result = BatchResult(errors=[None] * n, dp_chunked=[False] * n)
        analyses: list[list[str] | None] | None = None
        if "stemmer" in self.models:
            analyses = self._stemmer(tokens, result)
        pos_by_model: dict[str, list[list[str] | None]] = {}
        for name in ("spucontext_pos", "treestack_pos"):
            if name in self.models:
                pos_by_model[name] = self._tagger(name, tokens, analyses, result)
        if self.plan.pos:
            result.columns["pos"] = pos_by_model[self.plan.pos]
        if self.plan.ner == "charner":
            self._charner(texts, result)
        elif self.plan.ner:
            result.columns["ner"] = self._tagger(self.plan.ner, tokens, None, result)
        if self.plan.dep:
            self._parser(self.plan.dep, tokens, analyses, pos_by_model.get("treestack_pos"), result)
        if self.plan.sentiment:
            self._sentiment(texts, result)
        return result

    # --- non-autoregressive models -------------------------------------------------------------

    def _stemmer(self, tokens: Sequence[list[str]], result: BatchResult) -> list[list[str] | None]:
        model = self.models["stemmer"]
        candidates = [sentence_candidates(s) for s in tokens]
        fast = model.fast()
        if not tokens:
            probs = None
        elif fast is not None:
            probs = fast.probs(tokens, candidates)
        else:
            inputs = [stemmer_inputs(s, c) for s, c in zip(tokens, candidates, strict=True)]
            probs = model([np.concatenate([x[k] for x in inputs]) for k in range(4)])
        analyses, lemmas, start = [], [], 0
        kept: list[np.ndarray | None] = []
        for s, cands in zip(tokens, candidates, strict=True):
            p = probs[start : start + len(s)]
            start += len(s)
            kept.append(p)
            # VNLP: probabilities times a mask of the first len(candidates) slots, then the first argmax.
            levels = np.array([len(c) for c in cands])[:, None]
            chosen = (p * (levels >= np.arange(1, p.shape[1] + 1))).argmax(axis=1) if len(s) else []
            analyses.append([c[k].replace("+DB", "^DB") for c, k in zip(cands, chosen, strict=True)])
            lemmas.append([_roots(t)[k] for t, k in zip(s, chosen, strict=True)])
        if self.keep_probs:
            result.probs["stemmer"] = kept
        if self.plan.morph:
            result.columns["morph"] = analyses
            result.columns["lemma"] = lemmas
        return analyses

    def _charner(self, texts: Sequence[str], result: BatchResult) -> None:
        from vnlp_batch.vnlp_env import vnlp_module

        word_punct_tokenize = vnlp_module("tokenizer").WordPunctTokenize
        model, labels = self.models["charner"], self.models["charner"].metadata.labels("ner")
        leaves, owners = [], []
        ner_tokens: list[list[str] | None] = []
        for row, text in enumerate(texts):
            tokens = word_punct_tokenize(text)
            ner_tokens.append(tokens)
            try:
                parts = charner_features.split_for_length(tokens)
            except ValueError as exc:
                result.fail(row, "charner", str(exc))
                ner_tokens[row] = None
                continue
            leaves += parts
            owners += [row] * len(parts)
        ner: list[list[str] | None] = [[] if t is not None else None for t in ner_tokens]
        if leaves:
            char_probs = model([np.concatenate([charner_features.charner_inputs(leaf) for leaf in leaves])])
            chars = char_probs.argmax(axis=-1)
            if self.keep_probs:  # per row: its leaves' (leaves, 256, classes) character probabilities
                kept: list[list[np.ndarray]] = [[] for _ in texts]
                for row, p in zip(owners, char_probs, strict=True):
                    kept[row].append(p)
                result.probs["charner"] = [np.stack(k) if k else None for k in kept]
            for leaf, row, char_labels in zip(leaves, owners, chars, strict=True):
                ner[row] += [labels[k] for k in charner_features.decode_entities(leaf, char_labels)]
        result.columns["ner"] = ner
        result.columns["ner_tokens"] = ner_tokens

    def _sentiment(self, texts: Sequence[str], result: BatchResult) -> None:
        model = self.models["sentiment"]
        splits: list[sentiment_features.SentimentSplit | None] = []
        for row, text in enumerate(texts):
            try:
                splits.append(sentiment_features.split_for_length(text))
            except sentiment_features.UnsplittableTextError as exc:
                result.fail(row, "sentiment", str(exc))
                splits.append(None)
        done = [s for s in splits if s is not None]
        probs = model([np.concatenate([s.inputs for s in done])])[:, 0] if done else np.zeros(0, np.float32)
        values: list[float | None] = []
        start = 0
        for split in splits:
            if split is None:
                values.append(None)
                continue
            leaf_probs = probs[start : start + len(split.leaves)]
            start += len(split.leaves)
            values.append(float(split.combine(leaf_probs)))
        result.columns["sentiment"] = values

    # --- autoregressive models -----------------------------------------------------------------

    def _tagger(self, name, tokens, analyses, result) -> list[list[str] | None]:
        model = self.models[name]
        group = model.spec.output_groups[0].name
        vocabulary = model.metadata.labels(group)
        rows = [i for i, s in enumerate(tokens) if s and (analyses is None or analyses[i] is not None)]
        decoded = autoregressive.decode(
            model.spec,
            model,
            [tokens[i] for i in rows],
            analyses=[analyses[i] for i in rows] if analyses is not None else None,
            fast=model.fast(),
            keep_probs=self.keep_probs,
        )
        out: list[list[str] | None] = [[] if not s else None for s in tokens]
        for i, labels in zip(rows, decoded.labels, strict=True):
            out[i] = [vocabulary[k] for k in labels[:, 0]]
        if self.keep_probs:
            kept: list[np.ndarray | None] = [None] * len(tokens)
            for i, p in zip(rows, decoded.probs, strict=True):
                kept[i] = p
            result.probs[name] = kept
        return out

    def _parser(self, name, tokens, analyses, pos, result) -> None:
        model = self.models[name]
        relations = model.metadata.labels("rel")
        chunks, owners, starts = [], [], []
        chunk_analyses: list[list[str]] = []
        chunk_pos: list[list[str]] = []
        for row, sentence in enumerate(tokens):
            if name == "treestack_dp":
                if analyses[row] is None or pos[row] is None:
                    continue
                if "" in pos[row]:
                    # VNLP maps PoS strings through a Keras tokenizer that drops '' (label 0), so its
                    # pos_tags[t] runs out and TreeStackDP.predict raises on this sentence.
                    result.fail(
                        row, name, "a PoS label is empty; VNLP's TreeStackDP cannot parse the sentence"
                    )
                    continue
            if len(sentence) > DP_CHUNK:
                result.dp_chunked[row] = True
            for start in range(0, len(sentence), DP_CHUNK):
                chunks.append(sentence[start : start + DP_CHUNK])
                owners.append(row)
                starts.append(start)
                if name == "treestack_dp":
                    chunk_analyses.append(
                        [a.replace("^", "+") for a in analyses[row][start : start + DP_CHUNK]]
                    )
                    chunk_pos.append(pos[row][start : start + DP_CHUNK])
        decoded = autoregressive.decode(
            model.spec,
            model,
            chunks,
            analyses=chunk_analyses or None,
            pos_labels=chunk_pos or None,
            fast=model.fast(),
            keep_probs=self.keep_probs,
        )
        if self.keep_probs:
            kept: list[list[np.ndarray]] = [[] for _ in tokens]
            for row, p in zip(owners, decoded.probs, strict=True):
                kept[row].append(p)
            result.probs[name] = [np.concatenate(k) if k else None for k in kept]
        heads: list[list[int] | None] = [[] if not s else None for s in tokens]
        rels: list[list[str] | None] = [[] if not s else None for s in tokens]
        for row, start, labels in zip(owners, starts, decoded.labels, strict=True):
            if heads[row] is None:
                heads[row], rels[row] = [], []
            heads[row] += _chunk_heads(labels[:, 0], start, chunked=result.dp_chunked[row])
            rels[row] += [relations[k] for k in labels[:, 1]]
        result.columns["dep_head"] = heads
        result.columns["dep_rel"] = rels


def _chunk_heads(arcs: np.ndarray, start: int, chunked: bool) -> list[int]:
    """A chunk's arcs as heads in its sentence: arc k points at the chunk's k-th token, 0 (root) stays 0.

    An arc past the chunk's end points at padding, not at a token; offset, it would land on a token of
    the next chunk, which the parser never saw, so it becomes -1. A sentence of at most 40 tokens keeps
    VNLP's argmax as it is, even past the sentence end.
    """
    if not chunked:
        return [int(a) for a in arcs]
    size = len(arcs)
    return [-1 if a > size else int(a) + start if a > 0 else 0 for a in arcs]
