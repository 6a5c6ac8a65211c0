"""Run progress: a rich bar on a terminal, periodic plain log lines otherwise (cluster job logs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

log = logging.getLogger(__name__)


class _TokensPerSecond(ProgressColumn):
    """Tokens per second since the task started (tokens are a task field, rows are its progress)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.fields.get("tokens", 0) / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} tokens/s", style="progress.data.speed")


class _Eta(ProgressColumn):
    """The run's own ETA (`RunProgress.eta_s`): rich's would count skipped files as throughput."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__()
        self._run_progress = progress

    def render(self, task: Task) -> Text:
        eta = self._run_progress.eta_s()
        return Text(_duration(eta) if eta is not None else "-:--:--", style="progress.remaining")


class RunProgress:
    """Context manager reporting rows done out of `total_rows`, tokens/s and ETA.

    Rows finished by an earlier run (`skip`) count as done but not as throughput: the ETA is the rows
    left over the rate of rows annotated in this run.

    On a terminal (stderr, or the given `console`) it draws a rich progress bar; otherwise it logs one
    line at INFO at most every `log_every_s` seconds, plus one when a file starts and one at the end.
    """

    def __init__(
        self,
        total_rows: int | None,
        *,
        log_every_s: float = 30.0,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total_rows = total_rows if total_rows else None
        self.rows = 0
        self.annotated_rows = 0
        self.tokens = 0
        self.file: str | None = None
        self.log_every_s = log_every_s
        self._console = console if console is not None else Console(stderr=True)
        self._clock = clock
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._started = 0.0
        self._last_log = 0.0

    @property
    def uses_bar(self) -> bool:
        """True when progress is drawn as a bar (the console is a terminal)."""
        return self._console.is_terminal

    def __enter__(self) -> RunProgress:
        self._started = self._last_log = self._clock()
        if self.uses_bar:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                _TokensPerSecond(),
                TextColumn("ETA"),
                _Eta(self),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._bar.start()
            self._task = self._bar.add_task("annotating", total=self.total_rows, tokens=0)
        return self

    def set_file(self, name: str) -> None:
        """Show that the input file `name` is being processed from now on."""
        self.file = name
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=name)
        else:
            log.info("file %s: %s", name, self.status_line(with_file=False))

    def skip(self, rows: int) -> None:
        """Count `rows` more rows as done without annotating them (finished by an earlier run)."""
        self.rows += rows
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=rows)

    def advance(self, rows: int, tokens: int) -> None:
        """Count `rows` more rows (containing `tokens` tokens) as annotated."""
        self.rows += rows
        self.annotated_rows += rows
        self.tokens += tokens
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=rows, tokens=self.tokens)
            return
        now = self._clock()
        if now - self._last_log >= self.log_every_s:
            self._last_log = now
            log.info("%s", self.status_line())

    def eta_s(self) -> float | None:
        """Seconds left at this run's annotation rate; None before any row is annotated (or no total)."""
        elapsed = self._clock() - self._started
        if not self.total_rows or elapsed <= 0 or self.annotated_rows == 0:
            return None
        return (self.total_rows - self.rows) / (self.annotated_rows / elapsed)

    def status_line(self, with_file: bool = True) -> str:
        """`rows/total (pct), tokens/s, ETA, file` as one line for logs."""
        elapsed = self._clock() - self._started
        token_rate = self.tokens / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.rows:,} rows"]
        if self.total_rows:
            eta = self.eta_s()
            parts = [
                f"{self.rows:,}/{self.total_rows:,} rows ({100 * self.rows / self.total_rows:.1f}%)",
                f"{token_rate:,.0f} tokens/s",
                f"ETA {_duration(eta) if eta is not None else '?'}",
            ]
        else:
            parts.append(f"{token_rate:,.0f} tokens/s")
        if self.file and with_file:
            parts.append(f"file {self.file}")
        return ", ".join(parts)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif exc_type is None or issubclass(exc_type, Exception):
            log.info("%s: %s", "stopped" if exc_type else "done", self.status_line())
        # else a signal or Ctrl-C stopped the run: whoever handles it says how far it got


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(max(seconds, 0.0))))
