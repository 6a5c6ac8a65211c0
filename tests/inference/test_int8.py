"""`export=int8` end to end: every model decoded on its quantized graphs over the whole sample corpus.

The fast decoders run on the int8 export (graphs without an op onnxruntime quantizes stay fp32); the
labels are compared with the fp32 run token by token. Quantization changes numbers, so agreement is
reported (in the terminal summary), not held to a bar; the test checks that it is computed on every
token and that the int8 graphs really ran (their probabilities differ from fp32's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from stage_helpers import INT8_PROPERTY

from annotated import annotate_corpus
from vnlp_batch.config.schema import ExportConfig, RuntimeConfig
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models.declarations import MODELS

# model -> the plan that runs it, and the output columns whose per-token values are its labels
LABELS = {
    "stemmer": ("default", ("morph",)),
    "spucontext_pos": ("default", ("pos",)),
    "spucontext_ner": ("default", ("ner",)),
    "spucontext_dp": ("default", ("dep_head", "dep_rel")),
    "sentiment": ("default", ("sentiment",)),  # one label per row: positive if p > 0.5
    "treestack_pos": ("alternatives", ("pos",)),
    "charner": ("alternatives", ("ner",)),
    "treestack_dp": ("alternatives", ("dep_head", "dep_rel")),
}


@pytest.fixture(scope="module")
def int8_models(synthetic_weights, exports, cache_dir, sample_texts, cpu_runtime) -> dict[str, LoadedModel]:
    from vnlp_batch.export.stage import export_models

    result = export_models(
        MODELS.values(),
        synthetic_weights,
        ExportConfig(quantize="int8_dynamic"),
        cpu_runtime,
        cache_dir,
        sample_texts,
    )
    runtime: RuntimeConfig = dataclasses.replace(cpu_runtime, decoder="fast")
    return {name: LoadedModel.load(m.graphs, runtime) for name, m in result.models.items()}


@pytest.fixture(scope="module")
def both(ours, int8_models, corpus) -> dict[str, Any]:
    """The whole sample corpus annotated with the fp32 (the session's `ours`) and with the int8 graphs."""
    return {"fp32": ours, "int8": annotate_corpus(int8_models, *corpus)}


def _token_labels(columns: dict[str, list], names: tuple[str, ...], row: int) -> list:
    if names == ("sentiment",):
        p = columns["sentiment"][row]
        return [] if p is None else [p > 0.5]
    values = [columns[n][row] for n in names]
    return [] if any(v is None for v in values) else list(zip(*values, strict=True))


def _max_abs_diff(fp32: list, int8: list) -> float:
    diffs = [
        float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
        for a, b in zip(fp32, int8, strict=True)
        if a is not None and b is not None and np.size(a) and np.shape(a) == np.shape(b)
    ]
    return max(diffs, default=0.0)


@pytest.mark.parametrize("name", list(LABELS))
def test_int8_labels_against_fp32_on_the_whole_sample_corpus(
    name: str, both: dict[str, Any], int8_models: dict[str, LoadedModel], corpus, record_property
) -> None:
    model = int8_models[name]
    precision = model.precision()
    assert "int8_dynamic" in precision, precision  # the decoder runs quantized graphs
    if MODELS[name].component.fast_decoder is not None:  # the families with fast graphs
        assert model.decoder == "fast", precision

    plan, names = LABELS[name]
    fp32_columns, fp32_probs, _ = both["fp32"][plan]
    int8_columns, int8_probs, _ = both["int8"][plan]
    rows = len(corpus[0])
    same = total = 0
    for row in range(rows):
        a = _token_labels(fp32_columns, names, row)
        b = _token_labels(int8_columns, names, row)
        total += max(len(a), len(b))  # a row only one side could label counts as disagreeing
        same += sum(x == y for x, y in zip(a, b, strict=False))  # one side may have none
    expected_total = rows if name == "sentiment" else sum(len(t) for t in fp32_columns[names[0]] if t)
    assert total >= expected_total > 0, "agreement must cover every labelled token"
    agreement = same / total
    if name == "sentiment":
        max_dp = _max_abs_diff(fp32_columns["sentiment"], int8_columns["sentiment"])
    else:
        max_dp = _max_abs_diff(fp32_probs[name], int8_probs[name])
    # Equal probabilities everywhere would mean the int8 graphs did not run (agreement 1 by construction).
    assert max_dp > 0.0, f"{name}: int8 probabilities equal fp32's everywhere"
    unit = "rows" if name == "sentiment" else "tokens"
    record_property(
        INT8_PROPERTY,
        f"{name}: labels equal to fp32 on {agreement:.2%} of {total} {unit} ({same} equal), "
        f"max |Δp| {max_dp:.3g}; {precision}",
    )
