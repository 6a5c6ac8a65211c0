"""Sweep summary: after a `-m` multirun, one table and one plot of every job's `metrics.json`.

`SweepSummary` is a Hydra callback (registered under `hydra.callbacks` in conf/config.yaml). When the
multirun ends it writes into the sweep directory:

- `sweep.csv`: one row per job (its overrides, status, batch size, decoder and the run metrics);
- `sweep.md`: the same as a Markdown table, sorted by decoder, then batch size;
- `sweep.png`: tokens/s and peak RSS against batch size (log2 axis), one line per decoder.

A job without `metrics.json` (it failed, was killed, or ran `stage=export`) is listed with status
`missing`. Hydra skips `on_multirun_end` when a job fails, so the callback also writes the summary
at interpreter exit if the multirun ended early.

Collection and rendering are plain functions over directories and dicts (`collect_jobs`,
`write_csv`, `render_markdown`, `plot_sweep`, `write_summary`); only `SweepSummary` knows Hydra.
"""

from __future__ import annotations

import atexit
import csv
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback

from vnlp_batch.files import atomic_open

log = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_MISSING = "missing"  # no metrics.json: the job failed, was killed, or did not run inference
STATUS_INVALID = "invalid"  # metrics.json exists but cannot be read

COLUMNS = (
    "job",
    "status",
    "overrides",
    "batch_size",
    "decoder",
    "rows",
    "tokens",
    "wall_s",
    "tokens_per_s",
    "rows_per_s",
    "peak_rss_mb",
    "providers",
)
METRIC_KEYS = ("rows", "tokens", "wall_s", "tokens_per_s", "rows_per_s", "peak_rss_mb")
# Overrides that are axes of the plot already; any other override that varies between jobs
# (e.g. task=pos,ner) becomes part of the line label so that different series are not joined.
AXIS_KEYS = ("batch_size", "runtime.decoder")


@dataclass(frozen=True)
class SummaryFiles:
    csv: Path
    markdown: Path
    png: Path


# ---------------------------------------------------------------------------------------- collection


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Every job directory under `sweep_dir` (a directory holding `.hydra/overrides.yaml`), in job order."""
    sweep_dir = Path(sweep_dir)
    found = {p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")}
    found.discard(sweep_dir)  # the sweep dir's own multirun.yaml lives there, not a job's
    return sorted(found, key=lambda p: _natural_key(p.relative_to(sweep_dir).as_posix()))


def read_job(job_dir: Path, sweep_dir: Path | None = None) -> dict[str, Any]:
    """One job as a row of `COLUMNS`: overrides and config from `.hydra/`, numbers from `metrics.json`."""
    job_dir = Path(job_dir)
    overrides = _read_yaml(job_dir / ".hydra" / "overrides.yaml") or []
    overrides = [str(o) for o in overrides] if isinstance(overrides, list) else []
    config = _read_yaml(job_dir / ".hydra" / "config.yaml")
    config = config if isinstance(config, dict) else {}
    given = parse_overrides(overrides)

    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["job"] = job_dir.relative_to(sweep_dir).as_posix() if sweep_dir else job_dir.name
    row["overrides"] = " ".join(overrides)
    row["decoder"] = _get(config, "runtime", "decoder") or given.get("runtime.decoder") or None
    row["batch_size"] = _as_int(config.get("batch_size", given.get("batch_size")))

    metrics_file = job_dir / "metrics.json"
    if not metrics_file.is_file():
        row["status"] = STATUS_MISSING
        return row
    try:
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        if not isinstance(metrics, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s)", metrics_file, exc)
        row["status"] = STATUS_INVALID
        return row
    row["status"] = STATUS_OK
    for key in METRIC_KEYS:
        row[key] = metrics.get(key)
    if metrics.get("batch_size") is not None:
        row["batch_size"] = _as_int(metrics["batch_size"])
    row["providers"] = metrics.get("providers") or {}
    if metrics.get("decoder"):  # newer metrics.json may record it; it wins over the config
        row["decoder"] = metrics["decoder"]
    return row


def collect_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """A row per job directory under `sweep_dir`, sorted by decoder, then batch size, then job."""
    sweep_dir = Path(sweep_dir)
    return sort_rows(read_job(d, sweep_dir) for d in find_job_dirs(sweep_dir))


def sort_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by decoder, then batch size (unknown last), then job number."""
    return sorted(
        rows,
        key=lambda r: (
            r.get("decoder") or "~",
            r.get("batch_size") is None,
            r.get("batch_size") or 0,
            _natural_key(str(r.get("job"))),
        ),
    )


