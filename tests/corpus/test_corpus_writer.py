"""Atomic output files: complete under the final name after commit, nothing there otherwise."""

from __future__ import annotations

import errno
import gc
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.corpus.errors import InputError, OutputError
from vnlp_batch.corpus.writer import (
    STALE_TEMPORARY_HOURS,
    AnnotatedFileWriter,
    check_writable,
    inputs_root_for,
    output_path_for,
    remove_stale_temporaries,
    write_output_text,
)
from vnlp_batch.files import TEMPORARY, host_tag, temporary_path

SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.string())])
METADATA = {"vnlp_batch.version": "0.1.0", "vnlp_batch.config": '{"task": "ner"}'}


def text_table(rows: int) -> pa.Table:
    return pa.table({"id": range(rows), "text": [f"{i}. cümle: ğüşiöç" for i in range(rows)]}, schema=SCHEMA)


def batches(rows: int, size: int) -> list[pa.RecordBatch]:
    return text_table(rows).to_batches(max_chunksize=size)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_commit_publishes_a_complete_file_with_footer_metadata(tmp_path: Path) -> None:
    final = tmp_path / "out" / "corpus.parquet"
    with AnnotatedFileWriter(final, SCHEMA, METADATA, row_group_rows=1000) as writer:
        for batch in batches(2500, 250):
            writer.write(batch)
        assert not final.exists()
        assert writer.tmp_path.is_file()
        assert writer.tmp_path.name == f".corpus.parquet.{host_tag()}.{os.getpid()}.tmp"
        assert writer.commit() == final
    assert sorted(p.name for p in final.parent.iterdir()) == ["corpus.parquet"]

    metadata = pq.read_metadata(final)
    assert metadata.num_rows == 2500
    # Small batches are gathered into row groups of row_group_rows.
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [1000, 1000, 500]
    assert metadata.row_group(0).column(1).compression == "ZSTD"
    assert metadata.metadata[b"vnlp_batch.version"] == b"0.1.0"
    assert metadata.metadata[b"vnlp_batch.config"] == b'{"task": "ner"}'
    assert b"ARROW:schema" in metadata.metadata
    assert pq.read_schema(final).metadata[b"vnlp_batch.version"] == b"0.1.0"
    assert pq.read_table(final).equals(text_table(2500))

    assert duckdb.sql(f"select count(*) from '{final}'").fetchall() == [(2500,)]
    kv = dict(duckdb.sql(f"select key, value from parquet_kv_metadata('{final}')").fetchall())
    assert kv[b"vnlp_batch.config"] == b'{"task": "ner"}'


def test_commit_with_no_rows_writes_a_valid_empty_file(tmp_path: Path) -> None:
    final = tmp_path / "empty.parquet"
    with AnnotatedFileWriter(final, SCHEMA, METADATA) as writer:
        writer.write(pa.RecordBatch.from_pylist([], schema=SCHEMA))
        writer.commit()
    assert pq.read_table(final).schema.equals(SCHEMA)
    assert pq.read_metadata(final).num_rows == 0


def test_exception_inside_with_leaves_no_file(tmp_path: Path) -> None:
    final = tmp_path / "corpus.parquet"
    with (
        pytest.raises(RuntimeError, match="decoder failed"),
        AnnotatedFileWriter(final, SCHEMA, METADATA) as writer,
    ):
        for batch in batches(3000, 100):
            writer.write(batch)
        raise RuntimeError("decoder failed")
    assert list(tmp_path.iterdir()) == []


def test_failure_leaves_a_previous_output_untouched(tmp_path: Path) -> None:
    final = tmp_path / "corpus.parquet"
    final.write_bytes(b"previous run's output")
    with pytest.raises(KeyboardInterrupt), AnnotatedFileWriter(final, SCHEMA, METADATA) as writer:
        writer.write(batches(10, 10)[0])
        raise KeyboardInterrupt
    assert final.read_bytes() == b"previous run's output"
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.parquet"]


def test_exit_without_commit_discards_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    final = tmp_path / "corpus.parquet"
    with caplog.at_level(logging.WARNING), AnnotatedFileWriter(final, SCHEMA, METADATA) as writer:
        writer.write(batches(10, 10)[0])
    assert list(tmp_path.iterdir()) == []
    assert "without commit" in caplog.text


def test_batch_with_another_schema_is_refused(tmp_path: Path) -> None:
    final = tmp_path / "corpus.parquet"
    other = pa.record_batch({"text": ["a"], "id": pa.array([1], pa.int64())})  # columns swapped
    with AnnotatedFileWriter(final, SCHEMA, METADATA) as writer:
        with pytest.raises(ValueError, match="does not match"):
            writer.write(other)
        writer.write(batches(3, 3)[0])
        writer.commit()
    assert pq.read_metadata(final).num_rows == 3


