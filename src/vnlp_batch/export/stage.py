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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vnlp_batch.config.schema import ExportConfig, RuntimeConfig
from vnlp_batch.export import cache
from vnlp_batch.export.metadata import SCHEMA_VERSION, OnnxMetadata, read_metadata, write_metadata
from vnlp_batch.export.verify import Parity, compare, run_session, verification_batch
from vnlp_batch.models.labels import group_labels, vnlp_package_dir
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.runtime.sessions import make_session
from vnlp_batch.vnlp_env import VNLP_VERSION
from vnlp_batch.weights.sources import WeightSet
from vnlp_batch.weights.vnlp_format import sha256_file

log = logging.getLogger(__name__)


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
    quantization: str
    parity: dict[str, Any] | None = None  # Parity fields vs Keras (vs fp32 for quantized graphs)
    quantized_ops: dict[str, int] | None = None
    untouched_ops: dict[str, int] | None = None
    size_fp32_bytes: int | None = None
    latency_ms: dict[str, float] | None = None  # median per verification batch: fp32, int8
    verified_as: str = "alone"  # "fast path": checked composed with the model's other fast graphs


@dataclass
class ExportedModel:
    spec: ModelSpec
    metadata: OnnxMetadata
    graphs: dict[str, Path]  # role -> ONNX file


@dataclass
class ExportResult:
    models: dict[str, ExportedModel]
    graphs: list[GraphReport] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps([asdict(g) for g in self.graphs], indent=2)


def build_metadata(
    spec: ModelSpec, weights: WeightSet, export: ExportConfig, quantization: str
) -> OnnxMetadata:
    from vnlp_batch.models.keras_build import hyperparameters

    labels = group_labels(spec)
    package = vnlp_package_dir()
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
        resources_sha256={r: sha256_file(package / r) for r in spec.resources},
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
    """Export (or reuse from the cache) every model in `specs`; raise if any graph fails verification."""
    result = ExportResult(models={})
    for spec in specs:
        fp32, reports = _export_fp32(spec, weights, export, runtime, cache_dir, texts)
        result.graphs.extend(reports)
        if export.quantize == "int8_dynamic":
            fp32, report = _export_int8(spec, fp32, weights, export, runtime, cache_dir, texts)
            result.graphs.append(report)
        result.models[spec.name] = fp32
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


