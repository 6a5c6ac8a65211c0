"""The point of one component per family: a ninth model of an existing family is its declaration and
nothing else. Here a second SPUContext tagger, declared under another name with SPUContextPoS's VNLP
builder and weights, goes through export (with verification) and the inference stage with no edit
outside its declaration, and labels every token as the model it copies."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.config.schema import (
    AppConfig,
    DataConfig,
    ExportConfig,
    ModelConfig,
    RuntimeConfig,
    TaskConfig,
    WeightsConfig,
)
from vnlp_batch.export.stage import export_models
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.inference.stage import run_inference
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.planning import models_for, plan_for

ROWS = 48  # sample sentences annotated by both models, among them sentences over 40 tokens


def _pos_run(model: LoadedModel, runtime: RuntimeConfig, data: Path, work: Path, weights: Any) -> pa.Table:
    """`task=pos model=<its name>` through the inference stage, as app.py runs it; the output table."""
    name = model.spec.name
    cfg = AppConfig(
        task=TaskConfig("pos"),
        model=ModelConfig(name),
        data=DataConfig(path=str(data), output_dir=str(work / name)),
        runtime=runtime,
        weights=WeightsConfig(source="synthetic", seed=0),
        stage="infer",
        cache_dir=str(work / "cache"),
        run_dir=str(work / f"{name}-run"),
    )
    Path(cfg.run_dir).mkdir(parents=True)
    report = run_inference(cfg, {name: model}, plan_for("pos", name), weights.provenance)
    (written,) = report.written
    return pq.read_table(written)


@pytest.mark.slow
def test_a_ninth_spucontext_tagger_needs_only_its_declaration(
    monkeypatch, synthetic_weights, sample_texts, cpu_runtime, loaded, tmp_path
) -> None:
    toy = dataclasses.replace(MODELS["spucontext_pos"], name="toy_pos")
    monkeypatch.setitem(MODELS, toy.name, toy)  # the whole edit: its declaration, registered
    runtime = dataclasses.replace(cpu_runtime, decoder="fast")

    assert [s.name for s in models_for("pos", "toy_pos")] == ["toy_pos"]
    exported = export_models(
        [toy], synthetic_weights, ExportConfig(), runtime, tmp_path / "cache", sample_texts
    )
    assert all(r.parity and r.parity["label_agreement"] == 1.0 for r in exported.graphs)  # verified
    graphs = exported.models["toy_pos"].graphs
    assert set(graphs) == set(loaded["spucontext_pos"].graphs)  # the family's fast graphs
    toy_model = LoadedModel.load(graphs, runtime)
    assert toy_model.decoder == "fast" and toy_model.metadata.model == "toy_pos"

    data = tmp_path / "in" / "sample.parquet"
    data.parent.mkdir()
    texts = sample_texts[:ROWS]
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), data)
    ours = _pos_run(toy_model, runtime, data, tmp_path, synthetic_weights)
    theirs = _pos_run(loaded["spucontext_pos"], runtime, data, tmp_path, synthetic_weights)
    assert ours.schema.metadata[b"vnlp_batch.models"] == b'{"pos": "toy_pos"}'
    assert any(len(t) > 40 for t in ours.column("tokens").to_pylist())
    assert ours.column("vnlp_status").to_pylist() == theirs.column("vnlp_status").to_pylist()
    assert ours.column("pos").to_pylist() == theirs.column("pos").to_pylist()