def test_write_after_commit_is_an_error(tmp_path: Path) -> None:
    with AnnotatedFileWriter(tmp_path / "x.parquet", SCHEMA, METADATA) as writer:
        writer.commit()
        with pytest.raises(RuntimeError, match="after commit"):
            writer.write(batches(1, 1)[0])


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pyarrow as pa
    from vnlp_batch.corpus.writer import AnnotatedFileWriter

    table = pa.table({"id": pa.array(range(1000), pa.int64()), "text": ["cümle"] * 1000})
    with AnnotatedFileWriter(Path(sys.argv[1]), table.schema, {}, row_group_rows=100) as writer:
        for batch in table.to_batches(max_chunksize=100):
            writer.write(batch)
        print("written", flush=True)
        time.sleep(60)
        writer.commit()
    """
)


def test_kill_9_before_commit_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    final = tmp_path / "corpus.parquet"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(final)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not final.exists()
    leftover = temporary_path(final, child.pid)
    assert leftover.stat().st_size > 0  # the rows reached the disk, under the temporary name only

    # What the next run does first.
    assert remove_stale_temporaries(tmp_path) == [leftover]
    assert list(tmp_path.iterdir()) == []


def test_remove_stale_temporaries_spares_live_writers_and_other_files(tmp_path: Path) -> None:
    stale = temporary_path(tmp_path / "sub" / "a.parquet", dead_pid())
    live = temporary_path(tmp_path / "b.parquet", os.getpid())
    parent = temporary_path(tmp_path / "c.parquet", os.getppid())  # alive: pytest's parent process
    others = [tmp_path / ".notes.tmp", tmp_path / "a.parquet", tmp_path / ".a.parquet.x12.tmp"]
    for path in [stale, live, parent, *others]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert all(path.exists() for path in [live, parent, *others])
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_remove_stale_temporaries_can_be_limited_to_owned_outputs(tmp_path: Path) -> None:
    pid = dead_pid()
    mine, theirs = (
        temporary_path(tmp_path / "mine.parquet", pid),
        temporary_path(tmp_path / "theirs.parquet", pid),
    )
    mine.write_bytes(b"")
    theirs.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path, final_paths=[tmp_path / "mine.parquet"]) == [mine]
    assert theirs.exists()


def test_temporary_names_carry_a_dotless_host_and_the_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    assert host_tag("node-07.cluster.example.org") == "node-07_cluster_example_org"
    monkeypatch.setattr("socket.gethostname", lambda: "gpu1.hpc.local")
    tmp = temporary_path(Path("/out/part-00001.zstd.parquet"), 4242)
    assert tmp == Path("/out/.part-00001.zstd.parquet.gpu1_hpc_local.4242.tmp")
    match = TEMPORARY.match(tmp.name)
    assert match is not None
    parsed = (match["name"], match["host"], match["pid"])
    assert parsed == ("part-00001.zstd.parquet", "gpu1_hpc_local", "4242")


def age(path: Path, hours: float) -> Path:
    """Set `path`'s modification time `hours` in the past."""
    when = time.time() - hours * 3600
    os.utime(path, (when, when))
    return path


def test_remove_stale_temporaries_across_hosts(tmp_path: Path) -> None:
    """Array tasks on other nodes share the output dir: their pids mean nothing on this host."""
    gone = dead_pid()
    # Another node's writer, busy now. Its pid is not running here: judged by pid, it would go.
    other_live = temporary_path(tmp_path / "a.parquet", gone, host="node-b")
    # Another node's temporary untouched for longer than the limit: that run is long dead.
    other_old = temporary_path(tmp_path / "b.parquet", gone, host="node-b")
    # This host, its writer gone: removed at once, however young.
    mine_dead = temporary_path(tmp_path / "c.parquet", gone)
    # This host, a live process: kept while recent; once old, the pid has been reused.
    mine_live = temporary_path(tmp_path / "d.parquet", os.getppid())
    mine_live_old = temporary_path(tmp_path / "e.parquet", os.getppid())
    for path in (other_live, other_old, mine_dead, mine_live, mine_live_old):
        path.write_bytes(b"")
    age(other_live, STALE_TEMPORARY_HOURS - 1)
    age(other_old, STALE_TEMPORARY_HOURS + 1)
    age(mine_live_old, STALE_TEMPORARY_HOURS + 1)

    assert remove_stale_temporaries(tmp_path) == [other_old, mine_dead, mine_live_old]
    assert other_live.exists() and mine_live.exists()

    # The age limit is a setting (data.stale_temporary_hours).
    assert remove_stale_temporaries(tmp_path, max_age_hours=STALE_TEMPORARY_HOURS + 5) == []
    assert remove_stale_temporaries(tmp_path, max_age_hours=STALE_TEMPORARY_HOURS - 2) == [other_live]
    assert mine_live.exists()


def test_output_path_keeps_the_base_name(tmp_path: Path) -> None:
    inputs = [tmp_path / "in" / "shard-0.parquet", tmp_path / "in" / "deep" / "shard-1.parquet"]
    root = inputs_root_for(inputs)
    assert root is None
    out = tmp_path / "out"
    assert [output_path_for(f, root, out) for f in inputs] == [
        out / "shard-0.parquet",
        out / "shard-1.parquet",
    ]


def test_output_paths_of_same_named_inputs_do_not_collide(tmp_path: Path) -> None:
    inputs = [tmp_path / "in" / "2023" / "part-0.parquet", tmp_path / "in" / "2024" / "q1" / "part-0.parquet"]
    root = inputs_root_for(inputs)
    assert root == tmp_path / "in"
    out = tmp_path / "out"
    assert [output_path_for(f, root, out) for f in inputs] == [
        out / "2023" / "part-0.parquet",
        out / "2024" / "q1" / "part-0.parquet",
    ]


def test_output_path_never_overwrites_its_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="would overwrite"):
        output_path_for(tmp_path / "corpus.parquet", None, tmp_path)


# --- I/O errors name their file -------------------------------------------------------------------


def enospc(*args: object, **kwargs: object) -> None:
    """What pyarrow raises when the disk fills up under a ParquetWriter."""
    raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")


@pytest.mark.parametrize("failing", ["write_table", "close"])
def test_full_disk_while_writing_names_the_output_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    final = tmp_path / "out" / "shard-3.parquet"
    monkeypatch.setattr(pq.ParquetWriter, failing, enospc)
    with pytest.raises(OutputError) as info, AnnotatedFileWriter(final, SCHEMA, METADATA) as writer:
        for batch in batches(10, 4):
            writer.write(batch)
        writer.commit()
    monkeypatch.undo()
    message = str(info.value)
    assert message.startswith(f"{final}: cannot write: ")
    assert message.endswith("No space left on device") and "\n" not in message
    assert info.value.errno == errno.ENOSPC
    assert not final.exists() and not list(final.parent.glob(".*.tmp"))


def test_failed_rename_names_the_output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = tmp_path / "shard.parquet"

    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", cross_device)
    with (
        pytest.raises(OutputError, match=f"^{re.escape(str(final))}: cannot write: ") as info,
        AnnotatedFileWriter(final, SCHEMA, METADATA) as writer,
    ):
        writer.write(batches(3, 3)[0])
        writer.commit()
    monkeypatch.undo()
    assert info.value.errno == errno.EXDEV
    assert not final.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_really_full_disk_names_the_output_file(full_disk: Path) -> None:
    final = full_disk / "shard.parquet"
    rows = pa.table({"id": range(200), "text": [os.urandom(600).hex() for _ in range(200)]}, schema=SCHEMA)
    with (
        pytest.raises(OutputError, match=f"^{re.escape(str(final))}: cannot write: ") as info,
        AnnotatedFileWriter(final, SCHEMA, METADATA) as writer,
    ):
        for batch in rows.to_batches(max_chunksize=50):
            writer.write(batch)
        writer.commit()
    assert info.value.errno == errno.ENOSPC
    assert "No space left on device" in str(info.value)
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_a_failed_footer_is_not_written_again_when_the_writer_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow's ParquetWriter.__del__ retries a close that failed, on a file closed by then: an
    # "Exception ignored" on the user's terminal after the error that named the file.
    ignored: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: ignored.append(report.exc_value))
    with monkeypatch.context() as full:
        full.setattr(pq.ParquetWriter, "close", enospc)
        with (
            pytest.raises(OutputError),
            AnnotatedFileWriter(tmp_path / "s.parquet", SCHEMA, METADATA) as writer,
        ):
            writer.write(batches(3, 3)[0])
            writer.commit()
    del writer
    gc.collect()
    assert ignored == []


def test_write_output_text_names_its_file_on_a_full_disk(full_disk: Path) -> None:
    path = full_disk / "notes.json"
    with pytest.raises(OutputError, match=f"^{re.escape(str(path))}: cannot write: ") as info:
        write_output_text(path, "x" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


# --- the output directory is checked before any work ----------------------------------------------


def test_check_writable_creates_the_directory_and_leaves_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    check_writable(directory)
    assert directory.is_dir() and list(directory.iterdir()) == []


def test_check_writable_names_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the output directory's parent should be")
    directory = tmp_path / "taken" / "out"
    expected = f"^{re.escape(str(directory))}: output directory is not writable: "
    with pytest.raises(OutputError, match=expected):
        check_writable(directory)


def test_check_writable_names_a_directory_where_no_file_can_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if Path(os.fsdecode(path)).parent == tmp_path:  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match=f"^{re.escape(str(tmp_path))}: output directory is not writable: "):
        check_writable(tmp_path)


def test_check_writable_refuses_a_read_only_mount_even_as_root(tmpfs: Callable[..., Path]) -> None:
    directory = tmpfs("ro", read_only=True)
    with pytest.raises(OutputError, match="Read-only file system") as info:
        check_writable(directory)
    assert str(info.value).startswith(f"{directory}: output directory is not writable: ")
    with pytest.raises(OutputError, match="Read-only file system"):
        check_writable(directory / "sub")  # a directory still to be made there


def test_check_writable_refuses_an_immutable_directory_even_as_root(tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(OutputError, match=f"^{re.escape(str(directory))}: output directory is not"):
            check_writable(directory)
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
