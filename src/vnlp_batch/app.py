"""The run as plain functions over a validated AppConfig; Hydra stays in __main__."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vnlp_batch import startup
from vnlp_batch.config.schema import AppConfig
from vnlp_batch.models.declarations import get_model
from vnlp_batch.models.planning import models_for, plan_for

if TYPE_CHECKING:
    from vnlp_batch.models.spec import ModelSpec
    from vnlp_batch.preflight import Preflight

log = logging.getLogger("vnlp_batch")

SYNTHETIC_WARNING = (
    "weights=synthetic: every label in this run comes from SYNTHETIC seeded weights. They exercise the "
    "pipeline; they are not linguistic results."
)


def run(cfg: AppConfig) -> int:
    """Run the configured stages; return the process exit code: 0, 1 if a bad input file was skipped,
    128 + the signal number if SIGTERM (143) or SIGINT (130) stopped the run.

    An error the user can fix — an input, the output directory, the weights, a given ONNX file — is
    raised before any model loads, with `exit_code` 2 set on it (`REFUSALS`)."""
    from vnlp_batch.stopping import StopOnSignal, Stopped

    try:
        with StopOnSignal(immediate=True):  # the stage defers it to its next batch boundary
            return _run_stages(cfg)
    except Stopped as stopped:
        if not stopped.reported:
            log.warning("%s; rerun to resume (exit code %d)", stopped, stopped.exit_code)
        return stopped.exit_code


def _refusals() -> tuple[type[BaseException], ...]:
    """The errors that mean "fix this and run again": nothing was done (exit code 2)."""
    from vnlp_batch.config.schema import ConfigError
    from vnlp_batch.corpus.errors import InputError, OutputConflictError, OutputError
    from vnlp_batch.export.metadata import MetadataError
    from vnlp_batch.vnlp_env import VnlpMissingError
    from vnlp_batch.weights.download import DownloadError
    from vnlp_batch.weights.vnlp_format import WeightsFileError

    return (
        ConfigError,
        InputError,
        OutputError,
        OutputConflictError,
        MetadataError,
        WeightsFileError,
        DownloadError,
        VnlpMissingError,
        FileNotFoundError,  # weights.dir lacks a file
    )


@contextlib.contextmanager
def _refused_before_work() -> Iterator[None]:
    """Mark the user errors raised in the block with exit code 2 (see `run`)."""
    try:
        yield
    except _refusals() as exc:
        exc.exit_code = 2  # type: ignore[union-attr]
        raise


def _run_stages(cfg: AppConfig) -> int:
    from vnlp_batch import preflight
    from vnlp_batch.corpus.sample import read_sample_sentences

    run_dir = Path(cfg.run_dir)
    cache_dir = Path(cfg.cache_dir).expanduser()
    infer = cfg.stage in ("all", "infer")
    with _refused_before_work():
        given, task, model = _given_onnx(cfg)
        needed = models_for(task, model)
        specs = [s for s in needed if s.name not in given]
        log.info("models: %s", ", ".join(s.name for s in needed))
        checked = None
        if infer:  # every input and the output directory, before the weights, the export and the models
            checked = preflight.check_run(cfg, preflight.planned_models(task, model))
            startup.lap("checks")
            log.info("output directory: %s", checked.output_dir)

        texts = read_sample_sentences()  # verification and calibration always use the bundled sample
        if cfg.weights.source == "synthetic":
            log.warning(SYNTHETIC_WARNING)

        from vnlp_batch.weights.sources import resolve_weights

        weights = resolve_weights(cfg.weights, cache_dir, specs, texts)
        startup.lap("weights")
        if weights.synthetic and cfg.weights.source != "synthetic":
            log.warning(SYNTHETIC_WARNING)

        first: Path | None = None
        importing: threading.Thread | None = None
        if checked is not None:
            key = preflight.expected_resume_key(cfg, specs, weights, given, cache_dir)
            done = preflight.done_files(cfg, checked, key) if key is not None else []
            startup.lap("export check")
            if len(done) == len(checked.checked):
                return _all_done(cfg, checked, weights.provenance)
            first = next(f for f in checked.checked if f not in done)
            if key is not None:  # every export is cached: no conversion will import TensorFlow itself
                importing = _import_stage_in_background(needed)

        from vnlp_batch.export.report import print_report, write_report
        from vnlp_batch.export.stage import export_models

        result = export_models(specs, weights, cfg.export, cfg.runtime, cache_dir, texts)
    if cfg.stage in ("all", "export") and result.graphs:
        print_report(result)
        log.info("export report: %s", write_report(result, run_dir / "export_report.json"))
    startup.lap("export")
    if cfg.stage == "export":
        return 0
    graphs = {name: exported.graphs for name, exported in result.models.items()}
    graphs.update({name: {"monolithic": path} for name, (path, _) in given.items()})
    return _infer(cfg, task, model, graphs, weights.provenance, first, importing)


def _given_onnx(cfg: AppConfig) -> tuple[dict[str, tuple[Path, Any]], str, str]:
    """`model.onnx`, checked: {model: (file, metadata)}, and the run's task and model (the file's)."""
    task, model = cfg.task.name, cfg.model.name
    if not cfg.model.onnx:
        return {}, task, model
    from vnlp_batch.export.metadata import check_against_config, read_metadata

    meta = read_metadata(Path(cfg.model.onnx))
    check_against_config(meta, cfg.model.onnx, task, model)
    log.info(
        "model.onnx=%s: %s model %s (%s weights)",
        cfg.model.onnx,
        meta.task,
        meta.model,
        "synthetic" if meta.synthetic else meta.weights_provenance.get("source"),
    )
    return {meta.model: (Path(cfg.model.onnx), meta)}, meta.task if task != "all" else task, meta.model


def _all_done(cfg: AppConfig, checked: Preflight, provenance: dict) -> int:
    """Every readable input is already annotated with this configuration: say so, write metrics.json,
    load nothing."""
    from vnlp_batch.inference.metrics import RunMetrics

    for file in checked.checked:  # as the stage says it of each file it skips
        log.info("%s: already annotated with this configuration, skipping (resume=false redoes it)", file)
    log.info("%s: every input file is done; no model was loaded", checked.output_dir)
    metrics = RunMetrics(batch_size=cfg.batch_size)
    metrics.startup = {**startup.snapshot(), "all_done_at_s": round(startup.age(), 3)}
    metrics.stop()
    metrics.write(Path(cfg.run_dir) / "metrics.json")
    _summarize(None, {}, [], list(checked.checked), checked.bad_files, provenance)
    return 1 if checked.bad_files else 0


def _infer(
    cfg: AppConfig,
    task: str,
    model: str,
    graphs: dict[str, dict[str, Path]],
    provenance: dict,
    first: Path | None = None,
    importing: threading.Thread | None = None,
) -> int:
    """Load the sessions and run the stage; `first` (the first input file to annotate, by default the
    first input) is read while they load, and so are the stage's modules (`importing`)."""
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.inference.opener import FileOpener
    from vnlp_batch.preflight import inputs_for

    importing = importing or _import_stage_in_background([get_model(name) for name in graphs])
    rows = max(cfg.batch_size * 16, 1024)
    with FileOpener(cfg) as opener:
        if first is None:
            first = inputs_for(cfg)[0]
        opener.ahead(first)  # read while the sessions load (wasted only if a resumed run skips it)
        models = {name: LoadedModel.load(paths, cfg.runtime, max_rows=rows) for name, paths in graphs.items()}
        startup.lap("session load")
        importing.join()
        startup.lap("waiting for imports")
        from vnlp_batch.inference.stage import run_inference

        plan = plan_for(task, model)
        report = run_inference(cfg, models, plan, provenance, opener)
    _summarize(
        report.summary, report.status_counts, report.written, report.skipped, report.bad_files, provenance
    )
    return 1 if report.bad_files else 0


