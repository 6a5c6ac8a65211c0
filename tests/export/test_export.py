"""The export stage: every model exported, verified against Keras, cached, at opset 13 and 17."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import numpy as np
import onnx
import pytest

from vnlp_batch.config.schema import ExportConfig
from vnlp_batch.export.metadata import read_metadata
from vnlp_batch.export.report import print_report, write_report
from vnlp_batch.export.stage import ExportVerificationError, export_models
from vnlp_batch.files import sha256_file
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


@pytest.fixture(scope="module")
def int8_spucontext_ner(synthetic_weights, cache_dir, sample_texts, exports, cpu_runtime):
    """SPUContextNER quantized: a monolithic graph, fast graphs with and without quantizable ops, and a
    `*_tail` graph."""
    return export_models(
        [MODELS["spucontext_ner"]],
        synthetic_weights,
        ExportConfig(quantize="int8_dynamic"),
        cpu_runtime,
        cache_dir,
        sample_texts,
    )


def test_int8_quantizes_every_graph_that_has_quantizable_ops(int8_spucontext_ner, exports) -> None:
    fp32 = exports.models["spucontext_ner"].graphs
    int8 = int8_spucontext_ner.models["spucontext_ner"].graphs
    assert set(int8) == set(fp32)
    reports = {g.role: g for g in int8_spucontext_ner.graphs if g.export == "int8_dynamic"}
    assert set(reports) == set(fp32)
    # The embedding table (Gather) and the MLP (MatMul) are quantized; GRUs never are.
    assert reports["word_encoder"].quantized_ops == {"Gather": 1}
    assert reports["step"].quantized_ops == {"MatMul": 3}
    assert reports["monolithic"].quantized_ops == {"MatMul": 3, "Gather": 3}
    for role in ("left_context", "right_context", "right_tail"):  # GRUs only: kept as exported
        assert reports[role].quantized_ops == {} and reports[role].quantization == "none"
        assert sha256_file(int8[role]) == sha256_file(fp32[role])
        assert read_metadata(int8[role]).quantization == "none"
    for role in ("monolithic", "word_encoder", "step"):
        report = reports[role]
        assert report.untouched_ops.get("GRU"), "ORT has no int8 GRU: the report must say GRUs stay fp32"
        assert read_metadata(int8[role]).quantization == "int8_dynamic"
        assert report.size_fp32_bytes == fp32[role].stat().st_size
        assert report.size_bytes == int8[role].stat().st_size < report.size_fp32_bytes
        ops = {node.op_type for node in onnx.load(str(int8[role])).graph.node}
        assert "DequantizeLinear" in ops or "MatMulInteger" in ops


def test_int8_report_compares_each_decoding_path_with_fp32(int8_spucontext_ner, exports, cpu_runtime) -> None:
    from vnlp_batch.export.stage import VERIFICATION_INPUTS, _paths

    paths = {p.path: p for p in int8_spucontext_ner.quantized_paths()}
    assert set(paths) == {"monolithic", "fast"}
    assert paths["fast"].quantized_graphs == ["word_encoder", "step"]
    assert paths["fast"].fp32_graphs == ["left_context", "right_context", "right_tail"]
    # The figures are those of the stored verification rows, recomputed here path by path.
    fp32_graphs = exports.models["spucontext_ner"].graphs
    with np.load(fp32_graphs["monolithic"].parent / VERIFICATION_INPUTS) as saved:
        inputs = [saved[f"arr_{k}"] for k in range(len(MODELS["spucontext_ner"].inputs))]
    spec = MODELS["spucontext_ner"]
    fp32 = _paths(spec, fp32_graphs, cpu_runtime)
    int8 = _paths(spec, int8_spucontext_ner.models["spucontext_ner"].graphs, cpu_runtime)
    for name, summary in paths.items():
        expected, got = fp32[name](inputs), int8[name](inputs)
        agree = (expected.argmax(-1) == got.argmax(-1)).mean()
        assert summary.rows == len(inputs[0]) >= 64
        assert summary.label_agreement == pytest.approx(agree)
        assert summary.max_abs_diff == pytest.approx(float(np.abs(expected - got).max()))
        assert summary.max_abs_diff > 0, "int8 graphs that give fp32's numbers were not quantized"
        assert summary.latency_fp32_ms > 0 and summary.latency_ms > 0
        assert summary.size_bytes < summary.size_fp32_bytes
    report = json.loads(int8_spucontext_ner.to_json())
    assert [p["path"] for p in report["quantized"]] == ["monolithic", "fast"]


def test_int8_reuses_its_cache(
    int8_spucontext_ner, synthetic_weights, cache_dir, sample_texts, cpu_runtime, caplog
) -> None:
    with caplog.at_level(logging.INFO):
        again = export_models(
            [MODELS["spucontext_ner"]],
            synthetic_weights,
            ExportConfig(quantize="int8_dynamic"),
            cpu_runtime,
            cache_dir,
            sample_texts,
        )
    assert all(g.cached for g in again.graphs)
    assert "spucontext_ner: reusing cached int8_dynamic export" in caplog.text
    assert again.models["spucontext_ner"].graphs == int8_spucontext_ner.models["spucontext_ner"].graphs
    assert [asdict(p) for p in again.quantized_paths()] == [
        asdict(p) for p in int8_spucontext_ner.quantized_paths()
    ]


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


def test_report_json_and_table(exports, int8_spucontext_ner, tmp_path) -> None:
    path = write_report(exports, tmp_path / "export_report.json")
    report = json.loads(path.read_text())
    assert {r["model"] for r in report["graphs"]} == set(MODELS)
    assert report["quantized"] == []
    from rich.console import Console

    console = Console(file=None, width=200, record=True)
    print_report(exports, console)
    text = console.export_text()
    assert "spucontext_dp" in text and "100.00% of" in text
    assert "quantized vs fp32" not in text

    print_report(int8_spucontext_ner, console)
    text = console.export_text()
    fast = next(p for p in int8_spucontext_ner.quantized_paths() if p.path == "fast")
    assert "quantized vs fp32" in text
    assert "right_tail" in text and "none (nothing to quantize)" in text
    assert f"{fast.label_agreement:.2%} of {fast.rows}" in text
    assert f"{fast.latency_fp32_ms:.1f} → {fast.latency_ms:.1f}" in text
