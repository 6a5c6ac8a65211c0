"""Structured configs. Hydra composes YAML into these; `validate` turns every bad value into one line.

Fields whose allowed values are a closed set are typed `str` and checked here rather than typed as
Enums: OmegaConf's own enum error is several lines and names the Python type, not the choices.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from vnlp_batch.components.base import Heads
from vnlp_batch.corpus.formats.names import FORMATS
from vnlp_batch.corpus.outputs.names import OUTPUT_FORMATS
from vnlp_batch.files import sha256_digest
from vnlp_batch.models.declarations import MODELS, TASK_DEFAULTS, VNLP_BASE_URL

TASKS = (*TASK_DEFAULTS, "all")
MODEL_OPTIONS = ("auto", *MODELS)  # auto: the task's default model (README, Models)
STAGES = ("all", "export", "infer")
WEIGHT_SOURCES = ("vnlp", "synthetic", "path")
QUANTIZATIONS = ("none", "int8_dynamic")
OPSETS = tuple(range(13, 19))  # 13 is tf2onnx's long-tested default; GRU is unchanged up to 18
PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
GRAPH_OPT_LEVELS = ("disable", "basic", "extended", "all")
ON_BAD_FILE = ("fail", "skip")
DECODERS = ("fast", "monolithic")
UNITS = ("sentence", "document")
HEADS: tuple[str, ...] = get_args(Heads)  # vnlp, in_sentence


class ConfigError(ValueError):
    """A configuration value is not allowed. The message is one line naming the key."""


def _choice(key: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def available_cores() -> int:
    """Cores this process may run on (a Slurm or container CPU set, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_cache_dir() -> str:
    return os.environ.get("VNLP_BATCH_CACHE", str(Path.home() / ".cache" / "vnlp_batch"))


@dataclass
class TaskConfig:
    name: str = "all"

    def __post_init__(self) -> None:
        _choice("task", self.name, TASKS)


@dataclass
class ModelConfig:
    """`name=auto` takes the task's default model; `onnx` runs a given exported file instead."""

    name: str = "auto"
    onnx: str | None = None

    def __post_init__(self) -> None:
        _choice("model", self.name, ("auto", *MODELS))
        if self.onnx is not None and not Path(self.onnx).is_file():
            raise ConfigError(f"model.onnx={self.onnx!r}: no such file")


@dataclass
class DataConfig:
    path: str = "sample"  # a file, a directory, a glob, or "sample" for the bundled corpus
    # document: each row is split into sentences (VNLP's splitter), each annotated as a sentence row
    # would be; sentence: each row is annotated as one string, VNLP's own semantics (README, Documents)
    unit: str = "document"
    format: str | None = None  # parquet, jsonl, csv, tsv or txt; None: from each file's extension
    text_column: str = "text"
    id_column: str | None = None
    # None: outputs/annotated/<input>-<hash>/<task plan> (preflight.default_output_dir), the same place
    # for the same command so that rerunning it resumes; a relative path is relative to the current
    # directory, like the default.
    output_dir: str | None = None
    overwrite: bool = False  # replace outputs made with another configuration instead of refusing
    on_bad_file: str = "fail"
    max_tokens: int = 2000  # a longer unit (row or sentence, data.unit) gets status error:too_long
    # Another host's temporary in the output dir is removed once unchanged for this long; keep it at
    # least the jobs' time limit (corpus/writer.py, STALE_TEMPORARY_HOURS)
    stale_temporary_hours: float = 24.0

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("data.path is empty; give a Parquet file, a directory, a glob or 'sample'")
        if not self.text_column:
            raise ConfigError("data.text_column is empty")
        if self.output_dir == "":
            raise ConfigError("data.output_dir is empty; give a directory, or null for the default")
        _choice("data.on_bad_file", self.on_bad_file, ON_BAD_FILE)
        _choice("data.unit", self.unit, UNITS)
        if self.format is not None:
            _choice("data.format", self.format, FORMATS)
        if self.max_tokens < 1:
            raise ConfigError(f"data.max_tokens={self.max_tokens} must be >= 1")
        if not self.stale_temporary_hours > 0:
            raise ConfigError(f"data.stale_temporary_hours={self.stale_temporary_hours} must be > 0")


@dataclass
class OutputConfig:
    """The files written for each input: `format` lists them (the first is the one resuming checks
    first; every one must exist for an input to count as done)."""

    format: list[str] = field(default_factory=lambda: ["parquet"])

    def __post_init__(self) -> None:
        if not self.format:
            raise ConfigError(f"output.format is empty; give one or more of: {', '.join(OUTPUT_FORMATS)}")
        for name in self.format:
            _choice("output.format", name, OUTPUT_FORMATS)
        if len(set(self.format)) != len(self.format):
            raise ConfigError(f"output.format={list(self.format)} names a format twice")


@dataclass
class ExportConfig:
    opset: int = 13
    quantize: str = "none"
    verify: bool = True
    verify_rows: int = 64  # rows of real tokenized sample text per verification batch
    tolerance: float = 1e-4  # max |p_keras - p_onnx| allowed for fp32

    def __post_init__(self) -> None:
        _choice("export.opset", self.opset, OPSETS)
        _choice("export.quantize", self.quantize, QUANTIZATIONS)
        if self.verify_rows < 1:
            raise ConfigError(f"export.verify_rows={self.verify_rows} must be >= 1")
        if not 0 < self.tolerance < 1:
            raise ConfigError(f"export.tolerance={self.tolerance} must be in (0, 1)")


@dataclass
class RuntimeConfig:
    providers: list[str] = field(default_factory=lambda: list(PROVIDERS))
    intra_op_threads: int = 0  # onnxruntime threads in all, shared among the lanes; 0: the cores
    graph_optimization_level: str = "all"
    decoder: str = "fast"  # fast: shared work done once (models/decompose.py); monolithic: the seed design
    spin_wait: bool = False  # onnxruntime threads spin between runs (starves the loader thread)
    lanes: int = 2  # CPU sessions: each graph call's rows are split into this many concurrent runs

    def __post_init__(self) -> None:
        if not self.providers:
            raise ConfigError(f"runtime.providers is empty; choose from: {', '.join(PROVIDERS)}")
        for provider in self.providers:
            _choice("runtime.providers", provider, PROVIDERS)
        if self.intra_op_threads < 0:
            raise ConfigError(f"runtime.intra_op_threads={self.intra_op_threads} must be >= 0")
        if self.lanes < 1:
            raise ConfigError(f"runtime.lanes={self.lanes} must be >= 1")
        _choice("runtime.graph_optimization_level", self.graph_optimization_level, GRAPH_OPT_LEVELS)
        _choice("runtime.decoder", self.decoder, DECODERS)

    def session_threads(self) -> int:
        """onnxruntime intra-op threads per session: `intra_op_threads` (else the cores) divided among
        the lanes, which run at once. One lane keeps the setting (0: onnxruntime's default, every core)."""
        if self.lanes == 1:
            return self.intra_op_threads
        return max(1, (self.intra_op_threads or available_cores()) // self.lanes)


@dataclass
class DepConfig:
    """Dependency parsing. `heads=vnlp`: VNLP's argmax over the 41 arcs, which can point past the end
    of a sentence shorter than 40 tokens; `in_sentence`: the argmax over the root and the sentence's
    (or 40-token chunk's) own tokens, so every head is valid CoNLL-U (README, "Deviations")."""

    heads: str = "vnlp"

    def __post_init__(self) -> None:
        _choice("dep.heads", self.heads, HEADS)


def _file_names(pins: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"weights": d}} -> {"a.weights": d}: nested keys joined with dots."""
    joined: dict[str, Any] = {}
    for key, value in pins.items():
        if isinstance(value, dict):
            joined.update(_file_names(value, f"{prefix}{key}."))
        else:
            joined[f"{prefix}{key}"] = value
    return joined


@dataclass
class WeightsConfig:
    source: str = "vnlp"
    base_url: str = VNLP_BASE_URL  # conf/weights/vnlp.yaml leaves it to this default
    # Optional pins, file name -> digest. On the command line a key's dots nest, so
    # `+weights.sha256.PoS_SPUContext_prod.weights=<digest>` arrives as {stem: {extension: digest}}
    # and is joined back into the file name here.
    sha256: dict[str, Any] = field(default_factory=dict)
    seed: int = 0  # synthetic only
    dir: str | None = None  # path only

    def __post_init__(self) -> None:
        _choice("weights.source", self.source, WEIGHT_SOURCES)
        if self.source == "vnlp" and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"weights.base_url={self.base_url!r} must be an http(s) URL")
        if self.source == "path":
            if not self.dir:
                raise ConfigError("weights.dir is required with weights=path")
            if not Path(self.dir).is_dir():
                raise ConfigError(f"weights.dir={self.dir!r}: no such directory")
        self.sha256 = _file_names(self.sha256)
        for name, digest in self.sha256.items():
            try:
                sha256_digest(digest)  # a YAML digest of digits only arrives as an int
            except (ValueError, AttributeError):
                raise ConfigError(f"weights.sha256.{name}: not a sha256 hex digest") from None


@dataclass
class AppConfig:
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    weights: WeightsConfig = field(default_factory=WeightsConfig)
    dep: DepConfig = field(default_factory=DepConfig)
    stage: str = "all"
    batch_size: int = 64
    resume: bool = True  # skip input files the output manifest records as done with this config
    cache_dir: str = field(default_factory=default_cache_dir)
    run_dir: str = "."  # set from Hydra's output directory at the edge

    def __post_init__(self) -> None:
        _choice("stage", self.stage, STAGES)
        if not 1 <= self.batch_size <= 65536:
            raise ConfigError(f"batch_size={self.batch_size} must be between 1 and 65536")
        if self.model.name != "auto" and self.task.name != "all":
            chosen = MODELS[self.model.name]
            task_models = [m.name for m in MODELS.values() if m.task == self.task.name]
            if chosen.task != self.task.name:
                raise ConfigError(
                    f"model={self.model.name} is a {chosen.task} model but task={self.task.name}; "
                    f"{self.task.name} models: {', '.join(task_models)}"
                )


# The resume key (inference/stage.py) is the sha256 of every graph a run uses (weights, opset and
# quantization are in their bytes), the provider each session got, the output schema version, and
# the values of these keys: each changes which rows are annotated, how their text is tokenized, which
# model answers a task, or the arithmetic that gives a label. An option added later that changes an
# output byte goes here; one that does not goes in NOT_OUTPUT_KEYS with the reason (a test checks
# that every key of AppConfig is in one of the three).
OUTPUT_KEYS: tuple[str, ...] = (
    "task.name",
    "model.name",
    "data.text_column",
    "data.id_column",
    "data.max_tokens",
    "data.unit",
    "data.format",  # which rows a file holds
    "runtime.decoder",  # fast and monolithic are equal to ~1e-7, not bit for bit
    "runtime.graph_optimization_level",  # fused kernels round differently
    "dep.heads",
)
# Dynamic quantization quantizes activations per graph call over all the rows of that call, so with
# quantized graphs a row's output also depends on which rows are computed with it.
QUANTIZED_OUTPUT_KEYS: tuple[str, ...] = ("batch_size", "runtime.lanes")
NOT_OUTPUT_KEYS: dict[str, str] = {
    "model.onnx": "the graph's sha256 is in the key",
    "export.opset": "the graphs' sha256 are in the key",
    "export.quantize": "the graphs' sha256 are in the key",
    "export.verify": "verification passes or stops the run; it changes no graph",
    "export.verify_rows": "verification passes or stops the run; it changes no graph",
    "export.tolerance": "verification passes or stops the run; it changes no graph",
    "weights.source": "the weights are in the graphs' sha256",
    "weights.base_url": "the weights are in the graphs' sha256",
    "weights.sha256": "pins refuse files; they change no graph",
    "weights.seed": "the weights are in the graphs' sha256",
    "weights.dir": "the weights are in the graphs' sha256",
    "runtime.providers": "the provider each session got is in the key",
    "runtime.intra_op_threads": "threads split rows, not the arithmetic of a row",
    "runtime.spin_wait": "how idle threads wait",
    "data.path": "the manifest keys each input file by its path and fingerprint",
    "data.output_dir": "where the outputs go",
    "output.format": "which files are written; a file counts as done only when all of them exist",
    "data.overwrite": "whether outputs of another configuration may be replaced",
    "data.on_bad_file": "a bad file is never recorded as done",
    "data.stale_temporary_hours": "which killed runs' temporaries are deleted",
    "stage": "which stages run",
    "resume": "whether the key is consulted",
    "cache_dir": "where exports are kept; their sha256 are in the key",
    "run_dir": "where logs and metrics go",
}


def config_value(cfg: AppConfig, key: str) -> Any:
    """The value of a dotted key, e.g. `config_value(cfg, "data.max_tokens")`."""
    return functools.reduce(getattr, key.split("."), cfg)


def output_options(cfg: AppConfig, quantized: bool) -> dict[str, Any]:
    """The option values the resume key hashes (OUTPUT_KEYS, and QUANTIZED_OUTPUT_KEYS when any graph
    of the run is quantized)."""
    keys = OUTPUT_KEYS + (QUANTIZED_OUTPUT_KEYS if quantized else ())
    return {key: config_value(cfg, key) for key in keys}


def unknown_keys(raw: Any, node: type = AppConfig, prefix: str = "") -> list[str]:
    """Keys of a composed config that `node` (a dataclass) does not declare.

    Hydra adds a `+key` override under `open_dict`, which lifts struct mode even on a typed node, and
    `OmegaConf.to_object` then sets it as a plain attribute that nothing reads: `+batchsize=32` ran
    with batch size 64. Dict fields (`weights.sha256`) take any key.
    """
    import typing

    hints = typing.get_type_hints(node)
    unknown = []
    for key in raw:
        if key not in hints:
            unknown.append(f"{prefix}{key}")
        elif dataclasses.is_dataclass(hints[key]):
            unknown += unknown_keys(raw[key], hints[key], f"{prefix}{key}.")
    return unknown


def to_app_config(raw: Any) -> AppConfig:
    """The validated AppConfig of a composed config (every `__post_init__` check runs); `ConfigError`
    for a key the schema does not declare or a value it does not allow."""
    from omegaconf import OmegaConf

    unknown = unknown_keys(raw)
    if unknown:
        from vnlp_batch.config.overrides import closest, schema_keys

        hint = closest(unknown[0], schema_keys())
        raise ConfigError(
            f"unknown key {unknown[0]!r}: nothing reads it" + (f"; did you mean {hint}?" if hint else "")
        )
    return OmegaConf.to_object(raw)


def register_configs() -> None:
    """Register the schema so that conf/*.yaml are validated against it by Hydra, and the `task` and
    `model` groups: one option per task and per declared model, made from the declarations (there is
    no conf/task or conf/model directory to keep in step with them)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="app_schema", node=AppConfig)
    for task in TASKS:
        store.store(group="task", name=task, node=TaskConfig(name=task))
    for model in MODEL_OPTIONS:
        store.store(group="model", name=model, node=ModelConfig(name=model))


def registered_groups() -> dict[str, list[str]]:
    """The options of the groups `register_configs` makes (not YAML files under conf/)."""
    return {"task": sorted(TASKS), "model": sorted(MODEL_OPTIONS)}
