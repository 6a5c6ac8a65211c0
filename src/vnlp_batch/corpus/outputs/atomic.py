"""A text file that appears under its final name only when complete (temporary + fsync + rename)."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import TextIO

from vnlp_batch.corpus.writer import fsync_path, temporary_path

log = logging.getLogger(__name__)


class AtomicTextFile:
    """Context manager: `handle` writes UTF-8 text to a temporary beside `final_path`; `commit()` moves
    it there. Leaving the `with` block without `commit()` (or with an exception) deletes it."""

    def __init__(self, final_path: Path) -> None:
        self.final_path = Path(final_path)
        self.tmp_path = temporary_path(self.final_path)
        self._handle: TextIO | None = None
        self._committed = False

    @property
    def handle(self) -> TextIO:
        if self._handle is None or self._committed:
            raise RuntimeError(f"{self.final_path}: written outside its `with` block or after commit()")
        return self._handle

    def __enter__(self) -> AtomicTextFile:
        self.final_path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.tmp_path, "w", encoding="utf-8", newline="\n")
        return self

    def commit(self) -> Path:
        """Flush the file to disk and move it to its final name, which is returned."""
        handle = self.handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        self._handle = None
        os.replace(self.tmp_path, self.final_path)
        fsync_path(self.final_path.parent)
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
