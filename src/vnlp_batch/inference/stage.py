"""The inference stage: every input file → one annotated output file, resumable, nothing lost.

Per file: check the text column, stream chunks through the tf.data loader and the annotator, put each
chunk's rows back in input order, write them with the input columns through an atomic writer, and
record the file in the resume manifest. A bad file is reported by name; with `on_bad_file=skip` the
run goes on and exits non-zero at the end. SIGTERM or SIGINT stops the run at the next batch boundary:
the file being written is dropped (not marked done), finished files stay done.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from vnlp_batch import startup, vnlp_env
from vnlp_batch.config.schema import AppConfig
from vnlp_batch.corpus.discover import discover_inputs
from vnlp_batch.corpus.errors import BadFileError
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.corpus.schema import output_schema
from vnlp_batch.corpus.writer import (
    AnnotatedFileWriter,
    check_writable,
    inputs_root_for,
    output_path_for,
    remove_stale_temporaries,
)
from vnlp_batch.inference.annotate import STATUS_DP_CHUNKED, STATUS_OK, Annotator, BatchResult
from vnlp_batch.inference.loader import DecoderBatch
from vnlp_batch.inference.metrics import RunMetrics
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.inference.opener import FileOpener, next_batch
from vnlp_batch.inference.progress import RunProgress
from vnlp_batch.models.planning import Plan
from vnlp_batch.preflight import check_input_file, output_dir_for, refuse_other_configurations
from vnlp_batch.resume import made_with, resume_key
from vnlp_batch.stopping import StopOnSignal, Stopped

__all__ = ["InferenceReport", "inputs_for", "run_inference"]

log = logging.getLogger(__name__)


@dataclass
class InferenceReport:
    output_dir: Path
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # already done (resume)
    bad_files: dict[str, str] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    rows_done: int = 0  # rows of the input files finished, by this run or an earlier one
    metrics: dict[str, Any] = field(default_factory=dict)
    summary: Any = None  # rich Table of the metrics


def inputs_for(cfg: AppConfig) -> list[Path]:
    """The input files in processing order (never any under the output directory)."""
    return discover_inputs(cfg.data.path, exclude_dir=output_dir_for(cfg))


def run_inference(
    cfg: AppConfig,
    models: dict[str, LoadedModel],
    plan: Plan,
    provenance: dict[str, Any],
    opener: FileOpener | None = None,
) -> InferenceReport:
    """Annotate every input file; `opener` may already be opening the first one (see app._infer).

    Raises `Stopped` after a SIGTERM or SIGINT (when called from the main thread), once the batch in
    progress is done and the file being written is dropped.
    """
    with (
        FileOpener(cfg) if opener is None else contextlib.nullcontext(opener) as opener,
        StopOnSignal() as stop,
    ):
        return _run(cfg, models, plan, provenance, opener, stop)


def _run(
    cfg: AppConfig,
    models: dict[str, LoadedModel],
    plan: Plan,
    provenance: dict[str, Any],
    opener: FileOpener,
    stop: StopOnSignal,
) -> InferenceReport:
    output_dir = output_dir_for(cfg)
    check_writable(output_dir)
    inputs = inputs_for(cfg)
    remove_stale_temporaries(output_dir, max_age_hours=cfg.data.stale_temporary_hours)
    report = InferenceReport(output_dir)
    manifest = Manifest.load(output_dir)
    root = inputs_root_for(inputs)
    checked = _check_inputs(cfg, inputs, plan, report)
    configuration = made_with(asdict(cfg), {t: getattr(plan, t) for t in plan.tasks})
    if not cfg.data.overwrite:
        refuse_other_configurations(
            manifest, [output_path_for(f, root, output_dir) for f in inputs], configuration
        )
    if not cfg.resume:
        manifest.forget_all()
    run_hash = _resume_key(cfg, models)
    todo = [
        f
        for f, (fingerprint, _) in checked.items()
        if not manifest.is_done(f, fingerprint, run_hash, output_path_for(f, root, output_dir))
    ]
    # file → the next file to do (None for the last)
    following: dict[Path, Path | None] = dict(itertools.zip_longest(todo, todo[1:]))
    if todo:
        opener.ahead(todo[0])  # read while the models warm up
    annotator = Annotator(plan, models, heads=cfg.dep.heads)
    startup.lap("stage checks")
    annotator.warm_up()  # part of loading: the throughput clock below measures annotation only
    startup.lap("warm-up")
    metrics = RunMetrics(batch_size=cfg.batch_size)
    metrics.startup = startup.snapshot()
    for name, model in models.items():
        metrics.set_providers(name, model.providers)
    total = sum(fingerprint["rows"] for fingerprint, _ in checked.values())
    with _log_stop(report, total), RunProgress(total) as progress:
        for file, (fingerprint, schema) in checked.items():
            stop.check()
            if file not in following:
                log.info(
                    "%s: already annotated with this configuration, skipping (resume=false redoes it)", file
                )
                report.skipped.append(file)
                report.rows_done += fingerprint["rows"]
                progress.skip(fingerprint["rows"])
                continue
            if following[file] is not None:
                opener.ahead(following[file])  # read while this one decodes
            progress.set_file(file.name)
            target = output_path_for(file, root, output_dir)
            try:
                with metrics.stage("read+tokenize"):
                    store, batches = opener.take(file)
                counts = _annotate_file(
                    cfg,
                    file,
                    schema,
                    target,
                    store,
                    batches,
                    annotator,
                    plan,
                    models,
                    provenance,
                    metrics,
                    progress,
                    stop,
                )
            except BadFileError as exc:
                _bad_file(cfg, report, file, exc)
                continue
            manifest.mark_done(
                file, fingerprint, run_hash, target, fingerprint["rows"], counts, configuration
            )
            report.written.append(target)
            report.rows_done += fingerprint["rows"]
            for status, count in counts.items():
                report.status_counts[status] = report.status_counts.get(status, 0) + count
    metrics.stop()
    report.metrics = metrics.to_dict()
    report.summary = metrics.summary_table()
    metrics.write(Path(cfg.run_dir) / "metrics.json")
    return report


@contextlib.contextmanager
def _log_stop(report: InferenceReport, total_rows: int) -> Iterator[None]:
    """Say how far a stopped run got: the rows of finished files (the file being written is dropped)."""
    try:
        yield
    except Stopped as stopped:
        log.warning(
            "stopped: %s/%s rows, rerun to resume (%s; exit code %d)",
            f"{report.rows_done:,}",
            f"{total_rows:,}",
            signal.Signals(stopped.signum).name,
            stopped.exit_code,
        )
        stopped.reported = True
        raise


def _check_inputs(
    cfg: AppConfig, inputs: list[Path], plan: Plan, report: InferenceReport
) -> dict[Path, tuple[dict[str, int], pa.Schema]]:
    """Each readable input's fingerprint and schema, from the footers, before any file is annotated.

    An unreadable file is a bad file (fatal or skipped per `data.on_bad_file`); a missing or mistyped
    text or id column, or an input column named like an added one, raises `SchemaError` now.
    """
    checked: dict[Path, tuple[dict[str, int], pa.Schema]] = {}
    for file in inputs:
        try:
            checked[file] = check_input_file(cfg, file, plan.tasks, charner=plan.own_tokens)
        except BadFileError as exc:
            _bad_file(cfg, report, file, exc)
    return checked


def _bad_file(cfg: AppConfig, report: InferenceReport, file: Path, exc: Exception) -> None:
    report.bad_files[str(file)] = str(exc)
    if cfg.data.on_bad_file == "fail":
        raise exc
    log.error("%s (skipped: data.on_bad_file=skip)", exc)


def _resume_key(cfg: AppConfig, models: dict[str, LoadedModel]) -> str:
    """The resume key of the loaded sessions (`preflight.expected_resume_key` predicts it)."""
    quantized = any(
        graph.metadata.quantization != "none" for model in models.values() for graph in model.graphs.values()
    )
    return resume_key(
        cfg,
        {name: model.sha256 for name, model in models.items()},
        {name: model.providers[0] for name, model in models.items()},
        quantized,
    )


def _annotate_file(
    cfg, file, schema, target, store, batches, annotator, plan, models, provenance, metrics, progress, stop
) -> dict[str, int]:
    out_schema = output_schema(schema, plan.tasks, charner=plan.own_tokens)
    file_metadata = {
        "vnlp_batch.version": _version(),
        "vnlp_batch.models": json.dumps({t: getattr(plan, t) for t in plan.tasks}),
        "vnlp_batch.onnx_sha256": json.dumps({n: m.sha256 for n, m in models.items()}),
        "vnlp_batch.weights": json.dumps(provenance),
        "vnlp_batch.synthetic_weights": json.dumps(bool(provenance.get("synthetic"))),
        "vnlp_batch.config": json.dumps(asdict(cfg), default=str),
        "vnlp_batch.source_file": str(file),
    }
    pending: dict[int, dict[int, tuple]] = {}
    counts: dict[str, int] = {}
    with AnnotatedFileWriter(target, out_schema, file_metadata) as writer:
        while True:
            stop.check()  # between batches: leaving drops the temporary, nothing else is half-done
            with metrics.stage("read+tokenize"):
                batch = next_batch(batches, file)
            if batch is None:
                break
            rows = _annotate_batch(batch, annotator, metrics)
            chunk_rows = pending.setdefault(batch.chunk, {})
            chunk_rows.update(rows)
            if len(chunk_rows) == store.rows(batch.chunk):
                record_batch = store.pop(batch.chunk).record_batch
                with metrics.stage("write"):
                    writer.write(_output_batch(record_batch, pending.pop(batch.chunk), out_schema, counts))
                metrics.add(record_batch.num_rows, 0)
                progress.advance(record_batch.num_rows, 0)
            metrics.add(0, sum(len(t) for t in batch.tokens))
            progress.advance(0, sum(len(t) for t in batch.tokens))
        if pending:
            raise RuntimeError(f"{file}: chunks {sorted(pending)} were not completed")
        writer.commit()
    log.info("%s → %s (%s)", file, target, ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return counts


def _annotate_batch(batch: DecoderBatch, annotator: Annotator, metrics: RunMetrics) -> dict[int, tuple]:
    live = [i for i, s in enumerate(batch.status) if s is None]
    rows: dict[int, tuple] = {}
    if live:  # a batch of only empty or too-long rows has nothing to decode (0-row graph runs abort)
        first = "first_batch_at_s" not in metrics.startup
        if first:  # start-up ends: the rest of the time before it was the first file's reading
            startup.lap("first file")
            if vnlp_env.import_seconds is not None:
                startup.record("tensorflow import (on another thread)", vnlp_env.import_seconds)
            metrics.startup = {**startup.snapshot(), "first_batch_at_s": round(startup.age(), 3)}
        started = time.perf_counter()
        with metrics.stage("decode"):
            result = annotator.annotate([batch.texts[i] for i in live], [batch.tokens[i] for i in live])
        if first:
            metrics.startup["first batch"] = round(time.perf_counter() - started, 3)
        for j, i in enumerate(live):
            rows[int(batch.positions[i])] = (
                batch.tokens[i],
                _status(result, j),
                {k: v[j] for k, v in result.columns.items()},
            )
    for i, status in enumerate(batch.status):
        if status is not None:
            rows[int(batch.positions[i])] = ([], status, {})
    return rows


def _status(result: BatchResult, j: int) -> str:
    if result.errors[j]:
        return result.errors[j]
    return STATUS_DP_CHUNKED if result.dp_chunked[j] else STATUS_OK


def _output_batch(
    record_batch: pa.RecordBatch, rows: dict[int, tuple], schema: pa.Schema, counts
) -> pa.RecordBatch:
    n = record_batch.num_rows
    ordered = [rows[i] for i in range(n)]
    columns = {name: record_batch.column(name) for name in record_batch.schema.names}
    for field_ in schema:
        if field_.name in columns:
            continue
        if field_.name == "tokens":
            values = [r[0] for r in ordered]
        elif field_.name == "vnlp_status":
            values = [r[1] for r in ordered]
        else:
            values = [r[2].get(field_.name, [] if pa.types.is_list(field_.type) else None) for r in ordered]
            # An empty/skipped row has empty lists, a failed model leaves None (null): both survive.
            values = [
                v if r[1] != "empty" else ([] if pa.types.is_list(field_.type) else None)
                for v, r in zip(values, ordered, strict=True)
            ]
        columns[field_.name] = pa.array(values, type=field_.type)
    for r in ordered:
        key = r[1].split(":", 1)[0] if r[1].startswith("error") else r[1]
        counts[key] = counts.get(key, 0) + 1
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def _version() -> str:
    from vnlp_batch import __version__

    return __version__
