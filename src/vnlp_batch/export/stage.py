"""The export stage: for each model, build → load weights → convert → metadata → verify → cache.

A model's graphs are written into a temporary directory and renamed into the export cache only
after verification passed, so the cache never holds an unverified file under its final name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.config.schema import ExportConfig, RuntimeConfig
from vnlp_batch.export import cache
from vnlp_batch.export.metadata import SCHEMA_VERSION, OnnxMetadata, read_metadata, write_metadata
from vnlp_batch.export.verify import Parity, compare, run_session, verification_batch
from vnlp_batch.files import sha256_file
from vnlp_batch.models.labels import group_labels
from vnlp_batch.models.resources import vnlp_resource
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.runtime.sessions import make_session
from vnlp_batch.vnlp_env import VNLP_VERSION
from vnlp_batch.weights.sources import WeightSet

log = logging.getLogger(__name__)

# The verification batch's inputs, kept beside an fp32 export: a quantized export is compared with
# fp32 on the same rows without building the Keras model again.
VERIFICATION_INPUTS = "verification_inputs.npz"
Compute = Callable[[Sequence[np.ndarray]], np.ndarray]  # VNLP's monolithic input rows -> probabilities


class ExportVerificationError(RuntimeError):
    """An exported graph disagrees with VNLP's Keras model beyond the tolerance."""


@dataclass
class GraphReport:
    model: str
    role: str
    path: str
    size_bytes: int
    seconds: float
    cached: bool
    quantization: str  # this graph's own, as in its metadata ("none": fp32)
    parity: dict[str, Any] | None = None  # Parity fields vs Keras (vs fp32 in a quantized export)
    quantized_ops: dict[str, int] | None = None  # in a quantized export ({}: nothing to quantize)
    untouched_ops: dict[str, int] | None = None
    size_fp32_bytes: int | None = None
    latency_ms: dict[str, float] | None = None  # median per verification batch: fp32, int8
    verified_as: str = "alone"  # "fast path": checked composed with the model's other fast graphs
    export: str = "none"  # export.quantize of the export this graph belongs to


@dataclass
class QuantizedPath:
    """A decoding path of a quantized export against the same path in fp32, on the verification batch."""

    model: str
    path: str  # "monolithic", or "fast": the fast graphs composed
    quantized_graphs: list[str]
    fp32_graphs: list[str]  # graphs with no op onnxruntime quantizes, kept as exported
    quantized_ops: dict[str, int]
    untouched_ops: dict[str, int]  # heavy ops still fp32 (onnxruntime has no int8 GRU)
    size_fp32_bytes: int
    size_bytes: int
    rows: int
    label_agreement: float
    max_abs_diff: float
    latency_fp32_ms: float
    latency_ms: float

    @classmethod
    def of(cls, reports: list[GraphReport]) -> QuantizedPath:
        """Summary of the reports of one path's graphs (they share its parity and latency)."""
        first = reports[0]
        parity, latency = first.parity or {}, first.latency_ms or {}
        return cls(
            model=first.model,
            path="monolithic" if first.role == "monolithic" else "fast",
            quantized_graphs=[r.role for r in reports if r.quantized_ops],
            fp32_graphs=[r.role for r in reports if not r.quantized_ops],
            quantized_ops=dict(sum((Counter(r.quantized_ops) for r in reports), Counter())),
            untouched_ops=dict(sum((Counter(r.untouched_ops) for r in reports), Counter())),
            size_fp32_bytes=sum(r.size_fp32_bytes or 0 for r in reports),
            size_bytes=sum(r.size_bytes for r in reports),
            rows=parity.get("rows", 0),
            label_agreement=parity.get("label_agreement", float("nan")),
            max_abs_diff=parity.get("max_abs_diff", float("nan")),
            latency_fp32_ms=latency.get("fp32", float("nan")),
            latency_ms=latency.get("int8", float("nan")),
        )


@dataclass
class ExportedModel:
    spec: ModelSpec
    metadata: OnnxMetadata
    graphs: dict[str, Path]  # role -> ONNX file


@dataclass
class ExportResult:
    models: dict[str, ExportedModel]
    graphs: list[GraphReport] = field(default_factory=list)

    def quantized_paths(self) -> list[QuantizedPath]:
        """Per model of a quantized export: its monolithic graph, and its fast graphs composed."""
        paths: dict[tuple[str, bool], list[GraphReport]] = {}
        for g in self.graphs:
            if g.export != "none":
                paths.setdefault((g.model, g.role == "monolithic"), []).append(g)
        return [QuantizedPath.of(reports) for reports in paths.values()]

    def to_json(self) -> str:
        return json.dumps(
            {
                "graphs": [asdict(g) for g in self.graphs],
                "quantized": [asdict(p) for p in self.quantized_paths()],
            },
            indent=2,
        )