def parse_overrides(overrides: Sequence[str]) -> dict[str, str]:
    """`["+a.b=1", "task=pos"]` → `{"a.b": "1", "task": "pos"}` (leading +/++/~ dropped)."""
    parsed = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep:
            parsed[key.lstrip("+~")] = value
    return parsed


# ---------------------------------------------------------------------------------------- rendering


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """`rows` as CSV with the `COLUMNS` header; providers as compact JSON ({model: [provider, ...]})."""
    path = Path(path)
    with atomic_open(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            out = {k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS}
            if row.get("providers") is not None:
                out["providers"] = json.dumps(row["providers"], separators=(",", ":"), sort_keys=True)
            writer.writerow(out)
    return path


def render_markdown(rows: Sequence[dict[str, Any]], title: str | None = None) -> str:
    """A Markdown table of `rows` (in the given order), with a count line for missing jobs."""
    headers = (
        "job",
        "status",
        "decoder",
        "batch size",
        "rows",
        "tokens",
        "wall s",
        "tokens/s",
        "rows/s",
        "peak RSS MB",
        "providers",
        "overrides",
    )
    aligns = ("---:", ":---", ":---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", ":---", ":---")
    out = []
    if title:
        out += [f"# {title}", ""]
    out.append("| " + " | ".join(headers) + " |")
    out.append("|" + "|".join(aligns) + "|")
    for r in rows:
        cells = (
            r.get("job"),
            r.get("status"),
            r.get("decoder"),
            _fmt(r.get("batch_size"), "d"),
            _fmt(r.get("rows"), ",d"),
            _fmt(r.get("tokens"), ",d"),
            _fmt(r.get("wall_s"), ",.2f"),
            _fmt(r.get("tokens_per_s"), ",.1f"),
            _fmt(r.get("rows_per_s"), ",.1f"),
            _fmt(r.get("peak_rss_mb"), ",.0f"),
            providers_text(r.get("providers")),
            f"`{r['overrides']}`" if r.get("overrides") else "",
        )
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    missing = [r for r in rows if r.get("status") != STATUS_OK]
    out.append("")
    out.append(
        f"{len(rows)} job(s), {len(rows) - len(missing)} with metrics.json"
        + (f", {len(missing)} missing (failed, killed, or no inference stage)." if missing else ".")
    )
    return "\n".join(out) + "\n"


def providers_text(providers: dict[str, list[str]] | None) -> str:
    """`{"m": ["CUDAExecutionProvider", "CPUExecutionProvider"]}` → "CUDA+CPU"; per model when they differ."""
    if not providers:
        return ""
    short = {m: "+".join(p.removesuffix("ExecutionProvider") for p in ps) for m, ps in providers.items()}
    if len(set(short.values())) == 1:
        return next(iter(short.values()))
    return "; ".join(f"{m}: {p}" for m, p in sorted(short.items()))


def series(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Finished rows with a batch size > 0, grouped into lines: decoder + other varying overrides."""
    done = [r for r in rows if r.get("status") == STATUS_OK and (r.get("batch_size") or 0) > 0]
    parsed = [parse_overrides(str(r.get("overrides") or "").split()) for r in done]
    keys = sorted({k for p in parsed for k in p if k not in AXIS_KEYS})
    varying = [k for k in keys if len({p.get(k) for p in parsed}) > 1]
    lines: dict[str, list[dict[str, Any]]] = {}
    for r, p in zip(done, parsed, strict=True):
        label = " ".join([str(r.get("decoder") or "decoder?"), *(f"{k}={p.get(k, '-')}" for k in varying)])
        lines.setdefault(label, []).append(r)
    for members in lines.values():
        members.sort(key=lambda r: r["batch_size"])
    return dict(sorted(lines.items()))


def plot_sweep(rows: Sequence[dict[str, Any]], path: Path, title: str = "vnlp-batch sweep") -> Path:
    """Two panels, tokens/s and peak RSS (MB) against batch size on a log2 axis; one line per decoder."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend switch
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullLocator

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    lines = series(rows)
    sizes = sorted({r["batch_size"] for members in lines.values() for r in members})
    panels = ((axes[0], "tokens_per_s", "tokens/s"), (axes[1], "peak_rss_mb", "peak RSS (MB)"))
    for ax, key, label in panels:
        for name, members in lines.items():
            points = [(r["batch_size"], r[key]) for r in members if r.get(key) is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_xscale("log", base=2)
        if sizes:
            ax.xaxis.set_major_locator(FixedLocator(sizes))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([str(s) for s in sizes])
        else:
            ax.text(
                0.5,
                0.5,
                "no job finished with metrics.json",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        top = max((r[key] for m in lines.values() for r in m if r.get(key) is not None), default=0)
        ax.set_ylim(0, top * 1.12 or 1)  # from zero, with room above the highest point
        if sizes:
            ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
        ax.grid(True, alpha=0.3)
        if lines:
            ax.legend(fontsize="small")
    missing = sum(r.get("status") != STATUS_OK for r in rows)
    fig.suptitle(title + (f" ({missing} of {len(rows)} jobs missing)" if missing else ""))
    with atomic_open(Path(path), "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    return Path(path)


def write_summary(sweep_dir: Path, stem: str = "sweep") -> SummaryFiles:
    """Collect the jobs under `sweep_dir` and write `<stem>.csv`, `<stem>.md` and `<stem>.png` there."""
    sweep_dir = Path(sweep_dir)
    rows = collect_jobs(sweep_dir)
    title = f"vnlp-batch sweep {sweep_dir.name}"
    files = SummaryFiles(sweep_dir / f"{stem}.csv", sweep_dir / f"{stem}.md", sweep_dir / f"{stem}.png")
    write_csv(rows, files.csv)
    with atomic_open(files.markdown, "w") as f:
        f.write(render_markdown(rows, title=title))
    plot_sweep(rows, files.png, title=title)
    return files


# ---------------------------------------------------------------------------------------- Hydra


class SweepSummary(Callback):
    """Hydra callback: write sweep.csv, sweep.md and sweep.png into the sweep dir when a multirun ends.

    conf/config.yaml: `hydra: {callbacks: {sweep_summary: {_target_: vnlp_batch.sweep.SweepSummary}}}`.
    """

    def __init__(self, stem: str = "sweep") -> None:
        self.stem = stem
        self._pending: Path | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        # Hydra does not call on_multirun_end when a job fails (the sweeper re-raises its error, and a
        # job's sys.exit ends the process): summarise at exit then, so failed jobs show as missing.
        self._pending = Path(str(config.hydra.sweep.dir))
        atexit.register(self._at_exit)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        self._pending = None
        atexit.unregister(self._at_exit)
        self.summarize(Path(str(config.hydra.sweep.dir)))

    def summarize(self, sweep_dir: Path) -> SummaryFiles | None:
        if not sweep_dir.is_dir():
            log.warning("sweep summary: no sweep directory %s (no job ran?)", sweep_dir)
            return None
        try:
            files = write_summary(sweep_dir, self.stem)
        except Exception:  # the jobs' own outputs are intact; a failed summary must not hide that
            log.exception("sweep summary: could not be written into %s", sweep_dir)
            return None
        log.info(
            "sweep summary: %s, %s, %s",
            *(os.path.abspath(p) for p in (files.csv, files.markdown, files.png)),
        )
        return files

    def _at_exit(self) -> None:
        if self._pending is not None:
            sweep_dir, self._pending = self._pending, None
            log.warning("multirun ended early (a job failed); summarising the jobs under %s", sweep_dir)
            self.summarize(sweep_dir)


# ---------------------------------------------------------------------------------------- helpers


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as exc:
        log.warning("%s: unreadable (%s)", path, exc)
        return None


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _natural_key(text: str) -> list[Any]:
    parts = (p for p in re.split(r"(\d+)", text) if p)
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def _fmt(value: Any, spec: str) -> str:
    if value is None or value == "":
        return "—"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _md_cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