def _import_stage_in_background(specs: Sequence[ModelSpec]) -> threading.Thread:
    """Start importing the inference stage's modules on a thread, then preparing the components of
    `specs` (`Component.prepare`: the stemmer's lexicons), and return it.

    They import VNLP and so TensorFlow: seconds that the export cache's reading and the session
    loading on this thread can overlap. The thread first imports what this thread needs for those,
    in order, so that this thread finds them imported (or waits for them) rather than importing
    them at the same time from another end."""

    def run() -> None:
        import importlib

        with contextlib.suppress(Exception):  # the main thread raises it again, in its place
            for module in MAIN_THREAD_MODULES:
                importlib.import_module(module)
            importlib.import_module("vnlp_batch.inference.stage")
            for spec in specs:
                spec.component.prepare()

    thread = threading.Thread(target=run, name="vnlp-import")
    thread.start()
    return thread


# What the main thread imports between starting the background imports and joining them.
MAIN_THREAD_MODULES = (
    "onnx",
    "onnxruntime",
    "vnlp_batch.export.stage",
    "vnlp_batch.export.report",
    "vnlp_batch.inference.onnx_model",
    "vnlp_batch.inference.fast",
    "vnlp_batch.inference.opener",
)


def _summarize(
    summary: Any,
    status_counts: dict[str, int],
    written: list[Path],
    skipped: list[Path],
    bad_files: dict[str, str],
    provenance: dict,
) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    if summary is not None:
        console.print(summary)
        console.print(f"statuses: {dict(sorted(status_counts.items()))}")
    # File names and error messages are the user's text: a "[" in them is not rich markup.
    for path in written[:LISTED_FILES]:
        console.print(f"wrote {escape(str(path))}")
    if len(written) > LISTED_FILES:
        console.print(f"… and {len(written) - LISTED_FILES:,} more files written")
    for path in skipped[:LISTED_FILES]:
        console.print(f"skipped (already done with this configuration) {escape(str(path))}")
    if len(skipped) > LISTED_FILES:
        console.print(f"… and {len(skipped) - LISTED_FILES:,} more files skipped")
    for path, reason in bad_files.items():
        console.print(f"[red]bad file[/red] {escape(path)}: {escape(reason)}")
    parquet = next((path for path in written if path.suffix == ".parquet"), None)
    if parquet is not None:
        console.print(_preview(parquet))
    if provenance.get("synthetic"):
        log.warning(SYNTHETIC_WARNING)


