"""What a run finds out before it loads a model: where its outputs go, whether its inputs and output
directory are usable, whether it would replace files made with another configuration, and whether
there is anything left to do at all.

Everything here is cheap (file footers, the manifest, the export cache's records, sha256 of files)
and imports neither TensorFlow nor onnxruntime: a user's mistake is one line before any model loads,
and a rerun whose every input file is done ends in a second or two.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from vnlp_batch.config.schema import AppConfig, ExportConfig
from vnlp_batch.corpus.discover import GLOB_CHARS, SAMPLE, discover_inputs
from vnlp_batch.corpus.errors import BadFileError, OutputConflictError, SchemaError
from vnlp_batch.corpus.manifest import Manifest
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.planning import plan_for
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.resume import as_recorded, describe, differences, made_with, made_with_of_file, resume_key

log = logging.getLogger("vnlp_batch")

# Relative to the current directory, like Hydra's run directories (outputs/runs/...).
DEFAULT_OUTPUT_ROOT = Path("outputs") / "annotated"


# --- where outputs go ------------------------------------------------------------------------------


def input_label(path: str) -> str:
    """A readable name for `data.path`: the file's stem or the directory's name; for a glob, the last
    part before its wildcards (`/data/news/shard-*.parquet` → `shard`, `/data/news/*.parquet` → `news`)."""
    if path == SAMPLE:
        return SAMPLE
    for part in reversed(Path(os.path.expanduser(path)).parts):
        cut = next((i for i, c in enumerate(part) if c in GLOB_CHARS), len(part))
        stem = part[:cut] if cut < len(part) else part.split(".")[0] or part
        stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")
        if stem:
            return stem[:40]
    return "input"


def plan_label(cfg: AppConfig) -> str:
    """The task and, when not the task's default, the model: `all`, `pos-treestack_pos`."""
    parts = [cfg.task.name]
    if cfg.model.name != "auto":
        parts.append(cfg.model.name)
    if cfg.model.onnx:
        parts.append("onnx-" + _short_hash(os.path.abspath(cfg.model.onnx)))
    return "-".join(parts)


def default_output_dir(cfg: AppConfig) -> Path:
    """`outputs/annotated/<input>-<hash>/<plan>` under the current directory: the same for the same
    input and task, so the same command resumes; the hash of the input's absolute path keeps two
    corpora of the same name apart."""
    path = cfg.data.path
    identity = path if path == SAMPLE else os.path.abspath(os.path.expanduser(path))
    name = f"{input_label(path)}-{_short_hash(identity)}"
    return Path(os.path.abspath(DEFAULT_OUTPUT_ROOT / name / plan_label(cfg)))


def output_dir_for(cfg: AppConfig) -> Path:
    """Where annotated files go: `data.output_dir` (a relative one is relative to the current
    directory), or `default_output_dir` when it is null."""
    if cfg.data.output_dir is None:
        return default_output_dir(cfg)
    return Path(os.path.abspath(os.path.expanduser(cfg.data.output_dir)))


def inputs_for(cfg: AppConfig) -> list[Path]:
    """The input files in processing order (never any under the output directory; of `data.format`
    when it is set)."""
    return discover_inputs(cfg.data.path, exclude_dir=output_dir_for(cfg), format=cfg.data.format)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


# --- which model answers which task ----------------------------------------------------------------


def planned_models(task: str, model: str) -> dict[str, str]:
    """{task: model} of a run (`models.planning.plan_for`), for the manifest and the checks."""
    plan = plan_for(task, model)
    return {t: name for t in plan.tasks if (name := plan.model_for(t))}


# --- inputs ----------------------------------------------------------------------------------------


def check_input_file(
    cfg: AppConfig, file: Path, tasks: Iterable[str], charner: bool
) -> tuple[dict, pa.Schema]:
    """`file`'s fingerprint and schema once it is known to be readable (in `data.format`, or the format
    its name says), with a string text column (and the id column) and no column named like an added one.

    Raises `BadFileError` for a file that cannot be read (or whose text column is not a string), a
    `SchemaError` naming the file otherwise, and `InputError` for a format this tool does not read.
    """
    from vnlp_batch.corpus import formats
    from vnlp_batch.corpus.schema import output_schema

    data = cfg.data
    formats.check_readable(file, data.format)
    fingerprint = formats.file_fingerprint(file, data.format)
    schema = formats.check_text_column(file, data.text_column, data.id_column, data.format)
    try:
        output_schema(schema, list(tasks), charner=charner, spans=True)
    except SchemaError as exc:
        raise SchemaError(f"{file}: {exc}") from exc
    return fingerprint, schema


def _own_tokens(models: Mapping[str, str]) -> bool:
    return any(MODELS[name].component.own_tokens for name in models.values())


# --- the checks before any work --------------------------------------------------------------------


@dataclass
class Preflight:
    """A run's inputs and output directory, checked."""

    output_dir: Path
    inputs: list[Path]
    checked: dict[Path, tuple[dict, pa.Schema]]  # readable inputs: fingerprint, schema
    targets: dict[Path, list[Path]]  # input → its output files, one per output.format, in that order
    made_with: dict[str, Any]
    bad_files: dict[str, str] = field(default_factory=dict)  # skipped (data.on_bad_file=skip)


