"""Configuration: YAML groups compose into the typed schema; bad values fail before any work."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from vnlp_batch.__main__ import CONF_DIR, _rewrite_data_path
from vnlp_batch.config.overrides import check_overrides
from vnlp_batch.config.schema import (
    NOT_OUTPUT_KEYS,
    OUTPUT_KEYS,
    QUANTIZED_OUTPUT_KEYS,
    TASKS,
    AppConfig,
    ConfigError,
    output_options,
    register_configs,
    to_app_config,
)
from vnlp_batch.models.declarations import MODELS

DIGEST = "ab" * 32
TASK_OPTIONS = "all, dep, morph, ner, pos, sentiment"


def compose_raw(*overrides: str):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def load(*overrides: str) -> AppConfig:
    """The AppConfig the command line `overrides` give, checked as __main__ checks it."""
    check_overrides(list(overrides), CONF_DIR)
    return to_app_config(compose_raw(*overrides))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vnlp_batch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


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
        ("dep.heads=nope", "dep.heads='nope' is not allowed; choose one of: vnlp, in_sentence"),
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
    options = ", ".join(sorted(("auto", *MODELS)))
    with pytest.raises(ConfigError, match=f"model=nope is not an option of model; choose one of: {options}$"):
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
        "data.unit": "document",
        "data.format": None,
        "runtime.decoder": "fast",
        "runtime.graph_optimization_level": "all",
        "dep.heads": "vnlp",
    }
    # Activations are quantized per call: with int8 graphs the rows computed together matter too.
    quantized = output_options(cfg, quantized=True)
    assert (quantized["batch_size"], quantized["runtime.lanes"]) == (16, 3)


def test_dep_heads_is_vnlp_unless_asked_and_part_of_the_resume_key() -> None:
    from vnlp_batch.resume import resume_key

    assert load().dep.heads == "vnlp"
    in_sentence = load("dep.heads=in_sentence")
    assert in_sentence.dep.heads == "in_sentence"
    graphs = {"spucontext_dp": {"monolithic": DIGEST}}
    providers = {"spucontext_dp": "CPUExecutionProvider"}
    keys = {resume_key(cfg, graphs, providers, quantized=False) for cfg in (load(), in_sentence)}
    assert len(keys) == 2


def test_cli_refuses_an_unknown_heads_choice_in_one_line() -> None:
    done = cli("dep.heads=nope")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vnlp-batch: config error: dep.heads='nope' is not allowed; choose one of: vnlp, in_sentence"
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("batchsize=32", "unknown key 'batchsize' (in batchsize=32); did you mean batch_size?"),
        ("+batchsize=32", "unknown key 'batchsize' (in +batchsize=32); did you mean batch_size?"),
        (
            "data.textcolumn=body",
            "unknown key 'data.textcolumn' (in data.textcolumn=body); did you mean data.text_column?",
        ),
        ("runtime.lane=1", "unknown key 'runtime.lane' (in runtime.lane=1); did you mean runtime.lanes?"),
        (
            "+experimnt=sample_all",
            "unknown key 'experimnt' (in +experimnt=sample_all); did you mean experiment?",
        ),
        (
            "task=nerr",
            f"task=nerr is not an option of task; choose one of: {TASK_OPTIONS} (did you mean task=ner?)",
        ),
        (
            "weights=synth",
            "weights=synth is not an option of weights; choose one of: path, synthetic, vnlp "
            "(did you mean weights=synthetic?)",
        ),
        ("task=pos,nerr", "task=nerr is not an option of task"),
        ("experiment=sample_all", "experiment is added with '+': +experiment=<corpus_all|sample_all>"),
        ("+batch_size=32", "batch_size already exists: set it without '+': batch_size=..."),
        ("batch_size=abc", "batch_size='abc': Value 'abc' of type 'str' could not be converted to Integer"),
        ("batch_size=16,abc", "batch_size='abc'"),
        ("resume=maybe", "resume='maybe': Value 'maybe' is not a valid bool"),
        (
            f"weights.sha256.a.weights={DIGEST}",
            "weights.sha256.a.weights is a new entry of weights.sha256: add it with +",
        ),
    ],
)
def test_command_line_mistakes_are_one_line_naming_the_fix(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        check_overrides([override], CONF_DIR)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_valid_overrides_pass_the_check() -> None:
    check_overrides(
        [
            "task=pos,ner",
            "model=treestack_pos",
            "+experiment=sample_all",
            f"+weights.sha256.PoS_SPUContext_prod.weights={DIGEST}",
            "batch_size=range(16,64,16)",
            "data.id_column=null",
            "runtime.providers=[CPUExecutionProvider]",
            "hydra.run.dir=/tmp/x",
            "hydra/launcher=slurm",
            "data=file",
            "data.path=/x/*.parquet",
        ],
        CONF_DIR,
    )


def test_a_plus_key_nothing_reads_is_refused_after_composition_too() -> None:
    # Hydra adds `+key` under open_dict even on the typed schema; to_object would set it as a plain
    # attribute that nothing reads (the run went on with batch size 64).
    raw = compose_raw("+batchsize=32")
    with pytest.raises(
        ConfigError, match=r"unknown key 'batchsize': nothing reads it; did you mean batch_size\?"
    ):
        to_app_config(raw)
    with pytest.raises(ConfigError, match=r"unknown key 'data.txt': nothing reads it"):
        to_app_config(compose_raw("+data.txt=1"))


def test_sha256_pins_are_still_added_with_plus() -> None:
    cfg = load(f"+weights.sha256.PoS_SPUContext_prod.weights={DIGEST}")
    assert cfg.weights.sha256 == {"PoS_SPUContext_prod.weights": DIGEST}


@pytest.mark.parametrize(
    ("args", "last_line"),
    [
        (
            ["batchsize=32"],
            "vnlp-batch: config error: unknown key 'batchsize' (in batchsize=32); did you mean batch_size?",
        ),
        (
            ["+batchsize=32"],
            "vnlp-batch: config error: unknown key 'batchsize' (in +batchsize=32); did you mean batch_size?",
        ),
        (
            ["task=nerr"],
            "vnlp-batch: config error: "
            f"task=nerr is not an option of task; choose one of: {TASK_OPTIONS} (did you mean task=ner?)",
        ),
        (
            ["-m", "task=pos", "batch_size=16,x"],
            "vnlp-batch: config error: batch_size='x': Value 'x' of type 'str' could not be converted to "
            "Integer",
        ),
    ],
)
def test_cli_refuses_mistakes_in_one_line_with_exit_2(args: list[str], last_line: str) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [last_line]


def test_help_says_what_the_tool_does_how_to_run_it_and_where_outputs_go() -> None:
    done = cli("--help")
    assert done.returncode == 0
    text = done.stdout
    assert "powered by Hydra" not in text
    assert text.startswith("vnlp-batch: annotate Turkish corpora with VNLP 0.2.4's models")
    commands = [line.split()[:3] for line in text.splitlines() if line.startswith("  python -m vnlp_batch")]
    assert len(commands) == 5
    for group in ("task", "model", "data", "export", "runtime", "weights", "experiment"):
        assert [line for line in text.splitlines() if line.startswith(f"  {group} ")], group
    assert "outputs/annotated/<input>-<hash>/<task>/" in text and "data.overwrite=true" in text
    assert "Exit codes: 0 done" in text
    assert "dep.heads=vnlp|in_sentence" in text


def test_units_input_and_output_formats_are_checked_and_one_format_is_a_list() -> None:
    assert load().data.unit == "document"  # a news corpus holds documents (README, Documents)
    assert load("data.unit=sentence", "data.format=jsonl").data.format == "jsonl"
    with pytest.raises(
        ConfigError,
        match=re.escape("data.unit='paragraph' is not allowed; choose one of: sentence, document"),
    ):
        load("data.unit=paragraph")
    with pytest.raises(
        ConfigError, match=re.escape("data.format='xml' is not allowed; choose one of: parquet, jsonl")
    ):
        load("data.format=xml")
    assert load("output.format=[parquet,conllu]").output.format == ["parquet", "conllu"]
    with pytest.raises(ConfigError, match=re.escape("output.format='conll' is not allowed")):
        load("output.format=[conll]")
    with pytest.raises(ConfigError, match="names a format twice"):
        load("output.format=[jsonl,jsonl]")
    # On the command line one format needs no brackets.
    assert _rewrite_data_path(["output.format=conllu"]) == ["output.format=[conllu]"]
    assert _rewrite_data_path(["output.format=[conllu,jsonl]"]) == ["output.format=[conllu,jsonl]"]
