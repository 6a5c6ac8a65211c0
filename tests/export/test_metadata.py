"""ONNX metadata: written, read back typed, and refused when missing or contradictory."""

from __future__ import annotations

import dataclasses
import json

import onnx
import pytest

from vnlp_batch.export.metadata import (
    PREFIX,
    MetadataError,
    check_against_config,
    read_metadata,
    write_metadata,
)


@pytest.fixture
def pos_file(exports):
    return exports.models["spucontext_pos"].graphs["monolithic"]


def _rewrite(src, dst, change):
    proto = onnx.load(str(src))
    change(proto)
    onnx.save(proto, str(dst))
    return dst


def test_round_trip_is_typed(pos_file) -> None:
    meta = read_metadata(pos_file)
    assert meta.labels("pos")[1] == "NOUN" and isinstance(meta.hyperparameters["TOKEN_PIECE_MAX_LEN"], int)
    assert meta.decoding == "autoregressive"


def test_file_without_metadata_is_refused(pos_file, tmp_path) -> None:
    bare = _rewrite(pos_file, tmp_path / "bare.onnx", lambda p: p.metadata_props.__delitem__(slice(None)))
    with pytest.raises(MetadataError, match="no vnlp-batch metadata"):
        read_metadata(bare)


def test_contradicting_labels_are_refused(pos_file, tmp_path) -> None:
    meta = read_metadata(pos_file)
    groups = json.loads(json.dumps(meta.output_groups))
    groups[0]["labels"][1] = "VERB"
    bad = dataclasses.replace(meta, output_groups=groups)
    path = _rewrite(pos_file, tmp_path / "bad.onnx", lambda p: write_metadata(p, bad))
    with pytest.raises(MetadataError, match="label vocabulary differs"):
        read_metadata(path)


def test_contradicting_task_is_refused(pos_file, tmp_path) -> None:
    bad = dataclasses.replace(read_metadata(pos_file), task="ner")
    path = _rewrite(pos_file, tmp_path / "bad.onnx", lambda p: write_metadata(p, bad))
    with pytest.raises(MetadataError, match="task 'ner'"):
        read_metadata(path)


def test_missing_key_and_unknown_schema_are_refused(pos_file, tmp_path) -> None:
    def drop_opset(proto):
        keep = [p for p in proto.metadata_props if p.key != PREFIX + "opset"]
        del proto.metadata_props[:]
        proto.metadata_props.extend(keep)

    with pytest.raises(MetadataError, match="opset is missing"):
        read_metadata(_rewrite(pos_file, tmp_path / "a.onnx", drop_opset))
    future = dataclasses.replace(read_metadata(pos_file), schema_version=99)
    with pytest.raises(MetadataError, match="schema version 99"):
        read_metadata(_rewrite(pos_file, tmp_path / "b.onnx", lambda p: write_metadata(p, future)))


def test_not_an_onnx_file(tmp_path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a protobuf at all" * 10)
    with pytest.raises(MetadataError, match=r"junk\.onnx"):
        read_metadata(junk)


def test_config_contradiction(pos_file) -> None:
    meta = read_metadata(pos_file)
    check_against_config(meta, "f.onnx", "pos", "auto")
    check_against_config(meta, "f.onnx", "all", "spucontext_pos")
    with pytest.raises(MetadataError, match="task=ner"):
        check_against_config(meta, "f.onnx", "ner", "auto")
    with pytest.raises(MetadataError, match="model=treestack_pos"):
        check_against_config(meta, "f.onnx", "pos", "treestack_pos")
