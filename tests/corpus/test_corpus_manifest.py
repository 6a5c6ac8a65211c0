"""The resume manifest: a file is done only with the same fingerprint, config and an existing output."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from vnlp_batch.corpus.errors import OutputError
from vnlp_batch.corpus.manifest import MANIFEST_NAME, Manifest, config_hash, input_key
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


def link(path: Path, target: Path) -> Path:
    """A symlink at `path` to `target` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def test_a_shard_is_the_same_whichever_link_directory_it_comes_through(
    tmp_path: Path, write_parquet: WriteParquet
) -> None:
    """jobs/: array task k links its shards into links/<job>/task-k; the tasks change between runs."""
    shard = write_parquet("shards/part-3.parquet")
    out = tmp_path / "out"
    output = out / "part-3.parquet"
    output.parent.mkdir()
    output.write_bytes(b"annotated")
    first_run = link(tmp_path / "links" / "101" / "task-0" / shard.name, shard)
    next_run = link(tmp_path / "links" / "102" / "task-2" / shard.name, shard)
    Manifest.load(out).mark_done(first_run, file_fingerprint(first_run), CONFIG, output, 100, {"ok": 100})

    manifest = Manifest.load(out)
    assert list(manifest.entries) == [str(shard)]
    assert manifest.is_done(next_run, file_fingerprint(next_run), CONFIG, output)
    assert manifest.is_done(shard, file_fingerprint(shard), CONFIG, output)  # a plain local run, too
    # The fingerprint is the shard's own (stat follows the link): a rewritten shard is not done.
    write_parquet("shards/part-3.parquet", rows=101)
    assert not manifest.is_done(next_run, file_fingerprint(next_run), CONFIG, output)


def test_a_link_under_another_name_has_an_entry_of_its_own(
    tmp_path: Path, write_parquet: WriteParquet
) -> None:
    shard = write_parquet("in/2024-05.parquet")
    alias = link(tmp_path / "in" / "latest.parquet", shard)
    out = tmp_path / "out"
    out.mkdir()
    for input_file in (shard, alias):
        output = out / input_file.name
        output.write_bytes(b"annotated")
        Manifest.load(out).mark_done(input_file, file_fingerprint(input_file), CONFIG, output, 100, {})
    manifest = Manifest.load(out)
    assert sorted(manifest.entries) == [str(shard), str(alias)]
    for input_file in (shard, alias):
        assert manifest.is_done(input_file, file_fingerprint(input_file), CONFIG, out / input_file.name)
        assert manifest.output_of(input_file) == out / input_file.name
    # An input is not done when its recorded output is another file than the one it would write.
    assert not manifest.is_done(shard, file_fingerprint(shard), CONFIG, out / "latest.parquet")


def test_input_key_resolves_links_that_keep_the_name_and_stops_at_a_rename(tmp_path: Path) -> None:
    store = tmp_path / "store" / "blob-9f2c"
    store.parent.mkdir()
    store.write_bytes(b"")
    shard = link(tmp_path / "corpus" / "part-1.parquet", store)  # a shard kept in a content store
    task_link = link(tmp_path / "links" / "task-0" / "part-1.parquet", shard)
    via_dir_link = link(tmp_path / "corpus-latest", tmp_path / "corpus") / "part-1.parquet"
    assert input_key(task_link) == input_key(via_dir_link) == input_key(shard) == str(shard)
    loop = link(tmp_path / "loop" / "x.parquet", tmp_path / "loop" / "x.parquet")
    assert input_key(loop) == str(loop)


def test_entries_recorded_under_the_link_path_still_count(
    tmp_path: Path, write_parquet: WriteParquet
) -> None:
    """Manifests written before entries were keyed by the linked file resume, and move to the new key."""
    shard = write_parquet("shards/part-0.parquet")
    task_link = link(tmp_path / "links" / "task-0" / shard.name, shard)
    out = tmp_path / "out"
    out.mkdir()
    (out / shard.name).write_bytes(b"annotated")
    fingerprint = file_fingerprint(task_link)
    entry = {"fingerprint": fingerprint, "config_hash": CONFIG, "output": shard.name, "rows": 100}
    (out / MANIFEST_NAME).write_text(json.dumps({"format": 1, "files": {str(task_link): entry}}))

    manifest = Manifest.load(out)
    assert manifest.is_done(task_link, fingerprint, CONFIG, out / shard.name)
    manifest.mark_done(task_link, fingerprint, CONFIG, out / shard.name, 100, {"ok": 100})
    assert list(Manifest.load(out).entries) == [str(shard)]


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
    # The canonical form, written out: sorted keys, no whitespace, lists for tuples, UTF-8.
    canonical = '{"export":{"opset":13,"quantize":"none"},"models":["spucontext_ner"],"task":"ner"}'
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()
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
