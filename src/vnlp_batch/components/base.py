"""What a model family's component is: the hooks the export stage, verification, calibration, the
decode loop and the annotator call, with the behaviour most families share.

A declaration (models/declarations.py) says what a VNLP model is; its component says what to do
with it. The generic machinery asks the component and never tests a model's name or family:

- export (export/stage.py): `fast_graphs` cuts VNLP's Keras model into the fast decoder's graphs,
  `fast_decoder` composes them at run time (and in verification), `graph_roles` names them;
- VNLP's own rows (models/vnlp_rows.py): `tokenize`, `sample_upstream`, and the rows VNLP's input
  functions build, which `verification_rows` (export/verify.py) and `calibrate`
  (weights/calibration.py) feed to VNLP's Keras model;
- labels (models/labels.py, ONNX metadata): `labels`;
- annotation (inference/annotate.py): `annotate` decodes a batch with the loaded model and returns
  its output columns and what downstream models read; it records row errors in the batch result.
  The run's decoding options (`AnnotateOptions`) are handed to every component, each reading those
  that concern it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.labels import tokenizer_vocabulary
from vnlp_batch.models.spec import Decoding, ModelSpec, OutputGroup

if TYPE_CHECKING:
    from vnlp_batch.inference.annotate import BatchResult
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.models.decompose import Graph
    from vnlp_batch.weights.calibration import Calibration, CalibrationHead


# dep.heads: `vnlp` keeps VNLP's argmax over every arc, `in_sentence` the argmax over the root and
# the sentence's own tokens (README, "Deviations").
Heads = Literal["vnlp", "in_sentence"]


@dataclass(frozen=True)
class AnnotateOptions:
    """How a run decodes, the same for every model of the run."""

    keep_probs: bool = False  # per-row output probabilities into `result.probs` (the fidelity harness)
    heads: Heads = "vnlp"  # how the token-pointer groups (DP's arcs) are arg-maxed


@dataclass
class ModelOutput:
    """One model's output for a batch of rows."""

    # per row, what downstream models read (None: the row was not decoded); () when none reads it
    rows: Sequence[list[str] | None] = ()
    columns: dict[str, list] = field(default_factory=dict)  # its task's output columns, per row


class Component:
    """The hooks of a model family. Subclasses set `decoding` and override what their family does."""

    decoding: ClassVar[Decoding]
    fast_decoder: ClassVar[type | None] = None  # (spec, graphs by role) -> the fast decoder
    graph_roles: ClassVar[tuple[str, ...]] = ()  # roles of the fast graphs `fast_graphs` can cut
    own_tokens: ClassVar[bool] = False  # labels tokens of its own, not the Treebank `tokens`
    # One value for a whole text (sentiment): with data.unit=document it also runs on the whole row
    labels_whole_text: ClassVar[bool] = False

    def roles_to_load(self, roles: Sequence[str], decoder: str) -> list[str]:
        """The graphs of an export (`roles`) a run with `decoder` loads: the monolithic one, and the
        fast graphs when decoding fast a family that has them and they were exported."""
        fast = decoder == "fast" and self.fast_decoder is not None and len(roles) > 1
        return ["monolithic", *(r for r in roles if r != "monolithic")] if fast else ["monolithic"]

    # --- export ------------------------------------------------------------------------------

    def fast_graphs(self, model: Any) -> list[Graph]:
        """The fast decoder's graphs cut from VNLP's Keras `model` ([]: it runs its monolithic graph)."""
        return []

    # --- labels ------------------------------------------------------------------------------

    def labels(self, spec: ModelSpec) -> dict[str, list[str]]:
        """For each output group, the label of every output index in that group."""
        return {group.name: self.group_labels(spec, group) for group in spec.output_groups}

    def group_labels(self, spec: ModelSpec, group: OutputGroup) -> list[str]:
        """The group's labels: VNLP's label tokenizer's vocabulary (index 0 decodes to '')."""
        width = group.stop - group.start
        assert spec.label_tokenizer is not None, f"{spec.name} declares no label tokenizer"
        vocabulary = tokenizer_vocabulary(spec.label_tokenizer)
        if len(vocabulary) != width:
            raise ValueError(
                f"{spec.name}: {spec.label_tokenizer} has {len(vocabulary)} labels, output {width}"
            )
        return list(vocabulary)

    # --- VNLP's own rows ---------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """The tokens VNLP's class for this family makes of raw text."""
        return vnlp_rows.module("tokenizer").TreebankWordTokenize(text)

    def sample_upstream(self, sentence: vnlp_rows.Sentence, rng: np.random.Generator) -> None:
        """Give a sample sentence the upstream outputs this family reads (none by default)."""

    def vnlp_batches(self, spec: ModelSpec, texts: Sequence[str], rows: int) -> Iterator[list[np.ndarray]]:
        """Model input batches built by VNLP's own input functions from `texts`, at least `rows` rows
        (if the texts hold that many)."""
        raise NotImplementedError(f"{type(self).__name__} builds no VNLP input batches")

    def verification_rows(
        self, spec: ModelSpec, texts: Sequence[str], rows: int, keras: vnlp_rows.Predict
    ) -> None:
        """Call `keras` (VNLP's Keras model) on input batches VNLP's functions build from `texts`, until
        at least `rows` rows went through it: export/verify.py records them."""
        done = 0
        for batch in self.vnlp_batches(spec, texts, rows):
            keras(batch)
            done += len(batch[0])
            if done >= rows:
                break

    def calibrate(self, spec: ModelSpec, head: CalibrationHead, corpus: Sequence[str]) -> Calibration:
        """Fit the output layer of synthetic weights on `corpus` (see weights/calibration.py)."""
        raise NotImplementedError(f"{type(self).__name__} has no calibration")

    # --- annotation --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read what the family's featurizer needs before its first batch (none by default). The run
        calls it on a start-up thread, so that slow reads overlap the loading of the sessions."""

    def annotate(
        self,
        model: LoadedModel,
        texts: Sequence[str],
        tokens: Sequence[list[str]],
        upstream: Sequence[ModelOutput],
        result: BatchResult,
        options: AnnotateOptions,
    ) -> ModelOutput:
        """Decode the batch (`upstream`: the outputs of the models `model.spec.needs`, in that order).

        A row the model cannot handle fails alone: `result.fail(row, model, reason)`; with
        `options.keep_probs`, per-row output probabilities go into `result.probs[model]`."""
        raise NotImplementedError(f"{type(self).__name__} does not annotate")
