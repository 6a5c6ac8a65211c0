"""The run as plain functions over a validated AppConfig; Hydra stays in __main__."""

from __future__ import annotations

import logging
from pathlib import Path

from vnlp_batch.config.schema import AppConfig
from vnlp_batch.models.declarations import MODELS, TASK_DEFAULTS
from vnlp_batch.models.spec import ModelSpec

log = logging.getLogger("vnlp_batch")

SYNTHETIC_WARNING = (
    "weights=synthetic: every label in this run comes from SYNTHETIC seeded weights. They exercise the "
    "pipeline; they are not linguistic results."
)


def models_for(task: str, model: str) -> list[ModelSpec]:
    """The models a run needs, upstream models first (TreeStackDP pulls in the stemmer and TreeStackPoS)."""
    chosen = dict(TASK_DEFAULTS) if task == "all" else {task: TASK_DEFAULTS[task]}
    if model != "auto":
        chosen[MODELS[model].task] = model
    ordered: list[ModelSpec] = []

    def add(name: str) -> None:
        spec = MODELS[name]
        for upstream in spec.needs:
            add(upstream)
        if spec not in ordered:
            ordered.append(spec)

    for name in chosen.values():
        add(name)
    return ordered


def run(cfg: AppConfig) -> int:
    """Run the configured stages; return the process exit code."""
    from vnlp_batch.corpus.sample import read_sample_sentences

    run_dir = Path(cfg.run_dir)
    cache_dir = Path(cfg.cache_dir).expanduser()
    if cfg.model.onnx:
        from vnlp_batch.export.metadata import check_against_config, read_metadata

        meta = read_metadata(Path(cfg.model.onnx))
        check_against_config(meta, cfg.model.onnx, cfg.task.name, cfg.model.name)
        log.info(
            "model.onnx=%s: %s model %s (%s weights)",
            cfg.model.onnx,
            meta.task,
            meta.model,
            "synthetic" if meta.synthetic else meta.weights_provenance.get("source"),
        )
        specs = [s for s in models_for(meta.task, meta.model) if s.name != meta.model]
    else:
        specs = models_for(cfg.task.name, cfg.model.name)
    log.info("models: %s", ", ".join(s.name for s in specs) or "(none to export)")

    texts = read_sample_sentences()  # verification and calibration always use the bundled sample
    if cfg.weights.source == "synthetic":
        log.warning(SYNTHETIC_WARNING)

    from vnlp_batch.weights.sources import resolve_weights

    weights = resolve_weights(cfg.weights, cache_dir, specs, texts)
    if weights.synthetic and cfg.weights.source != "synthetic":
        log.warning(SYNTHETIC_WARNING)

    if cfg.stage in ("all", "export"):
        from vnlp_batch.export.report import print_report, write_report
        from vnlp_batch.export.stage import export_models

        result = export_models(specs, weights, cfg.export, cfg.runtime, cache_dir, texts)
        print_report(result)
        report = write_report(result, run_dir / "export_report.json")
        log.info("export report: %s", report)
    if cfg.stage in ("all", "infer"):
        log.error("the inference stage is not built yet (issue #3); ran the export stage only")
        return 0 if cfg.stage == "all" else 3
    return 0
