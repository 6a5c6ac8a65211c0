"""What an exported ONNX file says about itself, in its `metadata_props`, and reading it back safely.

Inference takes task, labels and hyperparameters from here, never from a filename or a guess: an
ONNX file without this metadata, or whose metadata disagrees with the declaration or the config, is
refused before any work.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.labels import group_labels

SCHEMA_VERSION = 1
PREFIX = "vnlp_batch."


def known_roles() -> tuple[str, ...]:
    """Graph roles a file may have: "monolithic" (VNLP's whole model, one call per decoding step) and
    every declared family's fast graphs (its component's `graph_roles`)."""
    fast = (role for spec in MODELS.values() for role in spec.component.graph_roles)
    return ("monolithic", *dict.fromkeys(fast))


class MetadataError(ValueError):
    """An ONNX file's metadata is missing, malformed, or contradicts what it is used for."""


@dataclass(frozen=True)
class OnnxMetadata:
    schema_version: int
    task: str
    model: str
    vnlp_class: str
    vnlp_version: str
    role: str
    decoding: str
    inputs: list[str]
    output_activation: str
    output_groups: list[dict[str, Any]]  # name, start, stop, reserved_zero, labels
    hyperparameters: dict[str, Any]
    resources_sha256: dict[str, str]  # VNLP tokenizer/lexicon resource -> digest
    weights_sha256: dict[str, str]  # weight file name -> digest
    weights_provenance: dict[str, Any]  # source, url or seed, synthetic flag
    opset: int
    quantization: str
    tool_versions: dict[str, str]
    created: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.weights_provenance.get("synthetic"))

    def labels(self, group: str) -> list[str]:
        for g in self.output_groups:
            if g["name"] == group:
                return list(g["labels"])
        raise MetadataError(f"{self.model}: no output group {group!r}")

    def to_props(self) -> dict[str, str]:
        """Flat string key/values for ONNX `metadata_props` (JSON for anything that is not a string)."""
        return {
            PREFIX + key: value
            if isinstance(value, str)
            else json.dumps(value, ensure_ascii=False, sort_keys=True)
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> OnnxMetadata:
        if PREFIX + "schema_version" not in props:
            raise MetadataError(
                f"{source}: no vnlp-batch metadata (metadata_props lacks {PREFIX}schema_version); "
                "export it with `python -m vnlp_batch stage=export`"
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = props.get(PREFIX + f.name)
            if raw is None:
                if f.name == "extra":
                    continue
                raise MetadataError(f"{source}: metadata key {PREFIX}{f.name} is missing")
            if f.type == "str":
                values[f.name] = raw
            else:
                try:
                    values[f.name] = json.loads(raw)
                except json.JSONDecodeError:
                    raise MetadataError(
                        f"{source}: metadata key {PREFIX}{f.name} is not valid JSON"
                    ) from None
        meta = cls(**values)
        if meta.schema_version != SCHEMA_VERSION:
            raise MetadataError(
                f"{source}: metadata schema version {meta.schema_version}, "
                f"this vnlp-batch reads {SCHEMA_VERSION}"
            )
        roles = known_roles()
        if meta.role not in roles:
            raise MetadataError(f"{source}: unknown graph role {meta.role!r}; known: {', '.join(roles)}")
        return meta


def write_metadata(model_proto: Any, meta: OnnxMetadata) -> None:
    """Replace vnlp-batch's keys in an onnx.ModelProto's metadata_props."""
    kept = [p for p in model_proto.metadata_props if not p.key.startswith(PREFIX)]
    del model_proto.metadata_props[:]
    model_proto.metadata_props.extend(kept)
    for key, value in meta.to_props().items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(path: Path) -> OnnxMetadata:
    """Metadata of an ONNX file, checked against the model's declaration in this vnlp-batch."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, OSError, … depending on the damage
        raise MetadataError(f"{path}: not a readable ONNX file ({exc.__class__.__name__}: {exc})") from None
    meta = OnnxMetadata.from_props({p.key: p.value for p in proto.metadata_props}, str(path))
    check_against_declaration(meta, str(path))
    graph_inputs = [i.name for i in proto.graph.input]
    if graph_inputs != meta.inputs:
        raise MetadataError(f"{path}: metadata lists inputs {meta.inputs} but the graph has {graph_inputs}")
    return meta


def check_against_declaration(meta: OnnxMetadata, source: str) -> None:
    """Refuse metadata that contradicts this vnlp-batch's declaration of the same model."""
    spec = MODELS.get(meta.model)
    if spec is None:
        raise MetadataError(
            f"{source}: metadata names unknown model {meta.model!r}; known: {', '.join(MODELS)}"
        )
    if meta.task != spec.task:
        raise MetadataError(
            f"{source}: metadata says task {meta.task!r} but {meta.model} is a {spec.task} model"
        )
    if meta.role == "monolithic" and tuple(meta.inputs) != spec.inputs:
        raise MetadataError(f"{source}: inputs {meta.inputs} differ from {meta.model}'s {list(spec.inputs)}")
    expected = group_labels(spec)
    found = {g["name"]: g["labels"] for g in meta.output_groups}
    if found != expected:
        raise MetadataError(f"{source}: label vocabulary differs from VNLP's for {meta.model}")


def check_against_config(meta: OnnxMetadata, source: str, task: str, model: str) -> None:
    """Refuse a file whose task or model contradicts what the config asked for."""
    if task not in ("all", meta.task):
        raise MetadataError(f"{source} holds a {meta.task} model ({meta.model}) but task={task}")
    if model not in ("auto", meta.model):
        raise MetadataError(f"{source} holds {meta.model} but model={model}")
