"""Seeded synthetic weights in VNLP's exact file layout, the same bytes on every machine.

VNLP's trained weights cannot be fetched here, so tests and `make run` use weights drawn from a
seeded generator (`weights/draws.py`) and written exactly as VNLP ships its own
(`weights/vnlp_format.py`), then calibrated so that their labels are diverse (`weights/calibration.py`).

Every machine writes the same bytes, so every machine tests the same numbers: the draws are exact
grid values, and the calibration is exact grid values applied by elementwise float32 products. The
files' sha256 are pinned by tests/weights/test_synthetic.py.

The labels these weights produce mean nothing linguistically; every output made with them says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vnlp_batch.files import atomic_write_text, file_lock
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.weights import calibration
from vnlp_batch.weights.draws import GENERATOR_VERSION, draw_model_weights, draws_sha256
from vnlp_batch.weights.vnlp_format import write_matrix_file, write_weights_file

log = logging.getLogger(__name__)


def synthetic_dir(cache_dir: Path, seed: int) -> Path:
    return Path(cache_dir) / "weights" / f"synthetic-seed{seed}"


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