def _export_fp32(spec, weights, export, runtime, cache_dir, texts) -> tuple[ExportedModel, list[GraphReport]]:
    key = cache.cache_key(spec.name, weights.fingerprint(spec), export.opset, "none")
    directory = cache.export_dir(cache_dir, spec.name, key)
    hit = _cached(directory, spec)
    if hit is not None:
        log.info("%s: reusing cached export %s", spec.name, directory)
        saved = json.loads((directory / "export.json").read_text())["reports"]
        return hit, [GraphReport(**{**r, "cached": True}) for r in saved]

    from vnlp_batch.export.convert import keras_to_onnx
    from vnlp_batch.models.decompose import Graph, fast_graphs
    from vnlp_batch.models.keras_build import build_keras_model, load_weights

    model = build_keras_model(spec)
    load_weights(spec, model, weights.directory)
    graphs = [Graph("monolithic", model, spec.inputs, ("probs",)), *fast_graphs(spec, model)]
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=_ensure(directory.parent)))
    reports: list[GraphReport] = []
    meta = build_metadata(spec, weights, export, "none")
    try:
        for graph in graphs:
            started = time.perf_counter()
            proto = keras_to_onnx(graph.model, graph.inputs, graph.outputs, export.opset)
            write_metadata(proto, dataclasses.replace(meta, role=graph.role, inputs=list(graph.inputs)))
            path = staging / f"{graph.role}.onnx"
            path.write_bytes(proto.SerializeToString())
            reports.append(
                GraphReport(
                    spec.name,
                    graph.role,
                    str(directory / path.name),
                    path.stat().st_size,
                    round(time.perf_counter() - started, 2),
                    cached=False,
                    quantization="none",
                )
            )
        if export.verify:
            batch = verification_batch(spec, model, texts, export.verify_rows)
            monolithic = run_session(make_session(staging / "monolithic.onnx", runtime), spec, batch.inputs)
            reports[0].parity = asdict(compare(spec, batch.keras_probs, monolithic))
            if len(graphs) > 1:
                # The fast graphs are verified together: re-assembled, they must give Keras's output.
                from vnlp_batch.inference.fast import FAST
                from vnlp_batch.inference.onnx_model import OnnxModel

                runners = {g.role: OnnxModel.load(staging / f"{g.role}.onnx", runtime) for g in graphs[1:]}
                fast = FAST[spec.family](spec, runners).probs_from_rows(batch.inputs)
                composed = asdict(compare(spec, batch.keras_probs, fast))
                for report in reports[1:]:
                    report.parity, report.verified_as = composed, "fast path"
            for report in reports:
                if report.parity is not None:
                    _require(Parity(**report.parity), export.tolerance, spec.name, report.role)
        record = {
            "graphs": {g.role: f"{g.role}.onnx" for g in graphs},
            "reports": [asdict(r) for r in reports],
        }
        (staging / "export.json").write_text(json.dumps(record, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportedModel(spec, meta, {g.role: directory / f"{g.role}.onnx" for g in graphs}), reports


def _export_int8(spec, fp32: ExportedModel, weights, export, runtime, cache_dir, texts):
    from vnlp_batch.export.quantize import quantize_int8_dynamic

    key = cache.cache_key(spec.name, weights.fingerprint(spec), export.opset, "int8_dynamic")
    directory = cache.export_dir(cache_dir, spec.name, key)
    hit = _cached(directory, spec)
    if hit is not None:
        log.info("%s: reusing cached int8 export %s", spec.name, directory)
        saved = json.loads((directory / "export.json").read_text())["reports"]
        return hit, GraphReport(**{**saved[0], "cached": True})

    import onnx

    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-int8-", dir=_ensure(directory.parent)))
    try:
        started = time.perf_counter()
        path = staging / "monolithic.onnx"
        info = quantize_int8_dynamic(fp32.graphs["monolithic"], path)
        proto = onnx.load(str(path))
        meta = build_metadata(spec, weights, export, "int8_dynamic")
        write_metadata(proto, meta)
        onnx.save(proto, str(path))
        report = GraphReport(
            spec.name,
            "monolithic",
            str(directory / path.name),
            path.stat().st_size,
            round(time.perf_counter() - started, 2),
            cached=False,
            quantization="int8_dynamic",
            quantized_ops=info.quantized_ops,
            untouched_ops=info.untouched_ops,
            size_fp32_bytes=info.size_before,
        )
        from vnlp_batch.models.keras_build import build_keras_model, load_weights

        model = build_keras_model(spec)
        load_weights(spec, model, weights.directory)
        batch = verification_batch(spec, model, texts, export.verify_rows)
        fp32_session = make_session(fp32.graphs["monolithic"], runtime)
        int8_session = make_session(path, runtime)
        fp32_probs = run_session(fp32_session, spec, batch.inputs)
        # Quantized graphs are compared with fp32 and reported, never held to the fp32 bar.
        report.parity = asdict(compare(spec, fp32_probs, run_session(int8_session, spec, batch.inputs)))
        report.latency_ms = {
            "fp32": _median_ms(fp32_session, spec, batch.inputs),
            "int8": _median_ms(int8_session, spec, batch.inputs),
        }
        (staging / "export.json").write_text(
            json.dumps({"graphs": {"monolithic": path.name}, "reports": [asdict(report)]}, indent=2)
        )
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportedModel(spec, meta, {"monolithic": directory / "monolithic.onnx"}), report


def _median_ms(session, spec, inputs, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run_session(session, spec, inputs)
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
