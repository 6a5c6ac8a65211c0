"""The inference stage: every input file → annotated output files, resumable, nothing lost.

Per file: check the text column, stream chunks through the tf.data loader and the annotator (rows, or
their sentences with `data.unit=document`), put each chunk's rows back together in input order
(inference/rows.py), write them with the input columns through atomic writers (one per
`output.format`), and record the file in the resume manifest. A bad file is reported by name; with
`on_bad_file=skip` the run goes on and exits non-zero at the end. SIGTERM or SIGINT stops the run at
the next batch boundary: the files being written are dropped (not marked done), finished files stay
done.
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
from vnlp_batch.corpus.errors import BadFileError
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.corpus.outputs import ConlluWriter, JsonlWriter
from vnlp_batch.corpus.schema import output_schema
from vnlp_batch.corpus.writer import (
    AnnotatedFileWriter,
    check_writable,
    inputs_root_for,
    output_paths_for,
    remove_stale_temporaries,
)
from vnlp_batch.inference.annotate import STATUS_DP_CHUNKED, STATUS_OK, Annotator, BatchResult
from vnlp_batch.inference.loader import ChunkStore, DecoderBatch
from vnlp_batch.inference.metrics import RunMetrics
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.inference.opener import FileOpener, next_batch
from vnlp_batch.inference.progress import RunProgress
from vnlp_batch.inference.rows import UnitResult, assemble_rows, status_key
from vnlp_batch.models.planning import Plan
from vnlp_batch.preflight import check_input_file, inputs_for, output_dir_for, refuse_other_configurations
from vnlp_batch.resume import made_with, resume_key
from vnlp_batch.stopping import StopOnSignal, Stopped

__all__ = ["InferenceReport", "run_inference"]

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
    targets = {f: output_paths_for(f, root, output_dir, cfg.output.format) for f in inputs}
    checked = _check_inputs(cfg, inputs, plan, report)
    configuration = made_with(asdict(cfg), {t: getattr(plan, t) for t in plan.tasks})
    if not cfg.data.overwrite:
        refuse_other_configurations(manifest, [p for paths in targets.values() for p in paths], configuration)
    if not cfg.resume:
        manifest.forget_all()
    run_hash = _resume_key(cfg, models)
    todo = [
        f
        for f, (fingerprint, _) in checked.items()
        if not manifest.is_done(f, fingerprint, run_hash, targets[f][0], targets[f][1:])
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
    # Only Parquet footers give a file's rows before it is read: for other inputs, no total (no ETA).
    row_counts = [fingerprint.get("rows") for fingerprint, _ in checked.values()]
    total = None if None in row_counts else sum(row_counts)
    hint = _DocumentHint(cfg)
    with _log_stop(report, total), RunProgress(total) as progress:
        for file, (fingerprint, schema) in checked.items():
            stop.check()
            if file not in following:
                log.info(
                    "%s: already annotated with this configuration, skipping (resume=false redoes it)", file
                )
                rows = int(manifest.entry_of(file).get("rows", 0))
                report.skipped.append(file)
                report.rows_done += rows
                progress.skip(rows)
                continue
            if following[file] is not None:
                opener.ahead(following[file])  # read while this one decodes
            progress.set_file(file.name)
            try:
                with metrics.stage("read+tokenize"):
                    store, batches = opener.take(file)
                hint.check(file, store)
                rows, counts = _annotate_file(
                    cfg,
                    file,
                    schema,
                    targets[file],
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
            primary, *others = targets[file]
            manifest.mark_done(file, fingerprint, run_hash, primary, rows, counts, configuration, others)
            report.written += targets[file]
            report.rows_done += rows
            for status, count in counts.items():
                report.status_counts[status] = report.status_counts.get(status, 0) + count
    metrics.stop()
    report.metrics = metrics.to_dict()
    report.summary = metrics.summary_table()
    metrics.write(Path(cfg.run_dir) / "metrics.json")
    return report


class _DocumentHint:
    """With `data.unit=sentence`, say once per run when the rows look like documents: VNLP's splitter
    cuts at least DOCUMENT_SHARE of the first chunk's rows (and at least DOCUMENT_ROWS) into several
    sentences, which the models would then read as one."""

    DOCUMENT_SHARE = 0.2
    DOCUMENT_ROWS = 3

    def __init__(self, cfg: AppConfig) -> None:
        self.pending = cfg.data.unit == "sentence"

    def check(self, file: Path, store: ChunkStore) -> None:
        several, rows = store.several_sentences, store.first_rows
        if not self.pending or several is None or not rows:
            return
        if several >= self.DOCUMENT_ROWS and several >= self.DOCUMENT_SHARE * rows:
            log.warning(
                "%s: %d of the first %d rows hold several sentences; with data.unit=sentence each row is "
                "annotated as one sentence. data.unit=document splits rows into sentences first "
                "(README, Documents)",
                file,
                several,
                rows,
            )
            self.pending = False


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
    cfg, file, schema, targets, store, batches, annotator, plan, models, provenance, metrics, progress, stop
) -> tuple[int, dict[str, int]]:
    """Annotate `file` into `targets` (one per output.format); its rows and their status counts."""
    out_schema = output_schema(schema, plan.tasks, charner=plan.own_tokens, spans=True)
    file_metadata = {
        "vnlp_batch.version": _version(),
        "vnlp_batch.models": json.dumps({t: getattr(plan, t) for t in plan.tasks}),
        "vnlp_batch.onnx_sha256": json.dumps({n: m.sha256 for n, m in models.items()}),
        "vnlp_batch.weights": json.dumps(provenance),
        "vnlp_batch.synthetic_weights": json.dumps(bool(provenance.get("synthetic"))),
        "vnlp_batch.config": json.dumps(asdict(cfg), default=str),
        "vnlp_batch.source_file": str(file),
    }
    split = cfg.data.unit == "document"
    pending: dict[int, dict[int, list[UnitResult]]] = {}
    done_units: dict[int, int] = {}
    counts: dict[str, int] = {}
    rows = 0
    with contextlib.ExitStack() as writers_stack:
        writers = [
            writers_stack.enter_context(_writer(cfg, file, target, fmt, out_schema, file_metadata))
            for fmt, target in zip(cfg.output.format, targets, strict=True)
        ]
        while True:
            stop.check()  # between batches: leaving drops the temporaries, nothing else is half-done
            with metrics.stage("read+tokenize"):
                batch = next_batch(batches, file)
            if batch is None:
                break
            chunk_units = pending.setdefault(batch.chunk, {})
            for position, unit in _annotate_batch(batch, annotator, metrics):
                chunk_units.setdefault(position, []).append(unit)
            done_units[batch.chunk] = done_units.get(batch.chunk, 0) + len(batch.positions)
            tokens = sum(len(t) for t in batch.tokens)
            metrics.add(0, tokens)
            progress.advance(0, tokens)
            if done_units[batch.chunk] < store.units(batch.chunk):
                continue
            chunk = store.pop(batch.chunk)
            units = pending.pop(batch.chunk)
            del done_units[batch.chunk]
            row_values = None
            if split:
                row_values = _whole_rows(annotator, chunk.texts, units, cfg.batch_size, metrics)
            record_batch, statuses = assemble_rows(
                chunk.record_batch, units, out_schema, chunk.texts, plan.own_tokens, row_values
            )
            with metrics.stage("write"):
                for writer in writers:
                    writer.write(record_batch)
            for status in statuses:
                counts[status_key(status)] = counts.get(status_key(status), 0) + 1
            metrics.count("sentences", sum(len(u) for u in units.values()))
            rows += chunk.rows
            metrics.add(chunk.rows, 0)
            progress.advance(chunk.rows, 0)
        if pending:
            raise RuntimeError(f"{file}: chunks {sorted(pending)} were not completed")
        # Parquet last: a Parquet output says, by its metadata, how its input was annotated; the other
        # formats cannot, so an unrecorded one is only ever left by a run killed after this loop.
        for writer in sorted(writers, key=lambda w: isinstance(w, AnnotatedFileWriter)):
            writer.commit()
            if isinstance(writer, ConlluWriter):
                metrics.count("out_of_range_heads", writer.out_of_range_heads)
    log.info("%s → %s (%s)", file, targets[0], ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return rows, counts


def _writer(cfg: AppConfig, file: Path, target: Path, fmt: str, schema: pa.Schema, metadata: dict[str, str]):
    if fmt == "parquet":
        return AnnotatedFileWriter(target, schema, metadata)
    if fmt == "conllu":
        return ConlluWriter(
            target,
            source_name=file.name,
            text_column=cfg.data.text_column,
            id_column=cfg.data.id_column,
            rows_are_documents=cfg.data.unit == "document",
        )
    return JsonlWriter(target)


def _annotate_batch(
    batch: DecoderBatch, annotator: Annotator, metrics: RunMetrics
) -> list[tuple[int, UnitResult]]:
    """Each unit of `batch`, decoded, with its row position."""
    live = [i for i, s in enumerate(batch.status) if s is None]
    units: list[tuple[int, UnitResult]] = []
    if live:  # a batch of only empty or too-long units has nothing to decode (0-row graph runs abort)
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
            unit = UnitResult(
                int(batch.sentences[i]),
                _status(result, j),
                batch.tokens[i],
                batch.starts[i],
                batch.ends[i],
                {k: v[j] for k, v in result.columns.items()},
            )
            units.append((int(batch.positions[i]), unit))
    for i, status in enumerate(batch.status):
        if status is not None:
            units.append((int(batch.positions[i]), UnitResult(int(batch.sentences[i]), status)))
    return units


def _whole_rows(
    annotator: Annotator,
    texts: list[str | None],
    units: dict[int, list[UnitResult]],
    batch_size: int,
    metrics: RunMetrics,
) -> dict[int, dict[str, object]]:
    """The row-level values (sentiment) of the chunk's rows that hold a decoded sentence, from each
    row's whole text, as `data.unit=sentence` gives them."""
    rows = [p for p, row in units.items() if any(u.tokens for u in row)]
    values: dict[int, dict[str, object]] = {}
    for start in range(0, len(rows), batch_size):
        chosen = rows[start : start + batch_size]
        with metrics.stage("decode"):
            result = annotator.annotate_whole_texts([texts[p] or "" for p in chosen])
        for j, position in enumerate(chosen):
            values[position] = {k: v[j] for k, v in result.columns.items()}
    return values


def _status(result: BatchResult, j: int) -> str:
    if result.errors[j]:
        return result.errors[j]
    return STATUS_DP_CHUNKED if result.dp_chunked[j] else STATUS_OK


def _version() -> str:
    from vnlp_batch import __version__

    return __version__
