"""The preflight (preflight.py): where outputs go by default, the input checks before any model loads,
and the resume key known before any session exists — equal to the stage's by construction."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch import app, preflight
from vnlp_batch.config.schema import (
    AppConfig,
    DataConfig,
    ModelConfig,
    RuntimeConfig,
    TaskConfig,
    WeightsConfig,
)
from vnlp_batch.corpus.errors import BadFileError, InputError, SchemaError
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.models.declarations import MODELS, TASK_DEFAULTS

CPU = ["CPUExecutionProvider"]


def config(data: Path | str, tmp_path: Path, **data_options: Any) -> AppConfig:
    task = data_options.pop("task", "pos")
    model = data_options.pop("model", "auto")
    decoder = data_options.pop("decoder", "fast")
    return AppConfig(
        task=TaskConfig(task),
        model=ModelConfig(model),
        data=DataConfig(path=str(data), **data_options),
        runtime=RuntimeConfig(providers=CPU, decoder=decoder),
        weights=WeightsConfig(source="synthetic", seed=0),
        stage="infer",
        cache_dir=str(tmp_path / "no-cache"),
        run_dir=str(tmp_path / "run"),
    )


def texts(path: Path, columns: dict[str, pa.Array] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns or {"id": [1, 2], "text": ["bir cümle", "iki"]}), path)
    return path


# --- where outputs go ------------------------------------------------------------------------------


def test_default_output_dir_is_stable_per_input_and_task_and_never_shared_by_two_corpora(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    news = texts(tmp_path / "a" / "news.parquet")
    other_news = texts(tmp_path / "b" / "news.parquet")
    pos = preflight.output_dir_for(config(news, tmp_path))
    assert pos == preflight.output_dir_for(config(news, tmp_path))  # the same command, the same place
    assert pos == preflight.output_dir_for(config("a/news.parquet", tmp_path))  # relative or absolute
    assert pos.parent.parent == tmp_path / "outputs" / "annotated"
    assert pos.name == "pos" and pos.parent.name.startswith("news-")
    assert preflight.output_dir_for(config(other_news, tmp_path)).parent != pos.parent
    assert preflight.output_dir_for(config(news, tmp_path, task="ner")) == pos.parent / "ner"
    assert preflight.output_dir_for(config(news, tmp_path, model="treestack_pos")).name == "pos-treestack_pos"
    # Given: as given, relative to the current directory.
    assert preflight.output_dir_for(config(news, tmp_path, output_dir="out")) == tmp_path / "out"
    assert preflight.output_dir_for(config("sample", tmp_path, task="all")).parent.name.startswith("sample-")


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("sample", "sample"),
        ("/data/news/2024.parquet", "2024"),
        ("/data/news/", "news"),
        ("/data/news/shard-*.parquet", "shard"),
        ("/data/news/**/*.parquet", "news"),
        ("/data/haber arşivi/*.parquet", "haber_arşivi"),
    ],
)
def test_input_label(path: str, label: str) -> None:
    assert preflight.input_label(path) == label


# --- which model answers which task ----------------------------------------------------------------


def test_planned_models_name_the_model_answering_each_task_not_its_upstream_models() -> None:
    # treestack_dp reads the stemmer and TreeStack PoS, but a dep run writes only dep's columns
    assert preflight.planned_models("dep", "treestack_dp") == {"dep": "treestack_dp"}
    planned = preflight.planned_models("all", "charner")
    assert planned["ner"] == "charner"
    assert planned == {**{t: m for t, m in TASK_DEFAULTS.items()}, "ner": "charner"}


# --- input checks, before the weights, the export and any model ------------------------------------


@pytest.fixture
def nothing_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a run gets as far as resolving its weights."""

    def too_far(*args: object, **kwargs: object) -> None:
        raise AssertionError("the input should have been refused before the weights")

    monkeypatch.setattr("vnlp_batch.weights.sources.resolve_weights", too_far)


def refused(cfg: AppConfig) -> BaseException:
    with pytest.raises(InputError) as error:
        app.run(cfg)
    assert getattr(error.value, "exit_code", None) == 2
    assert "\n" not in str(error.value)
    return error.value


