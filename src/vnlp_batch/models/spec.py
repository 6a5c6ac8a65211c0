"""The shape of a model declaration: what a VNLP model is, stated once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from vnlp_batch.components.base import Component

Task = Literal["morph", "pos", "ner", "dep", "sentiment"]
Decoding = Literal["per_token", "autoregressive", "per_char", "per_text"]


@dataclass(frozen=True)
class OutputGroup:
    """A slice of the output vector that is arg-maxed on its own (DP splits arcs from relations).

    `reserved_zero`: index 0 of the slice is VNLP's padding label ('' after decoding); a trained
    model never predicts it, so synthetic weights keep it rare.
    `token_pointer`: index k > 0 of the slice is the k-th token of the sentence being decoded, 0 none
    (DP's arcs: 0 = root). The slice is as wide as the longest sentence the model reads, so VNLP's
    argmax can point past a shorter sentence's end; `dep.heads=in_sentence` keeps it within 0..n
    (inference/autoregressive.py).
    """

    name: str
    start: int
    stop: int
    reserved_zero: bool
    token_pointer: bool = False


@dataclass(frozen=True)
class Embedding:
    """A frozen embedding matrix shipped as its own `.matrix` file and spliced into the weight list."""

    file: str
    index: int  # position in model.get_weights() where VNLP inserts it


@dataclass(frozen=True)
class ModelSpec:
    """One VNLP model.

    The architecture is VNLP's by construction: `builder` is called from VNLP's own module with
    `builder_args`, each the name of a constant in `module` (or in `derived`, for the few values
    VNLP computes inside `__init__`). What is done with the model — its inputs, fast graphs, decoding,
    outputs — is its family's `component` (components/).
    """

    name: str  # config name, e.g. "spucontext_pos"
    vnlp_class: str  # VNLP's class name, e.g. "SPUContextPoS"
    task: Task
    component: Component  # its family's: inputs, fast graphs, decoding and outputs (components/)
    module: str  # VNLP module holding the class and its constants, relative to `vnlp.`
    builder_module: str  # VNLP module holding the create_*_model function
    builder: str
    builder_args: tuple[str, ...]
    weights_file: str  # VNLP's prod file name, also the name in its object store
    inputs: tuple[str, ...]  # ONNX input names, in the Keras model's input order
    output_activation: Literal["softmax", "sigmoid"]
    output_groups: tuple[OutputGroup, ...]
    label_tokenizer: str | None  # VNLP resource (relative to the vnlp package) holding the labels
    resources: tuple[str, ...]  # VNLP resources the inputs are built from; their sha256 goes in metadata
    embedding: Embedding | None = None
    needs: tuple[str, ...] = ()  # models whose output this one reads
    hyperparameters: tuple[str, ...] = ()  # module constants recorded in ONNX metadata
    derived: dict[str, Callable[[ModuleType], Any]] = field(default_factory=dict)

    @property
    def output_width(self) -> int:
        return max(group.stop for group in self.output_groups)

    @property
    def decoding(self) -> Decoding:
        """How VNLP decodes the model's output (a fact of its family, recorded in ONNX metadata)."""
        return self.component.decoding
