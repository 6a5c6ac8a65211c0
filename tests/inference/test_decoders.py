"""`runtime.decoder=fast` and `monolithic` through the whole annotator, and teacher forcing.

Fast == monolithic step by step over the whole corpus, teacher-forced, is test_fidelity.py's
`test_fast_equals_monolithic_on_the_whole_corpus`. Here both decoders run the pipeline's own
`Annotator` free, on a slice that includes a sentence over 40 tokens (sliding windows and DP chunks on
both paths): the same decoders are chosen, and the two outputs agree up to a sentence's first
near-tie (tests/agreement.py), everything else being identical.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agreement import check_diverging
from vnlp_batch.featurize.candidates import sentence_candidates
from vnlp_batch.inference import autoregressive
from vnlp_batch.inference.annotate import Annotator
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.planning import Plan

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


def _valid(name: str, tokens: list[str]) -> np.ndarray | None:
    if name != "stemmer":
        return None
    levels = np.array([min(len(c), 10) for c in sentence_candidates(tokens)])
    return np.arange(10) < levels[:, None]


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
    assert fast.errors == mono.errors and fast.dp_chunked == mono.dp_chunked
    assert any(fast.dp_chunked)
    tied: set[int] = set()  # rows where some model met a near-tie: their later outputs may differ
    for name in sorted(fast.probs, key=lambda n: len(MODELS[n].needs)):  # upstream models first
        for row, (a, b) in enumerate(zip(mono.probs[name], fast.probs[name], strict=True)):
            if a is None or (MODELS[name].needs and row in tied):
                continue
            spec = MODELS[name]
            where = f"slice row {row}"
            valid = _valid(name, tokens[row])
            tie = check_diverging(
                spec, a, b, comparison="fast vs monolithic (annotator)", where=where, valid=valid
            )
            if tie is not None:
                tied.add(row)
    for column in fast.columns:
        for row in range(len(texts)):
            if row not in tied:
                assert fast.columns[column][row] == mono.columns[column][row], (column, row)


def test_teacher_forcing_feeds_the_given_history(loaded, corpus) -> None:
    """`decode(forced=…)` feeds the given labels back as history and still reports its own choices."""
    spec, model = MODELS["spucontext_pos"], loaded["spucontext_pos"]
    _, tokens = corpus
    sentences = [t for t in tokens if 8 <= len(t) <= 20][:6]
    free = autoregressive.decode(spec, model, sentences, keep_probs=True, fast=model.fast())
    same = autoregressive.decode(
        spec, model, sentences, keep_probs=True, fast=model.fast(), forced=free.labels
    )
    for a, b in zip(free.probs, same.probs, strict=True):
        np.testing.assert_array_equal(a, b)  # forcing its own choices changes nothing
    other = [(labels + 1) % spec.output_width for labels in free.labels]  # a different history
    moved = autoregressive.decode(spec, model, sentences, keep_probs=True, fast=model.fast(), forced=other)
    for a, b in zip(free.probs, moved.probs, strict=True):
        np.testing.assert_array_equal(a[0], b[0])  # step 0 reads no history
        assert np.abs(a[1:] - b[1:]).max() > 1e-3  # later steps read the forced history
    for labels, probs in zip(moved.labels, moved.probs, strict=True):
        np.testing.assert_array_equal(labels[:, 0], probs.argmax(axis=1))  # its own choices
    with pytest.raises(ValueError, match="forced labels"):
        autoregressive.decode(spec, model, sentences, fast=model.fast(), forced=free.labels[:-1])
