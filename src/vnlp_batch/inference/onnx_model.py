"""An exported graph with its metadata: what the decoders call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.config.schema import RuntimeConfig
from vnlp_batch.export.metadata import OnnxMetadata, read_metadata
from vnlp_batch.files import sha256_file
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.runtime import lanes

log = logging.getLogger(__name__)


@dataclass
class OnnxModel:
    spec: ModelSpec
    metadata: OnnxMetadata
    session: Any
    input_names: list[str]
    input_shapes: list[list[int | str | None]]
    max_rows: int  # rows per session.run; bounds peak memory on huge batches
    sha256: str
    input_dtypes: list[np.dtype]
    lanes: int = 1  # concurrent runs per call (runtime/lanes.py)

    @classmethod
    def load(cls, path: Path, runtime: RuntimeConfig, max_rows: int = 4096) -> OnnxModel:
        from vnlp_batch.runtime.sessions import make_session

        meta = read_metadata(path)  # refuses files without valid metadata
        session = make_session(path, runtime)
        names = [i.name for i in session.get_inputs()]
        dtypes = [
            np.dtype(np.int32 if i.type == "tensor(int32)" else np.float32) for i in session.get_inputs()
        ]
        return cls(
            MODELS[meta.model],
            meta,
            session,
            names,
            [list(i.shape) for i in session.get_inputs()],
            max_rows,
            sha256_file(Path(path)),
            dtypes,
            # A GPU runs one call's kernels in order anyway: splitting would only add launches.
            runtime.lanes if session.get_providers()[0] == "CPUExecutionProvider" else 1,
        )

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def __call__(self, inputs: list[np.ndarray]) -> np.ndarray:
        """The first output for `inputs` (graph input order, any number of rows)."""
        return self.run_all(inputs)[0]

    def run_all(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Every output, running at most max_rows rows per session.run, split over the lanes."""
        # Callers hand over ids as ints or floats; the graph's declared input types decide.
        inputs = [np.ascontiguousarray(x, dtype) for x, dtype in zip(inputs, self.input_dtypes, strict=True)]
        pieces = lanes.row_pieces(len(inputs[0]), self.lanes, self.max_rows)

        def run(piece: slice) -> list[np.ndarray]:
            feed = {n: x[piece] for n, x in zip(self.input_names, inputs, strict=True)}
            return self.session.run(None, feed)

        if len(pieces) == 1:
            return run(pieces[0])
        parts = list(lanes.pool(self.lanes).map(run, pieces)) if self.lanes > 1 else list(map(run, pieces))
        return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


@dataclass
class LoadedModel:
    """A model's graphs for one run: the monolithic graph, and the fast graphs when decoding fast."""

    spec: ModelSpec
    metadata: OnnxMetadata
    graphs: dict[str, OnnxModel]
    decoder: str  # "fast" or "monolithic"
    _fast: Any = field(default=None, init=False, repr=False)

    @classmethod
    def load(cls, paths: dict[str, Path], runtime: RuntimeConfig, max_rows: int = 4096) -> LoadedModel:
        # The whole-model graph materialises every row's 81-word (stemmer: 80 × 15-char) context:
        # ~6 MB a row for the stemmer, so 256 rows a call keeps it to ~1.5 GB.
        monolithic = OnnxModel.load(paths["monolithic"], runtime, min(max_rows, 256))
        spec = monolithic.spec
        roles = spec.component.roles_to_load(list(paths), runtime.decoder)
        graphs = {"monolithic": monolithic}
        graphs.update({role: OnnxModel.load(paths[role], runtime, max_rows) for role in roles[1:]})
        fast = len(roles) > 1
        loaded = cls(spec, monolithic.metadata, graphs, "fast" if fast else "monolithic")
        if runtime.decoder == "fast" and spec.component.fast_decoder is not None and not fast:
            log.warning(
                "%s: no fast graphs given (only %s), decoding with the monolithic graph",
                spec.name,
                paths["monolithic"],
            )
        log.info("%s", loaded.precision())
        return loaded

    def precision(self) -> str:
        """One line saying which decoder runs and in which precision each graph it runs is."""
        running = [r for r in self.graphs if (r == "monolithic") == (self.decoder == "monolithic")]
        by_precision: dict[str, list[str]] = {}
        for role in running:
            quantization = self.graphs[role].metadata.quantization
            by_precision.setdefault("fp32" if quantization == "none" else quantization, []).append(role)
        if list(by_precision) == ["fp32"]:
            return f"{self.spec.name}: {self.decoder} decoder, fp32"
        parts = [f"{precision}: {', '.join(roles)}" for precision, roles in sorted(by_precision.items())]
        return f"{self.spec.name}: {self.decoder} decoder; " + "; ".join(parts)

    def __call__(self, inputs: list[np.ndarray]) -> np.ndarray:
        return self.graphs["monolithic"](inputs)

    @property
    def providers(self) -> list[str]:
        return self.graphs["monolithic"].providers

    @property
    def sha256(self) -> dict[str, str]:
        return {role: g.sha256 for role, g in self.graphs.items()}

    def fast(self) -> Any:
        """The fast decoder over this model's graphs (None when decoding monolithically).

        One per loaded model: it holds the padding-state tables, built on first use."""
        if self.decoder != "fast":
            return None
        if self._fast is None:
            graphs = {r: g for r, g in self.graphs.items() if r != "monolithic"}
            self._fast = self.spec.component.fast_decoder(self.spec, graphs)
        return self._fast
