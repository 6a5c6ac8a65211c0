"""The whole sample corpus through the pipeline's own `Annotator`, as the session's `ours` fixture and the
int8 test need it (imported by name: tests/ is on sys.path as the rootdir of conftest.py)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.inference.annotate import Annotator
from vnlp_batch.models.planning import Plan

PLANS = {
    "default": Plan(
        morph="stemmer",
        pos="spucontext_pos",
        ner="spucontext_ner",
        dep="spucontext_dp",
        sentiment="sentiment",
    ),
    "alternatives": Plan(pos="treestack_pos", ner="charner", dep="treestack_dp"),
}
BATCH = 64


class _StemmerOnce:
    """The stemmer's fast decoder, remembering its probabilities per batch of sentences."""

    def __init__(self, fast: Any) -> None:
        self.fast = fast
        self.done: dict[tuple[tuple[str, ...], ...], np.ndarray] = {}

    def probs(
        self, sentences: Sequence[Sequence[str]], candidates: Sequence[Sequence[Sequence[str]]]
    ) -> np.ndarray:
        key = tuple(tuple(s) for s in sentences)  # the candidates are a function of the tokens
        if key not in self.done:
            self.done[key] = self.fast.probs(sentences, candidates)
        return self.done[key].copy()


def annotate_corpus(models: dict[str, Any], texts: Sequence[str], tokens: Sequence[list[str]]) -> dict:
    """{plan: (columns, probs, errors)} and {plan + "_chunked": dp_chunked flags} for every plan of
    PLANS over `texts`, in batches of BATCH sentences, with `models` (name -> LoadedModel)."""
    stemmer = models["stemmer"]
    if stemmer.fast() is not None:  # both plans run the stemmer on the same batches: once each
        stemmer = copy.copy(stemmer)
        stemmer._fast = _StemmerOnce(models["stemmer"].fast())
    models = {**models, "stemmer": stemmer}
    out: dict[str, Any] = {}
    for key, plan in PLANS.items():
        names = {"stemmer", *(getattr(plan, t) for t in plan.tasks)}
        if plan.dep == "treestack_dp":
            names |= {"treestack_pos"}
        annotator = Annotator(plan, {n: models[n] for n in names}, keep_probs=True)
        columns: dict[str, list] = {}
        probs: dict[str, list] = {}
        errors: list = []
        chunked: list = []
        for start in range(0, len(texts), BATCH):
            result = annotator.annotate(texts[start : start + BATCH], tokens[start : start + BATCH])
            chunked.extend(result.dp_chunked)
            for k, v in result.columns.items():
                columns.setdefault(k, []).extend(v)
            for k, v in result.probs.items():
                probs.setdefault(k, []).extend(v)
            errors.extend(result.errors)
        out[key] = (columns, probs, errors)
        out[key + "_chunked"] = chunked
    return out
