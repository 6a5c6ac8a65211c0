"""Resolve `weights=vnlp|synthetic|path` to a directory of VNLP-format files, with provenance."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnlp_batch.config.schema import WeightsConfig
from vnlp_batch.files import sha256_file
from vnlp_batch.models.spec import ModelSpec


@dataclass(frozen=True)
class WeightSet:
    """Where a run's weight files are, and what to record about where they came from."""

    directory: Path
    provenance: dict[str, Any]
    _digests: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic"))

    def files(self, spec: ModelSpec) -> list[str]:
        return [spec.weights_file] + ([spec.embedding.file] if spec.embedding else [])

    def sha256(self, spec: ModelSpec) -> dict[str, str]:
        """Digest of each file `spec` loads (cached: the embedding matrices are tens of MB)."""
        out = {}
        for name in self.files(spec):
            if name not in self._digests:
                self._digests[name] = sha256_file(self.directory / name)
            out[name] = self._digests[name]
        return out

    def fingerprint(self, spec: ModelSpec) -> str:
        """One digest over every file of `spec`: the weights part of the export cache key."""
        joined = "".join(f"{name}={digest};" for name, digest in sorted(self.sha256(spec).items()))
        return hashlib.sha256(joined.encode()).hexdigest()


def resolve_weights(
    config: WeightsConfig, cache_dir: Path, specs: Iterable[ModelSpec], corpus: Sequence[str]
) -> WeightSet:
    """Make sure every file `specs` need is on disk and return where."""
    specs = list(specs)
    if config.source == "synthetic":
        from vnlp_batch.weights.draws import GENERATOR_VERSION
        from vnlp_batch.weights.synthetic import ensure_synthetic_weights

        directory = ensure_synthetic_weights(cache_dir, config.seed, specs, corpus)
        provenance = {
            "source": "synthetic",
            "seed": config.seed,
            "generator": GENERATOR_VERSION,
            "synthetic": True,
        }
    elif config.source == "path":
        directory = Path(config.dir or "").resolve()
        missing = [
            n for s in specs for n in WeightSet(directory, {}).files(s) if not (directory / n).is_file()
        ]
        if missing:
            raise FileNotFoundError(f"weights.dir={directory} lacks {', '.join(sorted(set(missing)))}")
        provenance = {
            "source": "path",
            "dir": str(directory),
            "synthetic": (directory / "calibration.json").exists(),
        }
    else:
        from vnlp_batch.weights.download import fetch_many

        directory = Path(cache_dir) / "weights" / "vnlp"
        names = sorted({n for s in specs for n in WeightSet(directory, {}).files(s)})
        fetch_many(config.base_url, names, directory, sha256=dict(config.sha256) or None)
        provenance = {"source": "vnlp", "base_url": config.base_url, "synthetic": False}
    return WeightSet(directory, provenance)
