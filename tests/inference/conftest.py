"""Fixtures for the inference-stage tests: loaded ONNX models, input files, and a stage runner.

The stage is called as a library (`plan_for` + `run_inference`), the way `app._infer` calls it. Models
are loaded once per session from the shared `exports`; most tests use `task=pos` (SPUContextPoS only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import INT8_PROPERTY, StageRun, StageRunner, runtime_for, texts_table

from vnlp_batch.config.schema import AppConfig, DataConfig, OutputConfig, TaskConfig, WeightsConfig
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.inference.stage import run_inference
from vnlp_batch.models.planning import models_for, plan_for


@pytest.fixture(scope="session")
def loaded_models(exports: Any) -> Callable[..., dict[str, LoadedModel]]:
    """`(task, decoder="fast") -> {model name: LoadedModel}` for the models a run of `task` needs.

    Each (model, decoder) is loaded once per session, from the shared `exports`.
    """
    cache: dict[tuple[str, str], LoadedModel] = {}

    def load(task: str, decoder: str = "fast") -> dict[str, LoadedModel]:
        models = {}
        for spec in models_for(task, "auto"):
            key = (spec.name, decoder)
            if key not in cache:
                cache[key] = LoadedModel.load(exports.models[spec.name].graphs, runtime_for(decoder))
            models[spec.name] = cache[key]
        return models

    return load


@pytest.fixture(scope="session")
def stage_runner(
    loaded_models: Callable[..., dict[str, LoadedModel]], synthetic_weights: Any, cache_dir: Path
) -> StageRunner:
    """`(data, output_dir, run_dir, task="pos", decoder="fast", **config) -> StageRun`: run the stage.

    A relative `output_dir` is resolved by the stage, in the current directory.
    `config` keys go to `DataConfig` when they are data fields (`on_bad_file`, `max_tokens`,
    `text_column`, `id_column`, `stale_temporary_hours`, `overwrite`, `unit`, `format`),
    `output_format` to `OutputConfig.format`, others to `AppConfig` (`resume`, `batch_size`).
    Session-scoped so that Hypothesis tests can use it.
    """
    data_fields = {
        "on_bad_file",
        "max_tokens",
        "text_column",
        "id_column",
        "stale_temporary_hours",
        "overwrite",
        "unit",
        "format",
    }

    def run(
        data: Path | str,
        output_dir: Path | str,
        run_dir: Path,
        task: str = "pos",
        decoder: str = "fast",
        **config: Any,
    ) -> StageRun:
        output = OutputConfig(format=list(config.pop("output_format", ["parquet"])))
        data_kwargs = {k: v for k, v in config.items() if k in data_fields}
        app_kwargs = {k: v for k, v in config.items() if k not in data_fields}
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg = AppConfig(
            task=TaskConfig(task),
            data=DataConfig(path=str(data), output_dir=str(output_dir), **data_kwargs),
            output=output,
            runtime=runtime_for(decoder),
            weights=WeightsConfig(source="synthetic", seed=0),
            stage="infer",
            cache_dir=str(cache_dir),
            run_dir=str(run_dir),
            **app_kwargs,
        )
        models = loaded_models(task, decoder)
        plan = plan_for(task, "auto")
        report = run_inference(cfg, models, plan, synthetic_weights.provenance)
        return StageRun(report, cfg, report.output_dir, run_dir)

    return run


@pytest.fixture
def run_stage(stage_runner: StageRunner, tmp_path: Path) -> StageRunner:
    """`stage_runner` with `output_dir=tmp_path/"out"` and `run_dir=tmp_path/"run"` by default."""

    def run(data: Path | str, task: str = "pos", **config: Any) -> StageRun:
        output_dir = config.pop("output_dir", tmp_path / "out")
        run_dir = config.pop("run_dir", tmp_path / "run")
        return stage_runner(data, output_dir, run_dir, task, **config)

    return run


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[..., Path]:
    """`(name, table_or_texts, row_group_size=None) -> path`: write a Parquet file under tmp_path/"in".

    A list of texts becomes a table with an int64 `id` column (0..n-1) and a string `text` column.
    """

    def write(name: str, data: pa.Table | list[str | None], row_group_size: int | None = None) -> Path:
        table = data if isinstance(data, pa.Table) else texts_table(data)
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, row_group_size=row_group_size)
        return path

    return write


@pytest.fixture(scope="session")
def short_texts(sample_texts: list[str]) -> list[str]:
    """Sample sentences of at most 8 tokens (cheap for the autoregressive decoders)."""
    from vnlp.tokenizer import TreebankWordTokenize

    short = [t for t in sample_texts if len(TreebankWordTokenize(t)) <= 8]
    assert len(short) >= 12, "the sample corpus should hold a dozen short sentences"
    return short


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the int8-vs-fp32 figures test_int8.py records, with or without `-s`."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == INT8_PROPERTY
    ]
    if lines:
        terminalreporter.section("int8 vs fp32, whole sample corpus, fast decoders")
        for line in lines:
            terminalreporter.write_line(line)