def check_run(cfg: AppConfig, models: Mapping[str, str]) -> Preflight:
    """Check the inputs (they exist, can be read, have the columns), the output directory (writable,
    no files of another configuration) of a run whose plan is `models` ({task: model}).

    Raises `InputError` (a `BadFileError` only with `data.on_bad_file=fail`), `OutputError` or
    `OutputConflictError`, each one line naming the file, the setting or the directory.
    """
    from vnlp_batch.corpus.writer import check_writable, inputs_root_for, output_paths_for

    output_dir = output_dir_for(cfg)
    inputs = inputs_for(cfg)
    checked: dict[Path, tuple[dict, pa.Schema]] = {}
    bad_files: dict[str, str] = {}
    for file in inputs:
        try:
            checked[file] = check_input_file(cfg, file, models, charner=_own_tokens(models))
        except BadFileError as exc:
            if cfg.data.on_bad_file == "fail":
                raise
            bad_files[str(file)] = str(exc)
    root = inputs_root_for(inputs)
    targets = {file: output_paths_for(file, root, output_dir, cfg.output.format) for file in inputs}
    check_writable(output_dir)
    mine = made_with(asdict(cfg), models)
    if not cfg.data.overwrite:
        every = [path for paths in targets.values() for path in paths]
        refuse_other_configurations(Manifest.load(output_dir), every, mine)
    return Preflight(output_dir, inputs, checked, targets, mine, bad_files)


def refuse_other_configurations(manifest: Manifest, targets: Iterable[Path], mine: Mapping[str, Any]) -> None:
    """Raise `OutputConflictError` if the output directory holds a file made with a configuration other
    than `mine`: one the manifest records, or one of this run's `targets` it does not."""
    others: dict[Path, dict[str, Any] | None] = {}
    recorded: set[Path] = set()
    for entry in manifest.entries.values():
        for output in manifest.outputs_of(entry):
            recorded.add(output)
            if not output.is_file():
                continue
            theirs = as_recorded(entry["made_with"] if "made_with" in entry else made_with_of_file(output))
            if theirs != mine:
                others[output] = theirs
    for target in targets:
        # A CoNLL-U or JSON Lines file cannot say how it was made; unrecorded, it was left by a run
        # killed between writing it and recording it (see inference/stage.py: Parquet is written last).
        if target not in recorded and target.is_file() and target.suffix == ".parquet":
            theirs = as_recorded(made_with_of_file(target))
            if theirs != mine:
                others[target] = theirs
    if others:
        first, theirs = next(iter(others.items()))
        count = f"{len(others)} file{'s' if len(others) > 1 else ''}"
        raise OutputConflictError(
            f"{manifest.output_dir} holds {count} made with another configuration (e.g. {first.name}: "
            f"{describe(theirs)}; this run: {differences(theirs, mine)}); choose another "
            "data.output_dir, or data.overwrite=true to replace them"
        )


# --- is there anything to do? ----------------------------------------------------------------------


def graph_roles(spec: ModelSpec, roles: Iterable[str], decoder: str) -> list[str]:
    """The graphs of an export that a run decodes with: what `LoadedModel.load` loads (its
    component's `roles_to_load`)."""
    return spec.component.roles_to_load(list(roles), decoder)


def cached_export(
    spec: ModelSpec, weights: Any, export: ExportConfig, cache_dir: Path
) -> dict[str, Any] | None:
    """The export cache's record of `spec` for these weights and export settings (`graphs`: role →
    file, `reports`), found as the export stage finds it, without building anything; None if absent."""
    from vnlp_batch.export import cache

    key = cache.cache_key(spec.name, weights.fingerprint(spec), export.opset, export.quantize)
    directory = cache.export_dir(cache_dir, spec.name, key)
    try:
        record = json.loads((directory / "export.json").read_text())
        graphs = {role: directory / name for role, name in record["graphs"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(path.is_file() for path in graphs.values()):
        return None
    return {"graphs": graphs, "reports": record.get("reports", [])}


def expected_resume_key(
    cfg: AppConfig,
    specs: Iterable[ModelSpec],
    weights: Any,
    given: Mapping[str, tuple[Path, Any]],
    cache_dir: Path,
) -> str | None:
    """The resume key the stage will compute once its sessions are loaded, from the export cache and
    the providers sessions will be asked for; None when an export is not cached yet."""
    from vnlp_batch.files import sha256_file
    from vnlp_batch.runtime.sessions import session_providers

    graphs: dict[str, dict[str, str]] = {}
    quantized = False
    for spec in specs:
        record = cached_export(spec, weights, cfg.export, cache_dir)
        if record is None:
            return None
        roles = graph_roles(spec, record["graphs"], cfg.runtime.decoder)
        quantization = {r.get("role"): r.get("quantization", "none") for r in record["reports"]}
        quantized |= any(quantization.get(role, "none") != "none" for role in roles)
        graphs[spec.name] = {role: sha256_file(record["graphs"][role]) for role in roles}
    for name, (path, metadata) in given.items():
        graphs[name] = {"monolithic": sha256_file(path)}
        quantized |= metadata.quantization != "none"
    provider = session_providers(cfg.runtime)[0]
    return resume_key(cfg, graphs, {name: provider for name in graphs}, quantized)


def done_files(cfg: AppConfig, checked: Preflight, key: str) -> list[Path]:
    """The readable inputs the manifest records as done with resume key `key` (all of them when
    nothing is left to do)."""
    if not cfg.resume:
        return []
    manifest = Manifest.load(checked.output_dir)
    return [
        file
        for file, (fingerprint, _) in checked.checked.items()
        if manifest.is_done(file, fingerprint, key, *_primary_and_others(checked.targets[file]))
    ]


def _primary_and_others(targets: list[Path]) -> tuple[Path, list[Path]]:
    return targets[0], targets[1:]
