"""Configuration: YAML groups compose into the typed schema; bad values fail before any work."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from vnlp_batch.__main__ import CONF_DIR, _rewrite_data_path
from vnlp_batch.config.schema import (
    NOT_OUTPUT_KEYS,
    OUTPUT_KEYS,
    QUANTIZED_OUTPUT_KEYS,
    TASKS,
    AppConfig,
    ConfigError,
    output_options,
    register_configs,
)
from vnlp_batch.models.declarations import MODELS


def load(*overrides: str) -> AppConfig:
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        raw = compose(config_name="config", overrides=list(overrides))
    return OmegaConf.to_object(raw)


def test_defaults() -> None:
    cfg = load()
    assert (cfg.task.name, cfg.model.name, cfg.stage, cfg.batch_size) == ("all", "auto", "all", 64)
    assert cfg.export.opset == 13 and cfg.export.quantize == "none" and cfg.export.verify
    assert cfg.runtime.providers == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert cfg.weights.source == "vnlp" and cfg.data.path == "sample"


def test_groups_select_presets() -> None:
    cfg = load("task=pos", "model=treestack_pos", "weights=synthetic", "runtime=cpu", "export=int8")
    assert cfg.model.name == "treestack_pos" and cfg.weights.source == "synthetic"
    assert cfg.runtime.providers == ["CPUExecutionProvider"] and cfg.export.quantize == "int8_dynamic"
    assert load("+experiment=sample_all").weights.source == "synthetic"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("export.opset=9", "export.opset=9 is not allowed; choose one of: 13, 14"),
        ("export.quantize=int4", "export.quantize='int4' is not allowed; choose one of: none, int8_dynamic"),
        (
            "runtime.providers=[TPUExecutionProvider]",
            "runtime.providers='TPUExecutionProvider' is not allowed",
        ),
        ("runtime.graph_optimization_level=max", "runtime.graph_optimization_level='max'"),
        ("runtime.lanes=0", "runtime.lanes=0 must be >= 1"),
        ("stage=train", "stage='train' is not allowed; choose one of: all, export, infer"),
        ("batch_size=0", "batch_size=0 must be between 1 and 65536"),
        ("data.on_bad_file=ignore", "data.on_bad_file='ignore' is not allowed; choose one of: fail, skip"),
        ("data.stale_temporary_hours=0", "data.stale_temporary_hours=0.0 must be > 0"),
        ("weights.base_url=ftp://x", "weights.base_url='ftp://x' must be an http(s) URL"),
    ],
)
def test_bad_values_name_the_key_and_the_choices(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(override)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_task_and_model_groups_are_the_declarations() -> None:
    """conf/task and conf/model are not files to keep in step: register_configs makes one option per
    task and per declared model."""
    assert not (CONF_DIR / "task").exists() and not (CONF_DIR / "model").exists()
    for task in TASKS:
        assert load(f"task={task}").task.name == task
    for model in ("auto", *MODELS):
        assert load("task=all", f"model={model}").model.name == model
    assert load("model=treestack_pos", "task=pos", "+experiment=sample_all").model.name == "treestack_pos"
    with pytest.raises(Exception, match="model/nope"):
        load("model=nope")


def test_model_must_fit_the_task() -> None:
    with pytest.raises(ConfigError, match="model=charner is a ner model but task=pos"):
        load("task=pos", "model=charner")


def test_weights_path_needs_an_existing_directory(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"weights\.dir is required"):
        load("weights=path")
    with pytest.raises(ConfigError, match="no such directory"):
        load("weights=path", f"weights.dir={tmp_path / 'missing'}")
    assert load("weights=path", f"weights.dir={tmp_path}").weights.dir == str(tmp_path)


def test_data_argument_is_a_path_unless_it_names_a_preset() -> None:
    assert _rewrite_data_path(["task=ner", "data=corpus.parquet"]) == [
        "task=ner",
        "data=file",
        "data.path=corpus.parquet",
    ]
    assert _rewrite_data_path(["data=sample"]) == ["data=sample"]
    assert load(*_rewrite_data_path(["data=/x/*.parquet"])).data.path == "/x/*.parquet"


def test_cli_prints_one_line_and_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vnlp_batch", "export.opset=7"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "vnlp-batch: config error: export.opset=7 is not allowed; choose one of: 13, 14, 15, 16, 17, 18"
    )


def _leaf_keys(node: object, prefix: str = "") -> list[str]:
    """Dotted names of every non-dataclass field under the dataclass `node`."""
    keys = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            keys += _leaf_keys(value, f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return keys


def test_every_key_is_declared_as_changing_outputs_or_not() -> None:
    # A new option must be placed: in the resume key (it changes output bytes) or out, with a reason.
    declared = [*OUTPUT_KEYS, *QUANTIZED_OUTPUT_KEYS, *NOT_OUTPUT_KEYS]
    assert sorted(declared) == sorted(_leaf_keys(AppConfig())), "each key exactly once"
    cfg = load("task=pos", "data.max_tokens=7", "batch_size=16", "runtime.lanes=3")
    assert output_options(cfg, quantized=False) == {
        "task.name": "pos",
        "model.name": "auto",
        "data.text_column": "text",
        "data.id_column": "id",  # conf/data/sample.yaml
        "data.max_tokens": 7,
        "runtime.decoder": "fast",
        "runtime.graph_optimization_level": "all",
    }
    # Activations are quantized per call: with int8 graphs the rows computed together matter too.
    quantized = output_options(cfg, quantized=True)
    assert (quantized["batch_size"], quantized["runtime.lanes"]) == (16, 3)
