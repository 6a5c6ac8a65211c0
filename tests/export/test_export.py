"""The export stage: every model exported, verified against Keras, cached, at opset 13 and 17."""

from __future__ import annotations

import json
import logging

import onnx
import pytest

from vnlp_batch.config.schema import ExportConfig
from vnlp_batch.export.metadata import read_metadata
from vnlp_batch.export.report import print_report, write_report
from vnlp_batch.export.stage import ExportVerificationError, export_models
from vnlp_batch.models.declarations import MODELS


def test_all_eight_models_export_and_pass_verification(exports) -> None:
    assert set(exports.models) == set(MODELS)
    roles = {name: set(m.graphs) for name, m in exports.models.items()}
    contexts = {"left_context", "right_context"}
    # Two-layer go_backwards right contexts (not SPUContextPoS's one layer, not the stemmer's) have a tail.
    right = {"right_context", "right_tail"}
    assert roles["spucontext_pos"] == {"monolithic", "word_encoder", *contexts, "step"}
    assert roles["spucontext_ner"] == {"monolithic", "word_encoder", *contexts, "right_tail", "step"}
    assert roles["stemmer"] == {"monolithic", "surface_encoder", "candidates", *contexts, "score"}
    assert roles["treestack_pos"] == {"monolithic", "tag_encoder", *right, "step"}
    assert roles["treestack_dp"] == {"monolithic", "tag_encoder", *contexts, "right_tail", "step"}
    assert roles["charner"] == roles["sentiment"] == {"monolithic"}
    for report in exports.graphs:
        assert report.parity is not None, report.model
        assert report.parity["label_agreement"] == 1.0, report
        assert report.parity["max_abs_diff"] <= 1e-4, report
        assert report.parity["rows"] >= 64


def test_exported_graphs_use_native_gru_ops(exports) -> None:
    # Under Keras 3 tf2onnx turns every GRU into a Loop; tf-keras must give native GRU ops.
    graph = onnx.load(str(exports.models["spucontext_pos"].graphs["monolithic"])).graph
    ops = {node.op_type for node in graph.node}
    assert "GRU" in ops and "Loop" not in ops


def test_metadata_describes_the_model(exports, synthetic_weights) -> None:
    for name, exported in exports.models.items():
        meta = read_metadata(exported.graphs["monolithic"])
        spec = MODELS[name]
        assert (meta.model, meta.task, meta.role, meta.opset) == (name, spec.task, "monolithic", 13)
        assert meta.inputs == list(spec.inputs)
        assert meta.weights_sha256 == synthetic_weights.sha256(spec)
        assert meta.synthetic and meta.weights_provenance["seed"] == 0
        assert set(meta.resources_sha256) == set(spec.resources)
        assert "tf2onnx" in meta.tool_versions and meta.quantization == "none"
        for role, path in exported.graphs.items():  # every graph describes itself, with its role
            assert read_metadata(path).role == role
    assert (
        read_metadata(exports.models["spucontext_pos"].graphs["monolithic"]).hyperparameters[
            "SENTENCE_MAX_LEN"
        ]
        == 40
    )


def test_second_run_reuses_the_cache_and_says_so(
    exports, synthetic_weights, cache_dir, sample_texts, caplog, cpu_runtime
) -> None:
    specs = [MODELS["sentiment"], MODELS["stemmer"]]
    with caplog.at_level(logging.INFO):
        again = export_models(specs, synthetic_weights, ExportConfig(), cpu_runtime, cache_dir, sample_texts)
    assert all(g.cached for g in again.graphs)
    assert "reusing cached export" in caplog.text
    for spec in specs:
        assert again.models[spec.name].graphs == exports.models[spec.name].graphs


def test_opset_17_exports_and_verifies(synthetic_weights, cache_dir, sample_texts, cpu_runtime) -> None:
    result = export_models(
        [MODELS["spucontext_pos"]],
        synthetic_weights,
        ExportConfig(opset=17),
        cpu_runtime,
        cache_dir,
        sample_texts,
    )
    assert [g.role for g in result.graphs] == [
        "monolithic",
        "word_encoder",
        "left_context",
        "right_context",
        "step",
    ]
    for report in result.graphs:
        assert report.parity["label_agreement"] == 1.0 and report.parity["max_abs_diff"] <= 1e-4
        model = onnx.load(report.path)
        assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {17}
        assert read_metadata(report.path).opset == 17


def test_int8_dynamic_reports_what_it_quantized(
    synthetic_weights, cache_dir, sample_texts, exports, cpu_runtime
) -> None:
    result = export_models(
        [MODELS["sentiment"]],
        synthetic_weights,
        ExportConfig(quantize="int8_dynamic"),
        cpu_runtime,
        cache_dir,
        sample_texts,
    )
    int8 = [g for g in result.graphs if g.quantization == "int8_dynamic"]
    assert len(int8) == 1
    report = int8[0]
    assert report.quantized_ops, "dynamic quantization replaced nothing"
    assert report.untouched_ops.get("GRU"), "ORT has no int8 GRU: the report must say GRUs stay fp32"
    assert report.size_fp32_bytes == exports.models["sentiment"].graphs["monolithic"].stat().st_size
    assert 0.0 <= report.parity["label_agreement"] <= 1.0 and set(report.latency_ms) == {"fp32", "int8"}
    assert read_metadata(report.path).quantization == "int8_dynamic"


def test_failed_verification_leaves_nothing_in_the_cache(
    synthetic_weights, tmp_path, sample_texts, cpu_runtime
) -> None:
    # A tolerance no float computation meets: the graph must be refused and not cached.
    with pytest.raises(ExportVerificationError, match="sentiment/monolithic"):
        export_models(
            [MODELS["sentiment"]],
            synthetic_weights,
            ExportConfig(tolerance=1e-30),
            cpu_runtime,
            tmp_path,
            sample_texts,
        )
    assert not list((tmp_path / "onnx" / "sentiment").glob("*/monolithic.onnx"))


def test_report_json_and_table(exports, tmp_path, capsys) -> None:
    path = write_report(exports, tmp_path / "export_report.json")
    rows = json.loads(path.read_text())
    assert {r["model"] for r in rows} == set(MODELS)
    from rich.console import Console

    console = Console(file=None, width=160, record=True)
    print_report(exports, console)
    text = console.export_text()
    assert "spucontext_dp" in text and "100.00% of" in text
