"""One batch of sentences through every model a run needs, in dependency order, into output columns.

Each model is decoded by its family's component (components/), which is handed the outputs of the
models it needs. A model that fails on a sentence fails that row only: its status becomes
`error:<model>: <reason>`, its columns for that model stay null, and the other models' annotations
are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vnlp_batch.components.base import AnnotateOptions, Heads, ModelOutput
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.planning import Plan, upstream_first

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


class Annotator:
    """Every loaded model of a run over one batch: each model's component decodes it (upstream models
    first, in declaration order otherwise) and the plan says whose output becomes each task's columns.

    A row failing in several models reports the first of them in that order. `heads` is `dep.heads`
    (components/base.py, `AnnotateOptions`); `keep_probs` is for the fidelity harness, which compares
    full probability vectors."""

    def __init__(
        self,
        plan: Plan,
        models: dict[str, LoadedModel],
        keep_probs: bool = False,
        heads: Heads = "vnlp",
    ) -> None:
        self.plan = plan
        self.models = models
        self.options = AnnotateOptions(keep_probs=keep_probs, heads=heads)
        self.order = upstream_first(name for name in MODELS if name in models)
        for name in self.order:
            if name not in models:
                needing = [n for n in models if name in models[n].spec.needs]
                raise ValueError(f"{', '.join(needing)} needs {name}, which is not loaded")

    def warm_up(self) -> None:
        """Annotate one short sentence and discard it: loads the lexicons, tokenizers and SentencePiece
        model the featurizers read lazily, builds the fast decoders' padding-state tables and gives every
        onnxruntime session its first run (about 10 s for task=all on 2 cores, paid once per process)."""
        from vnlp_batch.featurize.treebank import treebank_word_tokenize

        text = "Bu sabah Ankara'da yağmur yağdı, İstanbul'da ise güneş vardı."
        self.annotate([text], [treebank_word_tokenize(text)])

    def annotate_whole_texts(self, texts: Sequence[str]) -> BatchResult:
        """The plan's models that label a whole text (`labels_whole_text`: sentiment) on `texts`: with
        data.unit=document the rows' own values, beside those of their sentences."""
        n = len(texts)
        result = BatchResult(errors=[None] * n, dp_chunked=[False] * n)
        for name in self.order:
            model = self.models[name]
            component = model.spec.component
            if component.labels_whole_text and self.plan.model_for(model.spec.task) == name:
                output = component.annotate(model, texts, [[] for _ in texts], [], result, self.options)
                result.columns.update(output.columns)
        return result

    def annotate(self, texts: Sequence[str], tokens: Sequence[list[str]]) -> BatchResult:
        n = len(texts)
        result = BatchResult(errors=[None] * n, dp_chunked=[False] * n)
        outputs: dict[str, ModelOutput] = {}
        for name in self.order:
            model = self.models[name]
            upstream = [outputs[needed] for needed in model.spec.needs]
            component = model.spec.component
            outputs[name] = component.annotate(model, texts, tokens, upstream, result, self.options)
            if self.plan.model_for(model.spec.task) == name:
                result.columns.update(outputs[name].columns)
        return result