def test_a_wrong_text_column_names_the_closest_string_column(tmp_path: Path, nothing_loads: None) -> None:
    file = texts(tmp_path / "in" / "a.parquet", {"id": [1], "title": ["Başlık"], "content": ["Metin."]})
    error = refused(config(file, tmp_path))
    assert isinstance(error, SchemaError)
    assert str(error) == (
        f"{file}: text column 'text' not found; available columns: id (int64), title (string), "
        "content (string); did you mean data.text_column=content?"
    )
    numbers = texts(tmp_path / "in2" / "b.parquet", {"text": [1, 2], "body": ["bir", "iki"]})
    message = str(refused(config(numbers, tmp_path)))
    assert "text column 'text' has type int64" in message and message.endswith("data.text_column=body?")


def test_a_missing_id_column_names_the_closest_column(tmp_path: Path, nothing_loads: None) -> None:
    file = texts(tmp_path / "in" / "a.parquet", {"doc_id": [1], "text": ["bir"]})
    message = str(refused(config(file, tmp_path, id_column="docid")))
    assert message.startswith(f"{file}: id column 'docid' not found") and message.endswith(
        "data.id_column=doc_id?"
    )


def test_unreadable_inputs_are_named_with_the_formats_read(tmp_path: Path, nothing_loads: None) -> None:
    garbage = tmp_path / "g" / "a.parquet"
    garbage.parent.mkdir()
    garbage.write_bytes(b"not parquet at all")
    error = refused(config(garbage, tmp_path))
    assert isinstance(error, BadFileError)
    assert str(error).startswith(f"{garbage}: cannot read as Parquet") and "vnlp-batch reads Parquet" in str(
        error
    )

    csv = tmp_path / "c" / "a.csv"
    csv.parent.mkdir()
    csv.write_text("id,content\n1,bir cümle\n")
    assert str(refused(config(csv, tmp_path))) == (
        f"{csv}: text column 'text' not found; available columns: id (string), content (string); "
        "did you mean data.text_column=content?"
    )
    jsonl = tmp_path / "j" / "a.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text("id,text\n1,a CSV named .jsonl\n")
    error = refused(config(jsonl, tmp_path))
    assert isinstance(error, BadFileError)
    assert str(error).startswith(f"{jsonl}: cannot read as JSON Lines: line 1") and "vnlp-batch reads" in str(
        error
    )
    unknown = tmp_path / "u" / "a.docx"
    unknown.parent.mkdir()
    unknown.write_bytes(b"PK")
    assert str(refused(config(unknown, tmp_path))).startswith(f"{unknown}: cannot tell its format")
    assert str(refused(config(tmp_path / "missing.parquet", tmp_path))).startswith("input path ")


def test_bad_files_are_skipped_up_front_with_skip(tmp_path: Path, nothing_loads: None) -> None:
    good = texts(tmp_path / "in" / "a.parquet")
    bad = tmp_path / "in" / "b.parquet"
    bad.write_bytes(b"PAR1 truncated")
    checked = preflight.check_run(
        config(good.parent, tmp_path, on_bad_file="skip"), {"pos": "spucontext_pos"}
    )
    assert list(checked.checked) == [good] and list(checked.bad_files) == [str(bad)]
    with pytest.raises(BadFileError, match=str(bad)):
        preflight.check_run(config(good.parent, tmp_path), {"pos": "spucontext_pos"})


# --- the resume key, before any session ------------------------------------------------------------


def test_graph_roles_are_the_graphs_a_loaded_model_decodes_with(exports: Any, loaded: dict) -> None:
    from vnlp_batch.inference.onnx_model import LoadedModel

    for name, exported in exports.models.items():
        spec = MODELS[name]
        assert preflight.graph_roles(spec, exported.graphs, "fast") == list(loaded[name].graphs), name
        monolithic = LoadedModel.load(exported.graphs, RuntimeConfig(providers=CPU, decoder="monolithic"))
        assert preflight.graph_roles(spec, exported.graphs, "monolithic") == list(monolithic.graphs), name
        assert preflight.graph_roles(spec, {"monolithic": Path("given.onnx")}, "fast") == ["monolithic"]


