"""`runtime.decoder=fast` and `monolithic` give the same labels (and probabilities within 1e-4).

The whole-corpus comparison with VNLP is tests/inference/test_fidelity.py (fast decoders); here the
seed design is checked against the fast one on a slice of the corpus that includes sentences over
40 tokens, so sliding windows and DP chunking are exercised on both paths.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vnlp_batch.inference.annotate import Annotator, Plan
from vnlp_batch.inference.onnx_model import LoadedModel

PLANS = [
    Plan(
        morph="stemmer",
        pos="spucontext_pos",
        ner="spucontext_ner",
        dep="spucontext_dp",
        sentiment="sentiment",
    ),
    Plan(pos="treestack_pos", ner="charner", dep="treestack_dp"),
]


@pytest.fixture(scope="module")
def slice_(corpus):
    texts, tokens = corpus
    # The seed design is slow (that is why `fast` exists): ten sentences and the shortest long one.
    longest_first = sorted((len(t), i) for i, t in enumerate(tokens) if len(t) > 40)
    picked = [*range(10), longest_first[0][1]]
    return [texts[i] for i in picked], [tokens[i] for i in picked]


@pytest.mark.parametrize("plan", PLANS, ids=["default", "alternatives"])
def test_fast_equals_monolithic(plan, exports, cpu_runtime, slice_) -> None:
    texts, tokens = slice_
    results = {}
    for decoder in ("fast", "monolithic"):
        runtime = dataclasses.replace(cpu_runtime, decoder=decoder)
        names = {"stemmer", *(getattr(plan, t) for t in plan.tasks)}
        if plan.dep == "treestack_dp":
            names.add("treestack_pos")
        models = {n: LoadedModel.load(exports.models[n].graphs, runtime) for n in names}
        expected = {"charner", "sentiment"} & names if decoder == "fast" else set(names)
        assert {n for n, m in models.items() if m.decoder == "monolithic"} == expected
        results[decoder] = Annotator(plan, models, keep_probs=True).annotate(texts, tokens)
    fast, mono = results["fast"], results["monolithic"]
    assert fast.columns == mono.columns
    assert fast.errors == mono.errors and fast.dp_chunked == mono.dp_chunked
    assert any(fast.dp_chunked)
    for name, rows in fast.probs.items():
        for a, b in zip(rows, mono.probs[name], strict=True):
            if a is not None:
                assert np.abs(np.asarray(a) - np.asarray(b)).max() <= 1e-4, name
