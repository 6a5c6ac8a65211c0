"""What a finished output file was made with, at two levels.

- `resume_key`: a sha256 over everything that changes an output byte — the sha256 of every graph the
  run uses (so weights, opset, quantization and tool versions), the provider each session runs on,
  the output schema version and the options of `OUTPUT_KEYS`. A file recorded with another key is
  annotated again. The stage computes it from its loaded sessions, the preflight from the export
  cache and `runtime.sessions.session_providers` before any session exists: the same function over
  the same facts.
- `made_with`: the configuration as a user sets it — task, the model answering each task, the output
  options, the weights, the export settings. An output directory holding files made with another
  configuration is refused rather than overwritten (`data.overwrite=true` allows it); a file whose key
  changed only because the graphs were exported again, the provider changed or vnlp-batch was updated
  is simply redone.

`made_with` reads the config in its `dataclasses.asdict` form, which is also what every output file's
metadata holds (`vnlp_batch.config`), so that files recorded before the manifest kept it are read the
same way. An output option added to vnlp-batch after a file was made is absent from its record: the
file was made as the option's default makes it (`as_recorded`), so updating vnlp-batch alone never
makes an output directory another configuration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vnlp_batch.config.schema import (
    OUTPUT_KEYS,
    QUANTIZED_OUTPUT_KEYS,
    AppConfig,
    config_value,
    output_options,
)
from vnlp_batch.corpus.manifest import config_hash
from vnlp_batch.corpus.schema import OUTPUT_SCHEMA_VERSION


def resume_key(
    cfg: AppConfig, graphs: Mapping[str, Mapping[str, str]], providers: Mapping[str, str], quantized: bool
) -> str:
    """The resume key of a run whose models use `graphs` ({model: {role: sha256}}) on `providers`
    ({model: provider}); `quantized` when any of those graphs is."""
    return config_hash(
        {
            "output_schema": OUTPUT_SCHEMA_VERSION,
            "options": output_options(cfg, quantized),
            "graphs": {name: dict(roles) for name, roles in graphs.items()},
            "providers": dict(providers),
        }
    )


def made_with(config: Mapping[str, Any], models: Mapping[str, str]) -> dict[str, Any]:
    """The configuration of `config` (an AppConfig as `dataclasses.asdict` gives it) whose plan is
    `models` ({task: model})."""

    def value(key: str) -> Any:
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return node

    def present(key: str) -> bool:
        node: Any = config
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return False
            node = node[part]
        return True

    weights = config.get("weights") or {}
    source = weights.get("source")
    identity: dict[str, Any] = {"source": source}
    # VNLP's files are VNLP's from any mirror (weights.base_url): should a mirror serve other bytes,
    # the graphs' sha256 in the resume key has the file redone.
    if source == "synthetic":
        identity["seed"] = weights.get("seed")
    elif source == "path":
        identity["dir"] = os.path.abspath(weights.get("dir") or "")
    quantize = value("export.quantize")
    keys = OUTPUT_KEYS + (QUANTIZED_OUTPUT_KEYS if quantize not in (None, "none") else ())
    onnx = value("model.onnx")
    return {
        "task": value("task.name"),
        "models": dict(models),
        "options": {k: value(k) for k in keys if k not in ("task.name", "model.name") and present(k)},
        "weights": identity,
        "export": {"opset": value("export.opset"), "quantize": quantize},
        "onnx": None if onnx is None else os.path.abspath(onnx),
    }


def as_recorded(configuration: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`configuration` (a `made_with`, of any vnlp-batch version) with each output option it does not
    record at the option's default: the option did not exist yet, and its default is what was done."""
    if configuration is None:
        return None
    options, defaults = dict(configuration.get("options") or {}), AppConfig()
    for key in OUTPUT_KEYS:
        if key not in ("task.name", "model.name"):
            options.setdefault(key, config_value(defaults, key))
    return {**configuration, "options": options}


def made_with_of_file(path: Path) -> dict[str, Any] | None:
    """`made_with` of an annotated Parquet file, from its metadata; None if it has none (a file that
    vnlp-batch did not write) or cannot be read."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        config = json.loads(metadata[b"vnlp_batch.config"])
        models = json.loads(metadata[b"vnlp_batch.models"])
    except (OSError, KeyError, ValueError, TypeError):  # pyarrow's ArrowInvalid is a ValueError
        return None
    return made_with(config, models)


def describe(configuration: Mapping[str, Any] | None) -> str:
    """A configuration in a few words: `task pos (pos: spucontext_pos), weights synthetic seed 0`."""
    if configuration is None:
        return "not written by vnlp-batch"
    models = ", ".join(f"{t}: {m}" for t, m in configuration.get("models", {}).items())
    weights = dict(configuration.get("weights") or {})
    source = weights.pop("source", None)
    details = "".join(f" {k} {v}" for k, v in sorted(weights.items()))
    return f"task {configuration.get('task')} ({models}), weights {source}{details}"


def differences(theirs: Mapping[str, Any] | None, mine: Mapping[str, Any]) -> str:
    """What `mine` changes from `theirs`, as `key: theirs → mine` items."""
    if theirs is None:
        return "not written by vnlp-batch"
    flat_theirs, flat_mine = _flat(theirs), _flat(mine)
    changed = [
        f"{key}: {_show(flat_theirs.get(key))} → {_show(flat_mine.get(key))}"
        for key in sorted(set(flat_theirs) | set(flat_mine))
        if flat_theirs.get(key) != flat_mine.get(key)
    ]
    return "; ".join(changed)


def _flat(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}" if prefix != "options." else key  # options are dotted keys already
        if isinstance(value, Mapping) and key != "models":
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    return str(value)
