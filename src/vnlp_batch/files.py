"""Files written whole or not at all, locks around read-modify-write, and sha256 digests.

Every file vnlp-batch writes — annotated outputs, the resume manifest, metrics, weights files, the
sweep summary, the sample corpus's derived copies — appears under its final name only complete: it is
written under a temporary name beside it (`temporary_path`: `.<name>.<host>.<pid>.tmp`), flushed to
disk and renamed over the final name (`os.replace` is atomic within a filesystem), so a reader or a
crash sees the old file or the new one, never a torn one. The host and pid in a temporary's name let
`corpus.writer.remove_stale_temporaries` tell a killed writer's leftovers from a live writer's file,
also when several hosts write into one directory (Slurm array tasks on a shared filesystem).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

log = logging.getLogger(__name__)

# The host part never holds a dot (see `host_tag`), so a name with dots of its own parses one way.
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.tmp$")
_HASH_CHUNK = 1 << 20
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def host_tag(hostname: str | None = None) -> str:
    """This host's name (or `hostname`) as it appears in temporary names: characters other than
    letters, digits, `-` and `_` (the dots of a domain name) become `_`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname() if hostname is None else hostname) or "_"


def temporary_path(final_path: Path, pid: int | None = None, host: str | None = None) -> Path:
    """Where `final_path` is written before it is complete: `.<name>.<host>.<pid>.tmp` beside it
    (this process's host and pid unless given)."""
    host = host_tag() if host is None else host
    return final_path.with_name(f".{final_path.name}.{host}.{os.getpid() if pid is None else pid}.tmp")


def fsync_path(path: Path) -> None:
    """Flush `path` (a file, or a directory's entries) to stable storage; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def publish(temporary: Path, final_path: Path) -> None:
    """Move the complete `temporary`, already flushed to disk (else a power loss can leave the final
    name on an empty file), over `final_path`, and flush the directory's new entry."""
    os.replace(temporary, final_path)
    fsync_path(final_path.parent)


class AtomicFile:
    """Context manager: `handle` writes to `temporary_path(final_path)`; `commit()` publishes it under
    `final_path`. Leaving the `with` block without `commit()` (or with an exception) deletes it.

    `mode` "w" writes UTF-8 text with "\\n" line ends on every platform, "wb" bytes. One writer per
    final path per process at a time: the temporary's name is the process's.
    """

    def __init__(self, final_path: Path, mode: Literal["w", "wb"] = "w") -> None:
        self.final_path = Path(final_path)
        self.tmp_path = temporary_path(self.final_path)
        self._mode = mode
        self._handle: IO[Any] | None = None
        self._committed = False

    @property
    def handle(self) -> IO[Any]:
        if self._handle is None or self._committed:
            raise RuntimeError(f"{self.final_path}: written outside its `with` block or after commit()")
        return self._handle

    def __enter__(self) -> AtomicFile:
        self.final_path.parent.mkdir(parents=True, exist_ok=True)
        if self._mode == "wb":
            self._handle = open(self.tmp_path, "wb")
        else:
            self._handle = open(self.tmp_path, "w", encoding="utf-8", newline="\n")
        return self

    def commit(self) -> Path:
        """Flush the file to disk and move it to its final name, which is returned."""
        handle = self.handle
        handle.flush()
        os.fsync(handle.fileno())  # a failure here is the write's failure (a full disk, say)
        handle.close()
        self._handle = None
        publish(self.tmp_path, self.final_path)
        self._committed = True
        return self.final_path

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._committed:
            return
        if exc_type is None:
            log.warning("%s: writer closed without commit(); discarding the partial file", self.final_path)
        if self._handle is not None:
            with contextlib.suppress(Exception):  # the original exception is the one to report
                self._handle.close()
            self._handle = None
        self.tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """`open(path, mode)` for a `with` block, through `AtomicFile`: the file is published when the
    block ends normally, and never appears when it raises."""
    with AtomicFile(path, mode) as file:
        yield file.handle
        file.commit()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path`'s content with `data` all at once (see `AtomicFile`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path`'s content with UTF-8 `text` all at once (see `AtomicFile`)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def file_lock(path: Path) -> Any:
    """An exclusive lock on the lock file `path`, held while its `with` block runs: against other
    processes (also on other hosts, where the filesystem supports locks) and other threads. The lock
    file is created if missing and left in place."""
    from filelock import FileLock

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_digest(digest: str) -> str:
    """`digest` as lower-case hex; ValueError if it is not a SHA-256 hex digest (64 hex digits)."""
    normalised = digest.lower()
    if not _SHA256_HEX.fullmatch(normalised):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return normalised
