"""Seeded weight arrays for a declared model, drawn the same on every machine.

Values come from numpy's seeded generators (one stream per weights file, so adding a model never
changes another's), in the shapes of VNLP's own architecture, and are rounded to multiples of
DRAW_GRID — which absorbs the last-bit differences of LAPACK's QR behind the orthogonal recurrent
kernels. `weights/calibration.py` then fits their output layer, `weights/synthetic.py` writes them.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence

import numpy as np

from vnlp_batch.models.keras_build import build_keras_model, weight_slots
from vnlp_batch.models.spec import ModelSpec

GENERATOR_VERSION = 4  # bump when the drawn values or the calibration change
DRAW_GRID = 2.0**-16  # drawn values are multiples of this (exact in float32 below 256)


def _rng(seed: int, name: str) -> np.random.Generator:
    # One stream per file: adding a model never changes another model's weights.
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return q if rows >= cols else q.T


def draw_array(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One weight array, drawn like Keras's defaults but with livelier embeddings and biases."""
    if "embeddings" in name:
        out = rng.normal(0.0, 0.5, shape)
    elif "recurrent_kernel" in name:
        # Keras's GRU default: orthogonal per gate block (z, r, h).
        units = shape[0]
        out = np.concatenate([_orthogonal(rng, units, units) for _ in range(shape[1] // units)], axis=1)
    elif "kernel" in name:
        limit = np.sqrt(6.0 / (shape[0] + shape[-1]))
        out = rng.uniform(-limit, limit, shape)
    elif "bias" in name:
        out = rng.normal(0.0, 0.1, shape)
    else:
        raise ValueError(f"no synthetic rule for weight {name} {shape}")
    return (np.round(out / DRAW_GRID) * DRAW_GRID).astype(np.float32)


def draw_model_weights(seed: int, spec: ModelSpec) -> list[np.ndarray]:
    """`spec`'s drawn (uncalibrated) weights in VNLP's `model.get_weights()` order, embedding included.

    The shapes are read from VNLP's own architecture; the output layer's kernel and bias come last."""
    model = build_keras_model(spec)
    head = model.layers[-1]
    if model.weights[-2] is not head.kernel or model.weights[-1] is not head.bias:
        raise ValueError(f"{spec.name}: the output layer's weights are not the last two")
    rng = _rng(seed, spec.weights_file)
    arrays = []
    for slot in weight_slots(model):
        if spec.embedding is not None and slot.index == spec.embedding.index:
            # Its own stream: models sharing a .matrix file draw the same one.
            arrays.append(draw_array(_rng(seed, spec.embedding.file), "embeddings", slot.shape))
        else:
            arrays.append(draw_array(rng, slot.name, slot.shape))
    return arrays


def draws_sha256(arrays: Sequence[np.ndarray]) -> str:
    """One digest of the drawn arrays (shapes and bytes): what a stored calibration was computed for."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array, "<f4").tobytes())
    return digest.hexdigest()