# Files listed by name at the end of a run (a corpus may have thousands of shards; the log has all).
LISTED_FILES = 10


PREVIEW_COLUMNS = ("tokens", "lemma", "morph", "pos", "ner", "dep_head", "dep_rel")


PREVIEW_TOKENS = 40  # tokens shown in all, one per line: a screenful, whatever the rows' length


def _preview(path: Path, rows: int = 3, tokens: int = PREVIEW_TOKENS):
    """The first annotated rows of an output file (at most `rows`), one token per line, `tokens` in
    all: a longer row is cut, with a line saying how many tokens are not shown."""
    import pyarrow.parquet as pq
    from rich.table import Table

    output = pq.ParquetFile(path)
    # Only annotation columns: an input column may hold what Python cannot decode (invalid UTF-8).
    names = output.schema_arrow.names
    token_columns = [c for c in PREVIEW_COLUMNS if c in names]
    columns = [*token_columns, *(c for c in ("sentiment", "vnlp_status") if c in names)]
    data = next(output.iter_batches(batch_size=50, columns=columns), None)
    shown = [r for r in (data.to_pylist() if data else []) if r["vnlp_status"].startswith("ok")][:rows]
    table = Table(title=_cell(f"first annotated rows of {path.name}"), title_justify="left")
    for c in ("row", *token_columns):
        table.add_column(c)
    budget = tokens
    for k, r in enumerate(shown):
        if budget == 0:
            break
        count = len(r["tokens"])
        for t in range(min(count, budget)):
            table.add_row(
                str(k) if t == 0 else "",
                *[_cell((r[c] or [None] * (t + 1))[t]) if t < len(r[c] or []) else "" for c in token_columns],
            )
        if count > budget:
            table.add_row("", f"… {count - budget:,} more token{'s' if count - budget > 1 else ''}")
        budget = max(0, budget - count)
        if "sentiment" in r:
            table.add_row(
                "", f"sentiment = {r['sentiment']:.4f}" if r["sentiment"] is not None else "sentiment = null"
            )
    return table


def _cell(value: object):
    """`value` as table text shown as is: no rich markup, and control or other invisible characters
    escaped (`\\x1b`, `\\n`), so that a cell stays on one line and cannot drive the terminal."""
    from rich.text import Text

    text = str(value)
    return Text("".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text))