def build_metadata(
    spec: ModelSpec, weights: WeightSet, export: ExportConfig, quantization: str
) -> OnnxMetadata:
    from vnlp_batch.models.keras_build import hyperparameters

    labels = group_labels(spec)
    return OnnxMetadata(
        schema_version=SCHEMA_VERSION,
        task=spec.task,
        model=spec.name,
        vnlp_class=spec.vnlp_class,
        vnlp_version=VNLP_VERSION,
        role="monolithic",
        decoding=spec.decoding,
        inputs=list(spec.inputs),
        output_activation=spec.output_activation,
        output_groups=[
            {
                "name": g.name,
                "start": g.start,
                "stop": g.stop,
                "reserved_zero": g.reserved_zero,
                "labels": labels[g.name],
            }
            for g in spec.output_groups
        ],
        hyperparameters={
            k: v if isinstance(v, (int, float, str)) else str(v) for k, v in hyperparameters(spec).items()
        },
        resources_sha256={r: sha256_file(vnlp_resource(r)) for r in spec.resources},
        weights_sha256=weights.sha256(spec),
        weights_provenance=weights.provenance,
        opset=export.opset,
        quantization=quantization,
        tool_versions=cache.tool_versions(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def export_models(
    specs: Iterable[ModelSpec],
    weights: WeightSet,
    export: ExportConfig,
    runtime: RuntimeConfig,
    cache_dir: Path,
    texts: Sequence[str],
) -> ExportResult:
    """Export (or reuse from the cache) every model in `specs`; raise if any graph fails verification.

    With `export.quantize` the fp32 export is made (or reused) first and then quantized graph by graph;
    the model's graphs are then the quantized ones, compared with fp32 in the report."""
    result = ExportResult(models={})
    for spec in specs:
        exported, reports = _export(spec, weights, export, runtime, cache_dir, texts, fp32=None)
        result.graphs.extend(reports)
        if export.quantize != "none":
            exported, reports = _export(spec, weights, export, runtime, cache_dir, texts, fp32=exported)
            result.graphs.extend(reports)
        result.models[spec.name] = exported
    return result


def _cached(directory: Path, spec: ModelSpec) -> ExportedModel | None:
    record = directory / "export.json"
    if not record.exists():
        return None
    graphs = {role: directory / name for role, name in json.loads(record.read_text())["graphs"].items()}
    try:
        metas = [read_metadata(path) for path in graphs.values()]
    except Exception as exc:  # a damaged cache entry is redone, not trusted
        log.warning("ignoring damaged export cache entry %s: %s", directory, exc)
        return None
    return ExportedModel(spec, metas[0], graphs)


def _export(
    spec: ModelSpec,
    weights: WeightSet,
    export: ExportConfig,
    runtime: RuntimeConfig,
    cache_dir: Path,
    texts: Sequence[str],
    fp32: ExportedModel | None,
) -> tuple[ExportedModel, list[GraphReport]]:
    """One model's graphs from the cache, or made, verified and moved into it.

    `fp32` None: converted from VNLP's Keras model and held to the fp32 bar against it. Otherwise
    `fp32`'s graphs quantized one by one (export.quantize) and compared with them: reported, never
    held to the fp32 bar."""
    quantization = "none" if fp32 is None else export.quantize
    key = cache.cache_key(spec.name, weights.fingerprint(spec), export.opset, quantization)
    directory = cache.export_dir(cache_dir, spec.name, key)
    hit = _cached(directory, spec)
    if hit is not None:
        kind = "" if fp32 is None else f"{quantization} "
        log.info("%s: reusing cached %sexport %s", spec.name, kind, directory)
        saved = json.loads((directory / "export.json").read_text())["reports"]
        return hit, [GraphReport(**{**r, "cached": True}) for r in saved]

    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=_ensure(directory.parent)))
    try:
        keras_model = None
        if fp32 is None:
            keras_model = _keras_model(spec, weights)
            reports = _convert(
                spec, keras_model, build_metadata(spec, weights, export, "none"), export, staging
            )
        else:
            reports = _quantize(spec, fp32, quantization, staging)
        for report in reports:
            report.path = str(directory / Path(report.path).name)
        graphs = {r.role: staging / Path(r.path).name for r in reports}
        if fp32 is not None:  # always compared: the comparison is what the report says about int8
            inputs = _verification_inputs(spec, fp32, weights, export, texts)
            reference = _paths(spec, fp32.graphs, runtime)
            _verify(spec, reports, _paths(spec, graphs, runtime), inputs, reference)
        elif export.verify:
            batch = verification_batch(spec, keras_model, texts, export.verify_rows)
            np.savez(staging / VERIFICATION_INPUTS, *batch.inputs)
            _verify(spec, reports, _paths(spec, graphs, runtime), batch.inputs, batch.keras_probs)
            for report in reports:
                if report.parity is not None:
                    _require(Parity(**report.parity), export.tolerance, spec.name, report.role)
        record = {
            "graphs": {r.role: Path(r.path).name for r in reports},
            "reports": [asdict(r) for r in reports],
        }
        (staging / "export.json").write_text(json.dumps(record, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    paths = {r.role: Path(r.path) for r in reports}
    return ExportedModel(spec, read_metadata(paths["monolithic"]), paths), reports


def _keras_model(spec: ModelSpec, weights: WeightSet) -> Any:
    from vnlp_batch.models.keras_build import build_keras_model, load_weights

    model = build_keras_model(spec)
    load_weights(spec, model, weights.directory)
    return model


def _convert(
    spec: ModelSpec, keras_model: Any, meta: OnnxMetadata, export: ExportConfig, staging: Path
) -> list[GraphReport]:
    """Write the monolithic graph and the fast graphs (its component's cut) of `keras_model`."""
    from vnlp_batch.export.convert import keras_to_onnx
    from vnlp_batch.models.decompose import Graph

    fast = spec.component.fast_graphs(keras_model)
    graphs = [Graph("monolithic", keras_model, spec.inputs, ("probs",)), *fast]
    reports = []
    for graph in graphs:
        started = time.perf_counter()
        proto = keras_to_onnx(graph.model, graph.inputs, graph.outputs, export.opset)
        write_metadata(proto, dataclasses.replace(meta, role=graph.role, inputs=list(graph.inputs)))
        path = staging / f"{graph.role}.onnx"
        path.write_bytes(proto.SerializeToString())
        seconds = round(time.perf_counter() - started, 2)
        reports.append(
            GraphReport(spec.name, graph.role, str(path), path.stat().st_size, seconds, False, "none")
        )
    return reports


def _quantize(spec: ModelSpec, fp32: ExportedModel, quantization: str, staging: Path) -> list[GraphReport]:
    """Quantize each of `fp32`'s graphs (export/quantize.py). A graph with no op onnxruntime
    quantizes (a `*_tail` graph is one GRU) is kept as it is, and its metadata still says fp32."""
    import onnx

    from vnlp_batch.export.quantize import quantize_int8_dynamic

    reports = []
    for role, source in fp32.graphs.items():
        started = time.perf_counter()
        path = staging / source.name
        info = quantize_int8_dynamic(source, path)
        if info.quantized_ops:
            proto = onnx.load(str(path))
            created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            write_metadata(
                proto, dataclasses.replace(read_metadata(source), quantization=quantization, created=created)
            )
            onnx.save(proto, str(path))
        else:
            shutil.copyfile(source, path)
        reports.append(
            GraphReport(
                spec.name,
                role,
                str(path),
                path.stat().st_size,
                round(time.perf_counter() - started, 2),
                cached=False,
                quantization=quantization if info.quantized_ops else "none",
                export=quantization,
                quantized_ops=info.quantized_ops,
                untouched_ops=info.untouched_ops,
                size_fp32_bytes=info.size_before,
            )
        )
    return reports


def _verification_inputs(
    spec: ModelSpec, fp32: ExportedModel, weights: WeightSet, export: ExportConfig, texts: Sequence[str]
) -> list[np.ndarray]:
    """The fp32 export's verification inputs (built with Keras if it was exported without verifying)."""
    saved = fp32.graphs["monolithic"].parent / VERIFICATION_INPUTS
    if saved.exists():
        with np.load(saved) as arrays:
            return [arrays[f"arr_{k}"] for k in range(len(spec.inputs))]
    return verification_batch(spec, _keras_model(spec, weights), texts, export.verify_rows).inputs


def _paths(spec: ModelSpec, graphs: dict[str, Path], runtime: RuntimeConfig) -> dict[str, Compute]:
    """The model's output from its monolithic graph, and from its fast graphs composed (if it has any)."""
    from vnlp_batch.inference.onnx_model import OnnxModel

    monolithic = make_session(graphs["monolithic"], runtime)
    paths: dict[str, Compute] = {"monolithic": lambda inputs: run_session(monolithic, spec, inputs)}
    if len(graphs) > 1:
        runners = {
            role: OnnxModel.load(path, runtime) for role, path in graphs.items() if role != "monolithic"
        }
        paths["fast"] = spec.component.fast_decoder(spec, runners).probs_from_rows
    return paths


def _verify(
    spec: ModelSpec,
    reports: list[GraphReport],
    paths: dict[str, Compute],
    inputs: list[np.ndarray],
    reference: np.ndarray | dict[str, Compute],
) -> None:
    """Parity of each path with `reference` on `inputs`, into the reports of its graphs: Keras's
    output (fp32), or the same path on the fp32 graphs (quantized: with both latencies)."""
    for name, path in paths.items():
        probs = path(inputs)
        latency = None
        if isinstance(reference, dict):
            expected = reference[name](inputs)
            latency = {"fp32": _median_ms(reference[name], inputs), "int8": _median_ms(path, inputs)}
        else:
            expected = reference
        parity = asdict(compare(spec, expected, probs))
        for report in reports:
            if (report.role == "monolithic") == (name == "monolithic"):
                report.parity, report.latency_ms = parity, latency
                report.verified_as = "alone" if name == "monolithic" else "fast path"


def _median_ms(path: Compute, inputs: Sequence[np.ndarray], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        path(inputs)
        times.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(times)), 2)


def _require(parity: Parity, tolerance: float, model: str, role: str) -> None:
    if not parity.passed(tolerance):
        raise ExportVerificationError(
            f"{model}/{role}: ONNX disagrees with Keras on the verification batch: "
            f"label agreement {parity.label_agreement:.4f}, "
            f"max |Δp| {parity.max_abs_diff:.2e} (bar {tolerance:g})"
        )


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory
