"""The resume manifest: a file is done only with the same fingerprint, config and an existing output."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from vnlp_batch.corpus.errors import OutputError
from vnlp_batch.corpus.manifest import MANIFEST_NAME, Manifest, config_hash
from vnlp_batch.corpus.reader import file_fingerprint

WriteParquet = Callable[..., Path]
CONFIG = config_hash({"task": "ner", "model": "spucontext_ner", "opset": 13})


@pytest.fixture
def finished(tmp_path: Path, write_parquet: WriteParquet) -> tuple[Path, Path, Manifest]:
    """An input file recorded as done in the manifest of `tmp_path/out`, with its output present."""
    input_file = write_parquet("corpus.parquet")
    output = tmp_path / "out" / "corpus.parquet"
    output.parent.mkdir()
    output.write_bytes(b"annotated")
    manifest = Manifest.load(tmp_path / "out")
    assert not manifest.is_done(input_file, file_fingerprint(input_file), CONFIG)
    manifest.mark_done(input_file, file_fingerprint(input_file), CONFIG, output, 100, {"ok": 98, "empty": 2})
    return input_file, output, manifest


def test_done_after_mark_done_and_after_reloading(finished: tuple[Path, Path, Manifest]) -> None:
    input_file, output, manifest = finished
    fingerprint = file_fingerprint(input_file)
    assert manifest.is_done(input_file, fingerprint, CONFIG)
    reloaded = Manifest.load(output.parent)
    assert reloaded.is_done(input_file, fingerprint, CONFIG)
    entry = reloaded.entries[str(input_file)]
    assert entry["rows"] == 100 and entry["status_counts"] == {"ok": 98, "empty": 2}
    assert entry["output"] == "corpus.parquet"  # relative: the output dir may move
    assert reloaded.output_of(input_file) == output


def test_touched_input_is_not_done(finished: tuple[Path, Path, Manifest]) -> None:
    input_file, _, manifest = finished
    stat = os.stat(input_file)
    os.utime(input_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert not manifest.is_done(input_file, file_fingerprint(input_file), CONFIG)


def test_other_config_is_not_done(finished: tuple[Path, Path, Manifest]) -> None:
    input_file, _, manifest = finished
    other = config_hash({"task": "ner", "model": "spucontext_ner", "opset": 14})
    assert not manifest.is_done(input_file, file_fingerprint(input_file), other)


def test_deleted_output_is_not_done(finished: tuple[Path, Path, Manifest]) -> None:
    input_file, output, manifest = finished
    output.unlink()
    assert not manifest.is_done(input_file, file_fingerprint(input_file), CONFIG)


def test_moved_output_dir_still_resumes(finished: tuple[Path, Path, Manifest], tmp_path: Path) -> None:
    input_file, output, _ = finished
    moved = output.parent.rename(tmp_path / "moved")
    assert Manifest.load(moved).is_done(input_file, file_fingerprint(input_file), CONFIG)


def test_forget_all_is_persistent(finished: tuple[Path, Path, Manifest]) -> None:
    input_file, output, manifest = finished
    manifest.forget_all()
    assert not manifest.is_done(input_file, file_fingerprint(input_file), CONFIG)
    assert not Manifest.load(output.parent).is_done(input_file, file_fingerprint(input_file), CONFIG)


def test_runs_sharing_an_output_dir_keep_each_others_entries(
    tmp_path: Path, write_parquet: WriteParquet
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    first, second = Manifest.load(out), Manifest.load(out)  # two array tasks, loaded before either wrote
    files = [write_parquet(f"shard-{i}.parquet") for i in range(2)]
    for manifest, input_file in zip([first, second], files, strict=True):
        output = out / input_file.name
        output.write_bytes(b"x")
        manifest.mark_done(input_file, file_fingerprint(input_file), CONFIG, output, 100, {"ok": 100})
    reloaded = Manifest.load(out)
    assert all(reloaded.is_done(f, file_fingerprint(f), CONFIG) for f in files)


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_the_old_manifest(
    finished: tuple[Path, Path, Manifest], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    input_file, output, manifest = finished
    path = output.parent / MANIFEST_NAME
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(f"simulated crash in os.{failing}")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="simulated crash"):
        manifest.mark_done(output.parent / "other.parquet", {"size": 1}, CONFIG, output, 1, {})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in output.parent.iterdir()) == [
        ".manifest.json.lock",
        "corpus.parquet",
        MANIFEST_NAME,
    ]
    assert Manifest.load(output.parent).is_done(input_file, file_fingerprint(input_file), CONFIG)


def test_unreadable_manifest_means_start_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / MANIFEST_NAME).write_text('{"format": 1, "files": {"/a.parq')
    with caplog.at_level(logging.WARNING):
        assert Manifest.load(tmp_path).entries == {}
    assert "processed again" in caplog.text
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"format": 99, "files": {}}))
    assert Manifest.load(tmp_path).entries == {}


def test_config_hash_is_canonical() -> None:
    config = {"task": "ner", "models": ("spucontext_ner",), "export": {"opset": 13, "quantize": "none"}}
    reordered = {"export": {"quantize": "none", "opset": 13}, "models": ["spucontext_ner"], "task": "ner"}
    digest = config_hash(config)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert config_hash(reordered) == digest
    assert config_hash({**config, "export": {"opset": 14, "quantize": "none"}}) != digest
    assert config_hash({"weights": Path("/w")}) == config_hash({"weights": "/w"})
    with pytest.raises(TypeError, match="set"):
        config_hash({"models": {"a", "b"}})


def test_full_disk_while_writing_the_manifest_names_it(
    finished: tuple[Path, Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, output, manifest = finished

    def no_space(fd: int) -> None:  # where network filesystems report a full disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OutputError) as info:
        manifest.mark_done(output.parent / "other.parquet", {"size": 1}, CONFIG, output, 1, {})
    monkeypatch.undo()
    assert str(info.value) == f"{output.parent / MANIFEST_NAME}: cannot write: No space left on device"
    assert info.value.errno == errno.ENOSPC


def test_a_really_full_disk_names_the_manifest(full_disk: Path, write_parquet: WriteParquet) -> None:
    input_file = write_parquet("corpus.parquet")
    manifest = Manifest.load(full_disk)
    with pytest.raises(OutputError, match=f"^{re.escape(str(full_disk / MANIFEST_NAME))}: cannot write: "):
        manifest.mark_done(input_file, file_fingerprint(input_file), CONFIG, full_disk / "x.parquet", 1, {})
