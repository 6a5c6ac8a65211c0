"""Run metrics: rows, tokens, wall time, throughput, peak memory, providers and time per stage.

Every run writes them as `metrics.json` (README, "Inference stage") and prints `summary_table()` at the end.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from rich.table import Table

from vnlp_batch.corpus.writer import write_output_text

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


class RunMetrics:
    """Accumulates a run's counters; `stage(name)` times named stages (read, tokenize, decode:<model>, write).

    Thread-safe: the reader and the decoders may run in different threads.
    """

    def __init__(
        self, batch_size: int | None = None, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.batch_size = batch_size
        self.rows = 0
        self.tokens = 0
        self.stages: dict[str, float] = {}
        self.providers: dict[str, list[str]] = {}
        self.startup: dict[str, float] = {}  # seconds by start-up phase (vnlp_batch.startup)
        self.counts: dict[str, int] = {}  # e.g. sentences, out_of_range_heads (written to CoNLL-U as 0)
        self._clock = clock
        self._started = clock()
        self._stopped: float | None = None
        self._peak_rss = 0
        self._lock = threading.Lock()
        self._process = psutil.Process()
        self.sample_rss()

    def add(self, rows: int = 0, tokens: int = 0) -> None:
        """Count `rows` and `tokens` more as done, and sample memory."""
        with self._lock:
            self.rows += rows
            self.tokens += tokens
        self.sample_rss()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent in the `with` block to stage `name` (also when it raises)."""
        start = self._clock()
        try:
            yield
        finally:
            elapsed = self._clock() - start
            with self._lock:
                self.stages[name] = self.stages.get(name, 0.0) + elapsed
            self.sample_rss()

    def count(self, name: str, n: int) -> None:
        """Add `n` to the run's count `name` (metrics.json `counts`)."""
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def set_providers(self, model: str, providers: list[str]) -> None:
        """Record the execution providers `model`'s session actually got."""
        with self._lock:
            self.providers[model] = list(providers)

    def sample_rss(self) -> None:
        """Update the peak resident memory from the current RSS and the OS's own maximum."""
        rss = self._process.memory_info().rss
        with self._lock:
            self._peak_rss = max(self._peak_rss, rss, _os_max_rss())

    def stop(self) -> None:
        """Freeze the wall time (otherwise it runs until `to_dict` is called)."""
        if self._stopped is None:
            self._stopped = self._clock()

    @property
    def wall_s(self) -> float:
        """Seconds from creation to `stop()` (or to now)."""
        end = self._stopped if self._stopped is not None else self._clock()
        return end - self._started

    @property
    def peak_rss_mb(self) -> float:
        """Peak resident memory of this process so far, in MiB."""
        return self._peak_rss / 2**20

    def to_dict(self) -> dict[str, Any]:
        """The metrics as JSON-ready data (the content of metrics.json)."""
        self.sample_rss()
        wall = self.wall_s
        with self._lock:
            return {
                "rows": self.rows,
                "tokens": self.tokens,
                "wall_s": round(wall, 3),
                "rows_per_s": round(self.rows / wall, 2) if wall > 0 else 0.0,
                "tokens_per_s": round(self.tokens / wall, 2) if wall > 0 else 0.0,
                "peak_rss_mb": round(self.peak_rss_mb, 1),
                "providers": {model: list(p) for model, p in self.providers.items()},
                "batch_size": self.batch_size,
                "stages": {name: round(seconds, 3) for name, seconds in self.stages.items()},
                "startup": dict(self.startup),
                "counts": dict(sorted(self.counts.items())),
            }

    def write(self, path: Path) -> None:
        """Write `to_dict()` as pretty JSON to `path`, atomically."""
        write_output_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    def summary_table(self) -> Table:
        """The metrics as a rich table for the end-of-run summary."""
        data = self.to_dict()
        table = Table(title="vnlp-batch run", show_header=False)
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        table.add_row("rows", f"{data['rows']:,}")
        table.add_row("tokens", f"{data['tokens']:,}")
        table.add_row("wall time", f"{data['wall_s']:.1f} s")
        table.add_row("rows/s", f"{data['rows_per_s']:,.1f}")
        table.add_row("tokens/s", f"{data['tokens_per_s']:,.1f}")
        table.add_row("peak RSS", f"{data['peak_rss_mb']:,.0f} MiB")
        table.add_row("batch size", str(data["batch_size"]))
        for model, providers in data["providers"].items():
            table.add_row(f"providers: {model}", ", ".join(providers))
        if "first_batch_at_s" in data["startup"]:
            table.add_row("first batch after", f"{data['startup']['first_batch_at_s']:.1f} s (start-up)")
        wall = data["wall_s"]
        for name, seconds in data["stages"].items():
            share = f" ({100 * seconds / wall:.0f}%)" if wall > 0 else ""
            table.add_row(f"stage: {name}", f"{seconds:.2f} s{share}")
        return table


def _os_max_rss() -> int:
    """The process's peak RSS in bytes as the OS records it (0 where unavailable)."""
    try:
        # Linux: the high-water mark of this process's own memory. ru_maxrss would also count the
        # parent's memory copied at fork before exec (a CLI started by a 6 GB benchmark "peaked" at 6 GB).
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux
