"""Atomic output files: one Parquet file per input, visible under its final name only once complete.

A file is written as `.<name>.<host>.<pid>.tmp` in its final directory, then fsynced and renamed over
the final name (`os.replace` is atomic within a filesystem). A failed run deletes its temporary; a
killed one cannot, so the next run calls `remove_stale_temporaries` before writing. The host is in the
name because several hosts may write into one output directory (Slurm array tasks on a shared
filesystem) and a process can only tell whether a writer is alive on its own host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from vnlp_batch.corpus.errors import InputError, OutputError
from vnlp_batch.corpus.outputs.names import output_name
from vnlp_batch.files import TEMPORARY, AtomicFile, atomic_write_text, host_tag, temporary_path

log = logging.getLogger(__name__)

# Parquet readers work best with row groups of thousands of rows; ParquetWriter.write_batch would
# make one row group per (possibly tiny) batch, so batches are buffered up to these limits.
ROW_GROUP_ROWS = 8192
ROW_GROUP_BYTES = 64 * 2**20  # caps the buffer when rows are long documents
COMPRESSION = "zstd"
# Another host's temporary is removed only once unchanged for this long, as its writer cannot be
# checked from here. A file unchanged for 24 h was created at least 24 h ago, and 24 h is the time
# limit jobs/annotate_shards.sbatch asks for: by then Slurm has ended its writer.
STALE_TEMPORARY_HOURS = 24.0


def write_output_text(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` all at once (`files.atomic_write_text`): a crash leaves
    either the old or the new file. Raises `OutputError` naming `path` if it cannot be written."""
    with _naming(Path(path)):
        atomic_write_text(Path(path), text)


class AnnotatedFileWriter(AtomicFile):
    """Context manager writing one Parquet file that appears under `final_path` only on `commit()`.

    `file_metadata` goes into the footer's key/value metadata, together with `schema` (and its own
    metadata). Leaving the `with` block without `commit()`, or with an exception, deletes the
    temporary file and leaves `final_path` untouched (`files.AtomicFile`). I/O errors raise
    `OutputError` naming `final_path`.
    """

    def __init__(
        self,
        final_path: Path,
        schema: pa.Schema,
        file_metadata: dict[str, str],
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        row_group_bytes: int = ROW_GROUP_BYTES,
    ) -> None:
        super().__init__(final_path, "wb")
        self.schema = schema.with_metadata({**(schema.metadata or {}), **_encode(file_metadata)})
        self.rows_written = 0
        self._row_group_rows = row_group_rows
        self._row_group_bytes = row_group_bytes
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self._buffered_bytes = 0
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> AnnotatedFileWriter:
        with _naming(self.final_path):
            super().__enter__()
            try:
                self._writer = pq.ParquetWriter(self.handle, self.schema, compression=COMPRESSION)
            except BaseException as error:  # __exit__ does not run when __enter__ raises
                super().__exit__(type(error), error, error.__traceback__)
                raise
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        """Append `batch`, whose columns (names, types, order) must be the writer's schema's."""
        if self._writer is None or self._committed:
            raise RuntimeError(
                f"{self.final_path}: write() outside the writer's `with` block or after commit()"
            )
        if not batch.schema.equals(self.schema, check_metadata=False):
            raise ValueError(
                f"{self.final_path}: batch schema does not match the output schema\n"
                f"batch:  {_one_line(batch.schema)}\noutput: {_one_line(self.schema)}"
            )
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        self._buffered_bytes += batch.nbytes
        if self._buffered_rows >= self._row_group_rows or self._buffered_bytes >= self._row_group_bytes:
            self._flush()

    def commit(self) -> Path:
        """Finish the file, flush it to disk and move it to its final name, which is returned."""
        if self._writer is None or self._committed:
            raise RuntimeError(f"{self.final_path}: commit() outside the writer's `with` block or twice")
        self._flush()
        with _naming(self.final_path):
            self._close_writer()  # the footer; the file itself stays open for `AtomicFile.commit`
            return super().commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the original exception is the one to report
                self._close_writer()
        super().__exit__(exc_type, exc, tb)

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        assert writer is not None
        try:
            writer.close()
        finally:
            # A failed close leaves pyarrow's writer open, and its __del__ would try again on a file
            # closed by then: an "Exception ignored" long after the error that named the file.
            writer.is_open = False

    def _flush(self) -> None:
        """Write the buffered batches as one row group."""
        if not self._buffer:
            return
        assert self._writer is not None
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        with _naming(self.final_path):
            self._writer.write_table(table, row_group_size=max(self._buffered_rows, 1))
        self.rows_written += self._buffered_rows
        self._buffer, self._buffered_rows, self._buffered_bytes = [], 0, 0


def remove_stale_temporaries(
    output_dir: Path,
    final_paths: Iterable[Path] | None = None,
    *,
    max_age_hours: float = STALE_TEMPORARY_HOURS,
) -> list[Path]:
    """Delete the temporaries (`.<name>.<host>.<pid>.tmp`) that killed runs left under `output_dir`;
    return them.

    Removed: this host's temporaries whose process is gone, and any host's not modified for
    `max_age_hours`. Kept: this host's with a live writer, and other hosts' younger than that, since
    a process cannot see whether a writer on another host is alive (Slurm array tasks on other nodes
    write into the same output directory). `final_paths`, if given, limits the cleanup to the
    temporaries of those outputs.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    owned = None if final_paths is None else {Path(os.path.abspath(p)) for p in final_paths}
    here, me = host_tag(), os.getpid()
    removed = []
    for tmp in sorted(output_dir.rglob(".*.tmp")):
        match = TEMPORARY.match(tmp.name)
        if match is None or not tmp.is_file():
            continue
        final = Path(os.path.abspath(tmp.with_name(match["name"])))
        if owned is not None and final not in owned:
            continue
        host, pid = match["host"], int(match["pid"])
        if host == here and pid == me:
            continue
        try:
            age_h = (time.time() - tmp.stat().st_mtime) / 3600
        except FileNotFoundError:  # its writer committed or cleaned it up meanwhile
            continue
        if host == here and not _pid_alive(pid):
            reason = f"its writer (pid {pid} on this host) is gone"
        elif age_h > max_age_hours:
            reason = f"written by {host} (pid {pid}), unchanged for {age_h:.1f} h > {max_age_hours:g} h"
        else:
            log.debug("kept %s: %s (pid %d) may still be writing it", tmp, host, pid)
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
        log.info("removed %s, left by an interrupted run: %s", tmp, reason)
    return removed


def output_path_for(
    input_file: Path, inputs_root: Path | None, output_dir: Path, output_format: str = "parquet"
) -> Path:
    """Where the annotated copy of `input_file` in `output_format` goes: its name (`output_name`:
    `news.jsonl.gz` → `news.parquet`) under `output_dir`.

    With `inputs_root` (see `inputs_root_for`), its directory relative to that root is kept, so that
    inputs sharing a name in different subdirectories do not collide. Raises `InputError` if the
    output would overwrite the input.
    """
    input_file = Path(os.path.abspath(input_file))
    output_dir = Path(os.path.abspath(output_dir))
    name = output_name(input_file, output_format)
    if inputs_root is None:
        out = output_dir / name
    else:
        out = output_dir / input_file.parent.relative_to(os.path.abspath(inputs_root)) / name
    if out == input_file:
        raise InputError(f"output for {input_file} would overwrite it; choose another output directory")
    return out


def output_paths_for(
    input_file: Path, inputs_root: Path | None, output_dir: Path, formats: Sequence[str]
) -> list[Path]:
    """`output_path_for` in each of `formats`, in their order."""
    return [output_path_for(input_file, inputs_root, output_dir, f) for f in formats]


def inputs_root_for(inputs: Sequence[Path]) -> Path | None:
    """None when the inputs' output names are unique (flat output); else their deepest common directory.

    Raises `InputError` when two inputs of one directory would still write one output (`news.csv` and
    `news.jsonl` both make `news.parquet`)."""
    names = [output_name(f, "parquet") for f in inputs]
    if len(set(names)) == len(names):
        return None
    seen: dict[tuple[str, str], Path] = {}
    for f, name in zip(inputs, names, strict=True):
        key = (os.path.abspath(Path(f).parent), name)
        if key in seen:
            raise InputError(
                f"{seen[key]} and {f} would both be annotated into {name}; rename one of them or give "
                "them different directories"
            )
        seen[key] = Path(f)
    return Path(os.path.commonpath([os.path.abspath(Path(f).parent) for f in inputs]))


def check_writable(directory: Path) -> None:
    """Make `directory` if needed and check that a file can be created and written in it; raises
    `OutputError` naming it otherwise. Leaves nothing behind. Meant to run before any long work, so a
    read-only or missing mount is found in a second rather than after the export and model loading.
    """
    directory = Path(directory)
    # Under the temporaries' naming, so that a run killed mid-check leaves a file the next run removes.
    probe = temporary_path(directory / "write-check")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0")  # creating a file needs no free block; writing one does
        finally:
            os.close(fd)
            probe.unlink()
    except OSError as e:
        raise OutputError(f"{directory}: output directory is not writable: {_os_reason(e)}", e.errno) from e


def _pid_alive(pid: int) -> bool:
    """True if `pid` is a running (not zombie) process on this host."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:  # it exists, owned by someone else
        return True
    except (psutil.NoSuchProcess, ValueError):
        return False


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Re-raise an OSError as an `OutputError` naming `path`: neither pyarrow ("Error writing bytes to
    file") nor `write()` ("No space left on device") says which file it was writing."""
    try:
        yield
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {_os_reason(e)}", e.errno) from e


def _os_reason(error: OSError) -> str:
    """Why `error` happened, on one line: the system's words for its errno when it has one."""
    if error.errno:
        return os.strerror(error.errno)
    return " ".join(str(error).split()) or type(error).__name__


def _encode(metadata: dict[str, str]) -> dict[bytes, bytes]:
    return {str(k).encode(): str(v).encode() for k, v in metadata.items()}


def _one_line(schema: pa.Schema) -> str:
    return ", ".join(f"{field.name}: {field.type}" for field in schema)
