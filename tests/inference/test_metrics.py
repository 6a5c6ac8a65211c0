"""Run metrics: counters, per-stage time, peak memory, and their JSON and table forms."""

from __future__ import annotations

import io
import json
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from vnlp_batch.inference.metrics import RunMetrics

KEYS = {
    "counts",
    "rows",
    "tokens",
    "wall_s",
    "rows_per_s",
    "tokens_per_s",
    "peak_rss_mb",
    "providers",
    "batch_size",
    "stages",
    "startup",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_stage_time_accumulates_per_name_also_on_errors() -> None:
    clock = FakeClock()
    metrics = RunMetrics(batch_size=64, clock=clock)
    for seconds in (1.5, 2.0):
        with metrics.stage("read"):
            clock.now += seconds
    with metrics.stage("decode:spucontext_ner"):
        clock.now += 4.0
    with pytest.raises(ValueError), metrics.stage("write"):
        clock.now += 0.25
        raise ValueError
    assert metrics.stages == {"read": 3.5, "decode:spucontext_ner": 4.0, "write": 0.25}


def test_to_dict_has_every_key_and_the_rates() -> None:
    clock = FakeClock()
    metrics = RunMetrics(batch_size=256, clock=clock)
    metrics.add(rows=600, tokens=9000)
    metrics.add(rows=400, tokens=1000)
    metrics.set_providers("spucontext_ner", ["CPUExecutionProvider"])
    metrics.count("sentences", 30)
    metrics.count("sentences", 12)
    metrics.count("out_of_range_heads", 0)
    clock.now += 20.0
    metrics.stop()
    clock.now += 100.0  # after stop(): not counted
    data = metrics.to_dict()
    assert set(data) == KEYS
    assert data["rows"] == 1000 and data["tokens"] == 10_000
    assert data["wall_s"] == 20.0
    assert data["rows_per_s"] == 50.0 and data["tokens_per_s"] == 500.0
    assert data["providers"] == {"spucontext_ner": ["CPUExecutionProvider"]}
    assert data["batch_size"] == 256
    assert data["stages"] == {}
    assert data["counts"] == {"out_of_range_heads": 0, "sentences": 42}


def test_peak_rss_is_measured_and_kept_after_memory_is_freed() -> None:
    metrics = RunMetrics()
    assert metrics.to_dict()["peak_rss_mb"] > 0
    ballast = bytearray(64 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so that it is resident
    metrics.add(rows=1)
    with_ballast = psutil.Process().memory_info().rss / 2**20
    del ballast
    assert metrics.to_dict()["peak_rss_mb"] >= with_ballast - 1  # to_dict rounds to 0.1 MiB


def test_write_is_pretty_json(tmp_path: Path) -> None:
    metrics = RunMetrics(batch_size=8)
    with metrics.stage("tokenize"):
        pass
    path = tmp_path / "run" / "metrics.json"
    metrics.write(path)
    text = path.read_text()
    assert text.startswith("{\n  ")
    data = json.loads(text)
    assert set(data) == KEYS and set(data["stages"]) == {"tokenize"}


def test_summary_table_shows_stages_and_providers() -> None:
    clock = FakeClock()
    metrics = RunMetrics(batch_size=32, clock=clock)
    with metrics.stage("decode:sentiment"):
        clock.now += 3.0
    metrics.set_providers("sentiment", ["CUDAExecutionProvider", "CPUExecutionProvider"])
    clock.now += 3.0
    out = io.StringIO()
    Console(file=out, width=120).print(metrics.summary_table())
    text = out.getvalue()
    assert "stage: decode:sentiment" in text and "3.00 s (50%)" in text
    assert "CUDAExecutionProvider, CPUExecutionProvider" in text


def test_peak_rss_is_the_process_own_not_its_parents() -> None:
    """A CLI started by a large process (a benchmark, a notebook) must not report the parent's memory."""
    import subprocess
    import sys

    import numpy as np

    ballast = np.ones(2**28 // 2, np.float64)  # 1 GiB, touched: resident in this process
    code = "from vnlp_batch.inference.metrics import _os_max_rss; print(_os_max_rss())"
    child = int(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    assert ballast.sum() == len(ballast)
    assert 0 < child < 2**30 / 2
