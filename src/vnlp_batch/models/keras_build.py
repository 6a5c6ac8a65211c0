"""Build VNLP's Keras models with VNLP's own builder functions and load weights into them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import vnlp_module


def builder_arguments(spec: ModelSpec) -> list[Any]:
    """The positional arguments VNLP's own `__init__` passes to the builder, read from VNLP's module."""
    module = vnlp_module(spec.module)
    args = []
    for name in spec.builder_args:
        args.append(spec.derived[name](module) if name in spec.derived else getattr(module, name))
    return args


def hyperparameters(spec: ModelSpec) -> dict[str, Any]:
    """The declared hyperparameters with VNLP's values, for metadata."""
    module = vnlp_module(spec.module)
    return {name: getattr(module, name) for name in spec.hyperparameters}


def build_keras_model(spec: ModelSpec) -> Any:
    """A freshly built (untrained) tf.keras model with VNLP's architecture."""
    builder = getattr(vnlp_module(spec.builder_module), spec.builder)
    return builder(*builder_arguments(spec))


@dataclass(frozen=True)
class WeightSlot:
    """One array of `model.get_weights()`: where it sits and what it must look like."""

    index: int
    name: str
    shape: tuple[int, ...]


def weight_slots(model: Any) -> list[WeightSlot]:
    return [WeightSlot(i, w.name, tuple(int(d) for d in w.shape)) for i, w in enumerate(model.weights)]


def pickled_slots(spec: ModelSpec, model: Any) -> list[WeightSlot]:
    """The slots stored in VNLP's `.weights` pickle: all but the separately shipped embedding."""
    slots = weight_slots(model)
    if spec.embedding is not None:
        del slots[spec.embedding.index]
    return slots


def load_weights(spec: ModelSpec, model: Any, weights_dir: Path) -> None:
    """Read `spec`'s files from `weights_dir` defensively and set them, as VNLP's `__init__` does."""
    from vnlp_batch.weights.vnlp_format import check_weight_shapes, read_matrix_file, read_weights_file

    path = weights_dir / spec.weights_file
    arrays = read_weights_file(path)
    expected = [(slot.shape, "float32") for slot in pickled_slots(spec, model)]
    arrays = check_weight_shapes(path, arrays, expected)
    if spec.embedding is not None:
        matrix_path = weights_dir / spec.embedding.file
        matrix = read_matrix_file(matrix_path)
        embedding_slot = weight_slots(model)[spec.embedding.index]
        (matrix,) = check_weight_shapes(
            matrix_path, [matrix], [(embedding_slot.shape, "float32")], allow_cast_from=("float64",)
        )
        arrays.insert(spec.embedding.index, matrix)
    model.set_weights([np.asarray(a, dtype=np.float32) for a in arrays])
