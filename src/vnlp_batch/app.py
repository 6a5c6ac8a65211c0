"""The run as plain functions over a validated AppConfig; Hydra stays in __main__."""

from __future__ import annotations

import logging
from pathlib import Path

from vnlp_batch.config.schema import AppConfig
from vnlp_batch.models.planning import models_for, plan_for

log = logging.getLogger("vnlp_batch")

SYNTHETIC_WARNING = (
    "weights=synthetic: every label in this run comes from SYNTHETIC seeded weights. They exercise the "
    "pipeline; they are not linguistic results."
)


def run(cfg: AppConfig) -> int:
    """Run the configured stages; return the process exit code: 0, 1 if a bad input file was skipped,
    128 + the signal number if SIGTERM (143) or SIGINT (130) stopped the run."""
    from vnlp_batch.stopping import StopOnSignal, Stopped

    try:
        with StopOnSignal(immediate=True):  # the stage defers it to its next batch boundary
            return _run_stages(cfg)
    except Stopped as stopped:
        if not stopped.reported:
            log.warning("%s; rerun to resume (exit code %d)", stopped, stopped.exit_code)
        return stopped.exit_code


def _run_stages(cfg: AppConfig) -> int:
    from vnlp_batch.corpus.discover import discover_inputs
    from vnlp_batch.corpus.sample import read_sample_sentences

    if cfg.stage in ("all", "infer"):
        from vnlp_batch.corpus.writer import check_writable
        from vnlp_batch.inference.stage import output_dir_for

        check_writable(output_dir_for(cfg))  # a read-only mount is found now, not after the export
    run_dir = Path(cfg.run_dir)
    cache_dir = Path(cfg.cache_dir).expanduser()
    if cfg.stage in ("all", "infer"):
        discover_inputs(cfg.data.path)  # a wrong data path fails now, not after a long export
    given: dict[str, Path] = {}
    task, model = cfg.task.name, cfg.model.name
    if cfg.model.onnx:
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
        given[meta.model] = Path(cfg.model.onnx)
        task = meta.task if task != "all" else task
        model = meta.model
    needed = models_for(task, model)
    specs = [s for s in needed if s.name not in given]
    log.info("models: %s", ", ".join(s.name for s in needed))

    texts = read_sample_sentences()  # verification and calibration always use the bundled sample
    if cfg.weights.source == "synthetic":
        log.warning(SYNTHETIC_WARNING)

    from vnlp_batch.weights.sources import resolve_weights

    weights = resolve_weights(cfg.weights, cache_dir, specs, texts)
    if weights.synthetic and cfg.weights.source != "synthetic":
        log.warning(SYNTHETIC_WARNING)

    from vnlp_batch.export.report import print_report, write_report
    from vnlp_batch.export.stage import export_models

    result = export_models(specs, weights, cfg.export, cfg.runtime, cache_dir, texts)
    if cfg.stage in ("all", "export") and result.graphs:
        print_report(result)
        log.info("export report: %s", write_report(result, run_dir / "export_report.json"))
    if cfg.stage == "export":
        return 0
    graphs = {name: exported.graphs for name, exported in result.models.items()}
    graphs.update({name: {"monolithic": path} for name, path in given.items()})
    return _infer(cfg, task, model, graphs, weights.provenance)


def _infer(
    cfg: AppConfig, task: str, model: str, graphs: dict[str, dict[str, Path]], provenance: dict
) -> int:
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.inference.opener import FileOpener
    from vnlp_batch.inference.stage import inputs_for, run_inference

    rows = max(cfg.batch_size * 16, 1024)
    with FileOpener(cfg) as opener:
        # The first input is read while the sessions load (wasted only if a resumed run skips it).
        for first in inputs_for(cfg)[:1]:
            opener.ahead(first)
        models = {name: LoadedModel.load(paths, cfg.runtime, max_rows=rows) for name, paths in graphs.items()}
        plan = plan_for(task, model)
        report = run_inference(cfg, models, plan, provenance, opener)
    _summarize(report, provenance)
    return 1 if report.bad_files else 0


def _summarize(report, provenance: dict) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    console.print(report.summary)
    console.print(f"statuses: {dict(sorted(report.status_counts.items()))}")
    # File names and error messages are the user's text: a "[" in them is not rich markup.
    for path in report.written:
        console.print(f"wrote {escape(str(path))}")
    for path in report.skipped:
        console.print(f"skipped (already done with this configuration) {escape(str(path))}")
    for path, reason in report.bad_files.items():
        console.print(f"[red]bad file[/red] {escape(path)}: {escape(reason)}")
    if report.written:
        console.print(_preview(report.written[0]))
    if provenance.get("synthetic"):
        log.warning(SYNTHETIC_WARNING)


PREVIEW_COLUMNS = ("tokens", "lemma", "morph", "pos", "ner", "dep_head", "dep_rel")


def _preview(path: Path, rows: int = 3):
    """A few annotated rows of an output file, one token per line."""
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
    for k, r in enumerate(shown):
        for t in range(len(r["tokens"])):
            table.add_row(
                str(k) if t == 0 else "",
                *[_cell((r[c] or [None] * (t + 1))[t]) if t < len(r[c] or []) else "" for c in token_columns],
            )
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
