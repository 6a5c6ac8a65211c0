"""The stemmer family: VNLP's StemmerAnalyzer, choosing each token's analysis among its candidates.

Its inputs (featurize/stemmer.py) are a token's first 10 candidate analyses (featurize/candidates.py,
in a fixed order) and the 40 surface tokens on each side; its output is a probability per candidate
slot. The chosen analysis is the `morph` column (with `^DB`, as VNLP writes it), its root the `lemma`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from vnlp_batch.components.base import AnnotateOptions, Component, ModelOutput
from vnlp_batch.components.stemmer.fast import FastStemmer
from vnlp_batch.components.stemmer.graphs import ROLES, stemmer_graphs
from vnlp_batch.featurize.candidates import deterministic_generator, sentence_candidates
from vnlp_batch.featurize.stemmer import NUM_MAX_ANALYSIS, stemmer_inputs
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.decompose import Graph
from vnlp_batch.models.spec import ModelSpec, OutputGroup

if TYPE_CHECKING:
    from vnlp_batch.inference.annotate import BatchResult
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.weights.calibration import Calibration, CalibrationHead


@lru_cache(maxsize=2**18)
def _roots(token: str) -> tuple[str, ...]:
    # The lemma is the candidate's root, taken from the generator's tuple rather than split out of
    # the joined string: a root may itself contain '+' (a token like "C++").
    return tuple(a[0] for a in deterministic_generator().get_analysis_candidates(token))


class Stemmer(Component):
    decoding = "per_token"
    fast_decoder = FastStemmer
    graph_roles = ROLES

    def fast_graphs(self, model: Any) -> list[Graph]:
        return stemmer_graphs(model)

    def group_labels(self, spec: ModelSpec, group: OutputGroup) -> list[str]:
        return [f"candidate_{i}" for i in range(group.stop - group.start)]

    def prepare(self) -> None:
        deterministic_generator()  # VNLP's lexicons, pure Python: 1.6 s of a run's start

    # --- VNLP's own rows ---------------------------------------------------------------------

    def vnlp_inputs(
        self, spec: ModelSpec, tokens: list[str], candidates: list[list[str]]
    ) -> list[np.ndarray]:
        """VNLP's `process_input_text` for one sentence and its candidates."""
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        x, _ = utils.process_input_text(
            [[tokens, candidates]],
            vnlp_rows.keras_tokenizer(m.TOKENIZER_CHAR_LOC),
            vnlp_rows.keras_tokenizer(m.TOKENIZER_TAG_LOC),
            m.STEM_MAX_LEN,
            m.TAG_MAX_LEN,
            m.SURFACE_TOKEN_MAX_LEN,
            m.SENTENCE_MAX_LEN,
            m.NUM_MAX_ANALYSIS,
            exclude_unambigious=False,
            shuffle=False,
        )
        return [np.asarray(a, np.int32) for a in x]

    def _sentences(
        self, spec: ModelSpec, texts: Sequence[str], budget: int
    ) -> Iterator[tuple[list[np.ndarray], list[list[str]]]]:
        """Per sample sentence: VNLP's inputs and the candidates in the model's slots. The candidates
        are VNLP's generator's with the deterministic order (featurize/candidates.py): with VNLP's own
        `list(set(tags))` they, and so anything calibrated or verified on them, would follow
        PYTHONHASHSEED."""
        for sentence in vnlp_rows.sample_sentences(spec, texts, budget):
            candidates = [c[:NUM_MAX_ANALYSIS] for c in sentence_candidates(sentence.tokens)]
            yield self.vnlp_inputs(spec, sentence.tokens, candidates), candidates

    def vnlp_batches(self, spec: ModelSpec, texts: Sequence[str], rows: int) -> Iterator[list[np.ndarray]]:
        for inputs, _ in self._sentences(spec, texts, rows):
            yield inputs

    def calibrate(self, spec: ModelSpec, head: CalibrationHead, corpus: Sequence[str]) -> Calibration:
        """Calibrated on the candidate slots each token really has (the others are masked, as VNLP
        masks them); the label spread counts ambiguous tokens only."""
        valid_rows = []
        for inputs, candidates in self._sentences(spec, corpus, 4 * head.tokens):
            head(inputs)
            valid_rows.append(np.array([[k < len(c) for k in range(NUM_MAX_ANALYSIS)] for c in candidates]))
        features, valid = np.concatenate(head.features), np.concatenate(valid_rows)
        head.spread_logits(features)
        head.refit(features, valid)
        logits = np.where(valid, head.logits(features), -np.inf)
        ambiguous = valid.sum(axis=1) > 1
        return head.result(logits[ambiguous].argmax(axis=1)[:, None])

    # --- annotation --------------------------------------------------------------------------

    def annotate(
        self,
        model: LoadedModel,
        texts: Sequence[str],
        tokens: Sequence[list[str]],
        upstream: Sequence[ModelOutput],
        result: BatchResult,
        options: AnnotateOptions,
    ) -> ModelOutput:
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
            p = probs[start : start + len(s)]  # type: ignore[index]
            start += len(s)
            kept.append(p)
            # VNLP: probabilities times a mask of the first len(candidates) slots, then the first argmax.
            levels = np.array([len(c) for c in cands])[:, None]
            chosen = (p * (levels >= np.arange(1, p.shape[1] + 1))).argmax(axis=1) if len(s) else []
            analyses.append([c[k].replace("+DB", "^DB") for c, k in zip(cands, chosen, strict=True)])
            lemmas.append([_roots(t)[k] for t, k in zip(s, chosen, strict=True)])
        if options.keep_probs:
            result.probs[model.spec.name] = kept
        return ModelOutput(analyses, {"morph": analyses, "lemma": lemmas})
