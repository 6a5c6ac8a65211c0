"""Seeded synthetic weights in VNLP's exact file layout, with output biases calibrated for diverse labels.

VNLP's trained weights cannot be fetched here, and a randomly initialised network predicts one or
two labels almost everywhere, which would let a wrong padding row or history row go unnoticed in
every fidelity test. So after drawing the weights, each model's output bias is calibrated on the
bundled sample corpus: a few passes of subtracting the mean log-probability per class, then a few
passes nudging each class toward an equal share of the argmax, with VNLP's reserved label 0 pushed
down. Autoregressive models are calibrated on their own greedy decodes (VNLP's algorithm, batched),
re-run after each refit because the history input depends on the labels.

The labels these weights produce mean nothing linguistically; every output made with them says so.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.models.spec import ModelSpec, OutputGroup
from vnlp_batch.weights.vnlp_format import write_matrix_file, write_weights_file

log = logging.getLogger(__name__)

GENERATOR_VERSION = 3  # bump when the drawn values or the calibration change
CALIBRATION_TOKENS = 480  # tokens of sample text per calibration decode: enough for 49 DP relations
CALIBRATION_ROUNDS = 3  # greedy decode -> refit cycles for autoregressive models
RESERVED_PENALTY = 4.0
LOGIT_SPREAD = 3.0  # std of each output logit across calibration tokens
SIGMOID_MEAN_LOGIT = (
    -4.0
)  # keeps sigmoid outputs far from saturating at 1.0  # logit pushed off VNLP's padding label 0


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
    return out.astype(np.float32)


@dataclass
class GroupStats:
    """How the calibrated labels of one output group are spread over the calibration tokens."""

    group: str
    classes: int  # labels the group can produce (reserved 0 excluded)
    seen: int  # distinct labels that occurred
    max_share: float  # share of the most frequent label
    reserved_share: float  # share of VNLP's empty label 0


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def fit_group_bias(
    logits: np.ndarray,
    bias: np.ndarray,
    group: OutputGroup,
    valid: np.ndarray | None = None,
    mean_logit: float = 0.0,
) -> np.ndarray:
    """A new bias slice for `group` that spreads argmax over its classes.

    `logits` are pre-activation outputs (N, group width) computed with `bias`; `valid` masks slots
    that cannot be chosen (the stemmer's missing candidates). The result is shifted so the mean
    logit is `mean_logit`: argmax does not care, but a sigmoid output saturates to exactly 1.0 for
    large logits, and ties at 1.0 would all go to the first index.
    """
    z0 = logits - bias
    b = bias.astype(np.float64).copy()
    mask = np.ones_like(z0, bool) if valid is None else valid
    usable = mask.sum(axis=1) > 1  # a row with one choice carries no information
    z0, mask = z0[usable], mask[usable]
    if len(z0) == 0:
        return bias
    width = z0.shape[1]
    first = 1 if group.reserved_zero else 0
    for _ in range(8):
        z = np.where(mask, z0 + b, -np.inf)
        lp = np.where(mask, _log_softmax(z), 0.0)
        b[first:] -= lp[:, first:].sum(axis=0) / np.maximum(mask[:, first:].sum(axis=0), 1)
    for _ in range(60):
        z = np.where(mask, z0 + b, -np.inf)
        if group.reserved_zero:
            z[:, 0] = -np.inf
        counts = np.bincount(z.argmax(axis=1), minlength=width)[first:].astype(np.float64)
        available = mask[:, first:].sum(axis=0)
        target = np.maximum(available / available.sum() * len(z0), 1e-9)
        b[first:] -= 0.3 * np.log((counts + 0.5) / (target + 0.5))
    if group.reserved_zero:
        b[0] = b[first:].min() - RESERVED_PENALTY
    b += mean_logit - (z0 + b)[:, first:].mean()
    return b.astype(np.float32)


def group_stats(spec: ModelSpec, labels: np.ndarray) -> list[GroupStats]:
    """Spread of `labels` (N, groups) per output group."""
    out = []
    for k, group in enumerate(spec.output_groups):
        column = labels[:, k]
        width = group.stop - group.start
        if spec.output_activation == "sigmoid" and width == 1:
            column = column  # sentiment: labels are already 0/1 decisions
            width = 2
        counts = np.bincount(column, minlength=width)
        first = 1 if group.reserved_zero else 0
        out.append(
            GroupStats(
                group=group.name,
                classes=width - first,
                seen=int((counts[first:] > 0).sum()),
                max_share=float(counts.max() / max(len(column), 1)),
                reserved_share=float(counts[0] / max(len(column), 1)) if group.reserved_zero else 0.0,
            )
        )
    return out


def ensure_synthetic_weights(
    cache_dir: Path, seed: int, specs: Iterable[ModelSpec], corpus: Sequence[str]
) -> Path:
    """Make sure `synthetic-seed<seed>/` holds VNLP-format files for `specs`; return the directory."""
    directory = synthetic_dir(cache_dir, seed)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(directory, seed)
    for spec in specs:
        done = spec.name in manifest["models"] and (directory / spec.weights_file).exists()
        if spec.embedding is not None and not (directory / spec.embedding.file).exists():
            done = False
        if done:
            continue
        log.info(
            "drawing synthetic weights for %s (seed %d) and calibrating on the sample corpus", spec.name, seed
        )
        stats = _make_model_weights(directory, seed, spec, corpus)
        manifest = _record(directory, seed, spec.name, [asdict(s) for s in stats])
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
    with _locked(directory):
        manifest = _read_manifest(directory, seed)
        manifest["models"][model] = stats
        tmp = directory / "calibration.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        tmp.replace(directory / "calibration.json")
    return manifest


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive flock on `directory` itself (no lock file among VNLP's files); none where the
    platform has no flock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _make_model_weights(
    directory: Path, seed: int, spec: ModelSpec, corpus: Sequence[str]
) -> list[GroupStats]:
    from vnlp_batch.models.keras_build import build_keras_model, weight_slots

    model = build_keras_model(spec)
    slots = weight_slots(model)
    rng = _rng(seed, spec.weights_file)
    arrays = []
    for slot in slots:
        if spec.embedding is not None and slot.index == spec.embedding.index:
            matrix_path = directory / spec.embedding.file
            if not matrix_path.exists():
                write_matrix_file(
                    matrix_path, draw_array(_rng(seed, spec.embedding.file), "embeddings", slot.shape)
                )
            from vnlp_batch.weights.vnlp_format import read_matrix_file

            arrays.append(read_matrix_file(matrix_path).astype(np.float32))
        else:
            arrays.append(draw_array(rng, slot.name, slot.shape))
    model.set_weights(arrays)

    from vnlp_batch.weights.calibration import calibrate

    stats = calibrate(spec, model, corpus)  # rescales the output kernel and refits its bias in place
    arrays = [np.asarray(a, np.float32) for a in model.get_weights()]
    pickled = [a for i, a in enumerate(arrays) if spec.embedding is None or i != spec.embedding.index]
    write_weights_file(directory / spec.weights_file, pickled)
    return stats
