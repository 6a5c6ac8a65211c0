"""Seeded synthetic weights in VNLP's exact file layout, the same bytes on every machine.

VNLP's trained weights cannot be fetched here, so tests and `make run` use weights drawn from a
seeded generator and written exactly as VNLP ships its own (`weights/vnlp_format.py`), then
calibrated so that their labels are diverse (`weights/calibration.py`).

Every machine writes the same bytes, so every machine tests the same numbers: values come from
numpy's seeded generators (one stream per file), are rounded to multiples of DRAW_GRID — which
absorbs the last-bit differences of LAPACK's QR behind the orthogonal recurrent kernels — and the
calibration is exact grid values applied by elementwise float32 products. The files' sha256 are
pinned by tests/weights/test_synthetic.py.

The labels these weights produce mean nothing linguistically; every output made with them says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.files import atomic_write_text, file_lock
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.weights import calibration
from vnlp_batch.weights.vnlp_format import write_matrix_file, write_weights_file

log = logging.getLogger(__name__)

GENERATOR_VERSION = 4  # bump when the drawn values or the calibration change
DRAW_GRID = 2.0**-16  # drawn values are multiples of this (exact in float32 below 256)


def synthetic_dir(cache_dir: Path, seed: int) -> Path:
    return Path(cache_dir) / "weights" / f"synthetic-seed{seed}"


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
    from vnlp_batch.models.keras_build import build_keras_model, weight_slots

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


def ensure_synthetic_weights(
    cache_dir: Path, seed: int, specs: Iterable[ModelSpec], corpus: Sequence[str]
) -> Path:
    """Make sure `synthetic-seed<seed>/` holds VNLP-format files for `specs`; return the directory."""
    directory = synthetic_dir(cache_dir, seed)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(directory, seed)
    for spec in specs:
        files = [spec.weights_file] + ([spec.embedding.file] if spec.embedding else [])
        if spec.name in manifest["models"] and all((directory / f).exists() for f in files):
            continue
        arrays = draw_model_weights(seed, spec)
        calibrated = calibration.stored(seed, spec.name, draws_sha256(arrays))
        if calibrated is None:
            log.info("calibrating synthetic weights for %s (seed %d) on the sample corpus", spec.name, seed)
            calibrated = calibration.calibrate(spec, arrays, corpus)
        arrays = calibrated.apply(arrays)
        if spec.embedding is not None:
            write_matrix_file(directory / spec.embedding.file, arrays.pop(spec.embedding.index))
        write_weights_file(directory / spec.weights_file, arrays)
        manifest = _record(directory, seed, spec.name, [asdict(s) for s in calibrated.stats])
    return directory


def _read_manifest(directory: Path, seed: int) -> dict[str, Any]:
    path = directory / "calibration.json"
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if manifest.get("generator_version") != GENERATOR_VERSION:
        manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "synthetic": True, "models": {}}
    return manifest


def _record(directory: Path, seed: int, model: str, stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Add `model` to calibration.json and return the manifest.

    Re-read under a lock: another process may be generating other models into the same directory
    (the test session builds its cache in parallel workers), and a manifest read before it wrote would
    drop its entries.
    """
    with file_lock(directory / ".calibration.json.lock"):
        manifest = _read_manifest(directory, seed)
        manifest["models"][model] = stats
        atomic_write_text(directory / "calibration.json", json.dumps(manifest, indent=2))
    return manifest
