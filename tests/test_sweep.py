"""The sweep summary: collecting job dirs of a multirun, and the CSV, Markdown and PNG written from them.

Fake job directories laid out as Hydra lays them out (`<sweep>/<num>/.hydra/{overrides,config}.yaml`
and the run's `metrics.json`); no Hydra run, no Slurm.
"""

from __future__ import annotations

import csv
import json
import logging
import struct
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from vnlp_batch.inference.metrics import RunMetrics
from vnlp_batch.sweep import (
    COLUMNS,
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OK,
    SweepSummary,
    collect_jobs,
    find_job_dirs,
    parse_overrides,
    plot_sweep,
    providers_text,
    render_markdown,
    series,
    write_csv,
    write_summary,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_job(
    sweep: Path,
    num: int,
    batch_size: int,
    decoder: str = "monolithic",
    *,
    metrics: dict | str | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """A job dir as Hydra writes it; `metrics=None` leaves out metrics.json (a failed job)."""
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    overrides = ["task=pos", f"batch_size={batch_size}", f"runtime.decoder={decoder}", *extra]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    config = {
        "stage": "all",
        "batch_size": batch_size,
        "runtime": {"decoder": decoder},
        "task": {"name": "pos"},
    }
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    if isinstance(metrics, str):
        (job / "metrics.json").write_text(metrics)
    elif metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job


def fake_metrics(batch_size: int, tokens_per_s: float, peak_rss_mb: float) -> dict:
    return {
        "rows": 367,
        "tokens": 5000,
        "wall_s": round(5000 / tokens_per_s, 3),
        "rows_per_s": round(367 * tokens_per_s / 5000, 2),
        "tokens_per_s": tokens_per_s,
        "peak_rss_mb": peak_rss_mb,
        "providers": {"spucontext_pos": ["CPUExecutionProvider"]},
        "batch_size": batch_size,
        "stages": {"decode": 1.0},
    }


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Six jobs in Hydra's launch order; job 4 (fast, 256) failed before writing metrics.json."""
    root = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    root.mkdir(parents=True)
    (root / "multirun.yaml").write_text("hydra: {}\n")  # the sweep's own file, not a job
    jobs = [
        (16, "monolithic"),
        (16, "fast"),
        (64, "monolithic"),
        (64, "fast"),
        (256, "fast"),
        (256, "monolithic"),
    ]
    for num, (bs, decoder) in enumerate(jobs):
        speed = bs * (10.0 if decoder == "fast" else 1.0)
        metrics = None if num == 4 else fake_metrics(bs, speed, 500.0 + bs)
        make_job(root, num, bs, decoder, metrics=metrics)
    return root


def test_jobs_are_found_in_job_order_and_the_sweep_dir_itself_is_not_a_job(sweep: Path) -> None:
    for num in (10, 2):  # natural order: 2 before 10
        make_job(sweep, num + 100, 8)
    names = [d.name for d in find_job_dirs(sweep)]
    assert names == ["0", "1", "2", "3", "4", "5", "102", "110"]


def test_rows_are_sorted_by_decoder_then_batch_size_and_a_failed_job_is_missing(sweep: Path) -> None:
    rows = collect_jobs(sweep)
    assert [(r["decoder"], r["batch_size"]) for r in rows] == [
        ("fast", 16), ("fast", 64), ("fast", 256), ("monolithic", 16), ("monolithic", 64), ("monolithic", 256)
    ]  # fmt: skip
    failed = rows[2]
    assert failed["job"] == "4"
    assert failed["status"] == STATUS_MISSING
    assert failed["overrides"] == "task=pos batch_size=256 runtime.decoder=fast"
    assert all(failed[k] is None for k in ("rows", "tokens", "wall_s", "tokens_per_s", "peak_rss_mb"))
    ok = rows[0]
    assert ok["status"] == STATUS_OK
    assert ok["tokens_per_s"] == 160.0 and ok["peak_rss_mb"] == 516.0 and ok["rows"] == 367
    assert ok["providers"] == {"spucontext_pos": ["CPUExecutionProvider"]}


def test_a_real_run_metrics_file_is_read(tmp_path: Path) -> None:
    job = make_job(tmp_path, 0, 32)
    metrics = RunMetrics(batch_size=32)
    metrics.add(rows=10, tokens=120)
    metrics.set_providers("spucontext_pos", ["CUDAExecutionProvider", "CPUExecutionProvider"])
    metrics.write(job / "metrics.json")
    (row,) = collect_jobs(tmp_path)
    assert row["status"] == STATUS_OK
    assert (row["rows"], row["tokens"], row["batch_size"]) == (10, 120, 32)
    assert row["peak_rss_mb"] > 0 and row["tokens_per_s"] > 0
    assert providers_text(row["providers"]) == "CUDA+CPU"


def test_unreadable_metrics_is_invalid_and_a_recorded_decoder_wins(tmp_path: Path) -> None:
    make_job(tmp_path, 0, 16, metrics="{not json")
    make_job(tmp_path, 1, 16, "monolithic", metrics={**fake_metrics(16, 10.0, 1.0), "decoder": "fast"})
    rows = {r["job"]: r for r in collect_jobs(tmp_path)}
    assert rows["0"]["status"] == STATUS_INVALID
    assert rows["1"]["decoder"] == "fast"


def test_decoder_and_batch_size_come_from_overrides_when_the_config_is_gone(tmp_path: Path) -> None:
    job = make_job(tmp_path, 0, 128, "fast")
    (job / ".hydra" / "config.yaml").unlink()
    (row,) = collect_jobs(tmp_path)
    assert (row["decoder"], row["batch_size"], row["status"]) == ("fast", 128, STATUS_MISSING)


def test_csv_has_one_row_per_job_with_overrides_metrics_and_providers(sweep: Path, tmp_path: Path) -> None:
    path = write_csv(collect_jobs(sweep), tmp_path / "out.csv")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert len(rows) == 6
    assert [r["status"] for r in rows].count(STATUS_MISSING) == 1
    first = rows[0]
    assert first["overrides"] == "task=pos batch_size=16 runtime.decoder=fast"
    assert (first["batch_size"], first["decoder"], first["tokens_per_s"]) == ("16", "fast", "160.0")
    assert json.loads(first["providers"]) == {"spucontext_pos": ["CPUExecutionProvider"]}
    missing = next(r for r in rows if r["status"] == STATUS_MISSING)
    assert missing["tokens_per_s"] == "" and missing["providers"] == ""


def test_markdown_table_lists_every_job_in_order_and_counts_the_missing(sweep: Path) -> None:
    text = render_markdown(collect_jobs(sweep), title="sweep X")
    lines = text.splitlines()
    assert lines[0] == "# sweep X"
    table = [line for line in lines if line.startswith("|")]
    assert table[0].startswith("| job | status | decoder | batch size |")
    assert set(table[1]) <= set("|-:")
    body = table[2:]
    assert len(body) == 6
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in body]
    assert [(c[2], c[3]) for c in cells] == [
        ("fast", "16"), ("fast", "64"), ("fast", "256"), ("monolithic", "16"), ("monolithic", "64"),
        ("monolithic", "256"),
    ]  # fmt: skip
    assert cells[2][1] == "missing" and cells[2][7] == "—"
    assert cells[0][7] == "160.0" and cells[0][10] == "CPU"
    assert "6 job(s), 5 with metrics.json, 1 missing" in text


def test_markdown_escapes_pipes_in_overrides(tmp_path: Path) -> None:
    make_job(tmp_path, 0, 16, extra=("data.path=/a|b",))
    line = next(x for x in render_markdown(collect_jobs(tmp_path)).splitlines() if x.startswith("| 0 "))
    assert "data.path=/a\\|b" in line
    assert line.replace("\\|", "").count("|") == 13  # 12 columns: the escaped pipe splits none


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_is_a_valid_png_with_a_line_per_decoder(sweep: Path, tmp_path: Path) -> None:
    rows = collect_jobs(sweep)
    lines = series(rows)
    assert list(lines) == ["fast", "monolithic"]
    assert [r["batch_size"] for r in lines["fast"]] == [16, 64]  # the failed 256 is not plotted
    assert [r["batch_size"] for r in lines["monolithic"]] == [16, 64, 256]
    path = plot_sweep(rows, tmp_path / "sweep.png")
    width, height = _png_size(path)
    assert width > 600 and height > 300
    import matplotlib.image

    assert matplotlib.image.imread(path).shape[:2] == (height, width)


def test_other_swept_overrides_split_the_lines() -> None:
    rows = [
        {"status": STATUS_OK, "batch_size": bs, "decoder": "fast", "overrides": f"task={t} batch_size={bs}"}
        for t in ("pos", "ner")
        for bs in (64, 16)
    ]
    lines = series(rows)
    assert list(lines) == ["fast task=ner", "fast task=pos"]
    assert [r["batch_size"] for r in lines["fast task=pos"]] == [16, 64]


def test_parse_overrides_drops_hydra_prefixes() -> None:
    assert parse_overrides(["+a.b=1", "++c=x=y", "~d", "task=pos"]) == {"a.b": "1", "c": "x=y", "task": "pos"}


def test_write_summary_writes_three_files_into_the_sweep_dir(sweep: Path) -> None:
    files = write_summary(sweep)
    assert (files.csv, files.markdown, files.png) == (
        sweep / "sweep.csv",
        sweep / "sweep.md",
        sweep / "sweep.png",
    )
    assert "missing" in files.markdown.read_text()
    _png_size(files.png)
    assert not list(sweep.glob(".*.tmp"))  # written through temporaries, none left behind


def test_an_empty_sweep_still_gives_a_table_and_a_plot(tmp_path: Path) -> None:
    files = write_summary(tmp_path)
    assert "0 job(s)" in files.markdown.read_text()
    assert files.csv.read_text().splitlines() == [",".join(COLUMNS)]
    _png_size(files.png)


def test_callback_writes_the_summary_at_multirun_end(sweep: Path) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    callback = SweepSummary()
    callback.on_multirun_start(config)
    callback.on_multirun_end(config, config_name="config")
    assert (
        (sweep / "sweep.csv").is_file() and (sweep / "sweep.md").is_file() and (sweep / "sweep.png").is_file()
    )
    (sweep / "sweep.md").unlink()
    callback._at_exit()  # after a normal end, exit does nothing more
    assert not (sweep / "sweep.md").exists()


def test_callback_summarises_at_exit_when_a_failed_job_ended_the_multirun(sweep: Path) -> None:
    callback = SweepSummary()
    callback.on_multirun_start(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    try:
        callback._at_exit()  # what atexit runs when Hydra skipped on_multirun_end
        assert "1 missing" in (sweep / "sweep.md").read_text()
    finally:
        import atexit

        atexit.unregister(callback._at_exit)


def test_callback_on_a_sweep_dir_that_was_never_created_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "never")}}})
    with caplog.at_level(logging.INFO, logger="vnlp_batch.sweep"):
        SweepSummary().on_multirun_end(config)  # no exception
    assert not (tmp_path / "never").exists()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, f"sweep summary: no sweep directory {tmp_path / 'never'} (no job ran?)")
    ]