@pytest.mark.parametrize(
    ("task", "model", "decoder"),
    [("pos", "auto", "fast"), ("dep", "treestack_dp", "monolithic"), ("ner", "charner", "fast")],
)
def test_expected_resume_key_is_the_stages_and_a_done_rerun_loads_nothing(
    tmp_path: Path,
    cache_dir: Path,
    exports: Any,
    synthetic_weights: Any,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    model: str,
    decoder: str,
) -> None:
    file = texts(tmp_path / "in" / "a.parquet")
    cfg = dataclasses.replace(
        config(file, tmp_path, task=task, model=model, decoder=decoder, output_dir=str(tmp_path / "out")),
        cache_dir=str(cache_dir),
    )
    specs = app.models_for(task, model)
    assert preflight.expected_resume_key(cfg, specs, synthetic_weights, {}, tmp_path / "empty") is None
    expected = preflight.expected_resume_key(cfg, specs, synthetic_weights, {}, cache_dir)

    assert app.run(cfg) == 0  # the stage computes its key from the loaded sessions
    (entry,) = Manifest.load(tmp_path / "out").entries.values()
    assert entry["config_hash"] == expected

    from vnlp_batch.inference import onnx_model

    def no_session(*args: object, **kwargs: object) -> None:
        raise AssertionError("a done rerun loaded a model")

    monkeypatch.setattr(onnx_model.LoadedModel, "load", no_session)
    assert app.run(cfg) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["rows"] == 0 and "all_done_at_s" in metrics["startup"]


def test_a_relative_output_dir_resumes_from_the_same_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not inside the run directory, which is new for every run: where the command is run.
    monkeypatch.chdir(tmp_path)
    cfg = config(texts(tmp_path / "in" / "a.parquet"), tmp_path, output_dir="annotated")
    checked = preflight.check_run(cfg, {"pos": "spucontext_pos"})
    assert checked.output_dir == tmp_path / "annotated" and os.path.isdir(checked.output_dir)


def test_the_configuration_an_output_is_made_with_names_what_a_user_chose() -> None:
    from vnlp_batch.resume import describe, differences, made_with

    def of(**weights: Any) -> dict:
        cfg = AppConfig(task=TaskConfig("pos"), weights=WeightsConfig(**weights))
        return made_with(dataclasses.asdict(cfg), {"pos": "spucontext_pos"})

    vnlp = of(source="vnlp")
    # A mirror serves VNLP's files (its other bytes would change the graphs' sha256 in the resume key).
    assert of(source="vnlp", base_url="http://mirror.example/vnlp/") == vnlp
    synthetic = of(source="synthetic", seed=0)
    assert describe(synthetic) == "task pos (pos: spucontext_pos), weights synthetic seed 0"
    assert differences(vnlp, synthetic) == "weights.seed: None → 0; weights.source: vnlp → synthetic"
    assert differences(None, synthetic) == "not written by vnlp-batch"


def test_an_output_option_added_since_a_file_was_made_is_its_default_for_that_file(tmp_path: Path) -> None:
    """A file made before `dep.heads` existed was made with VNLP's heads: updating vnlp-batch does not
    make its output directory another configuration, choosing `in_sentence` does."""
    from vnlp_batch.config.schema import DepConfig
    from vnlp_batch.corpus.errors import OutputConflictError
    from vnlp_batch.resume import as_recorded, differences, made_with

    def of(cfg: AppConfig) -> dict:
        return made_with(dataclasses.asdict(cfg), {"dep": "spucontext_dp"})

    default = of(AppConfig(task=TaskConfig("dep")))
    older = dataclasses.asdict(AppConfig(task=TaskConfig("dep")))
    del older["dep"]  # an older vnlp-batch's config, in a file's metadata
    recorded = made_with(older, {"dep": "spucontext_dp"})
    assert "dep.heads" not in recorded["options"]
    assert as_recorded(recorded) == default
    in_sentence = of(AppConfig(task=TaskConfig("dep"), dep=DepConfig("in_sentence")))
    assert differences(as_recorded(recorded), in_sentence) == "dep.heads: vnlp → in_sentence"
    assert as_recorded(None) is None

    manifest = Manifest.load(tmp_path)
    output = tmp_path / "a.parquet"
    output.write_bytes(b"annotated")
    manifest.mark_done(tmp_path / "in" / "a.parquet", {}, "key", output, 1, {"ok": 1}, made_with=recorded)
    preflight.refuse_other_configurations(Manifest.load(tmp_path), [output], default)
    with pytest.raises(OutputConflictError, match=r"dep\.heads: vnlp → in_sentence"):
        preflight.refuse_other_configurations(Manifest.load(tmp_path), [output], in_sentence)
