"""Run progress: plain log lines (rate-limited) off a terminal, a rich bar on one."""

from __future__ import annotations

import io
import logging
import signal

import pytest
from rich.console import Console

from vnlp_batch.inference.progress import RunProgress
from vnlp_batch.stopping import Stopped

LOGGER = "vnlp_batch.inference.progress"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


def test_plain_mode_logs_rows_percent_rate_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        RunProgress(1000, log_every_s=0.0, console=plain_console(), clock=clock) as progress,
    ):
        assert not progress.uses_bar
        progress.set_file("shard-0.parquet")
        clock.now += 10
        progress.advance(100, 2500)
        clock.now += 10
        progress.advance(100, 2500)
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines[0] == "file shard-0.parquet: 0/1,000 rows (0.0%), 0 tokens/s, ETA ?"  # the name once
    # 100 rows in 10 s: 10 rows/s, 900 rows to go; 2,500 tokens in 10 s.
    assert lines[1] == "100/1,000 rows (10.0%), 250 tokens/s, ETA 0:01:30, file shard-0.parquet"
    assert lines[2] == "200/1,000 rows (20.0%), 250 tokens/s, ETA 0:01:20, file shard-0.parquet"
    assert lines[3].startswith("done: 200/1,000 rows")
    assert len(lines) == 4


def test_plain_mode_logs_at_most_every_log_every_s(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        RunProgress(10_000, log_every_s=30.0, console=plain_console(), clock=clock) as progress,
    ):
        for _ in range(59):  # one advance a second for 59 s: lines at 30 s only
            clock.now += 1
            progress.advance(10, 100)
        periodic = [r for r in caplog.records if "rows (" in r.getMessage()]
        assert len(periodic) == 1
        assert periodic[0].getMessage().startswith("300/10,000 rows (3.0%)")
        clock.now += 1
        progress.advance(10, 100)  # 60 s: the second line
        assert len([r for r in caplog.records if "rows (" in r.getMessage()]) == 2


def test_unknown_total_has_no_percent_or_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        RunProgress(None, log_every_s=0.0, console=plain_console(), clock=clock) as progress,
    ):
        clock.now += 2
        progress.advance(5, 40)
    assert caplog.records[0].getMessage() == "5 rows, 20 tokens/s"


def test_stopped_by_an_error_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        pytest.raises(RuntimeError),
        RunProgress(10, console=plain_console()) as progress,
    ):
        progress.advance(3, 3)
        raise RuntimeError
    assert caplog.records[-1].getMessage().startswith("stopped: 3/10 rows")


def test_a_stop_by_signal_is_left_to_its_handler_to_report(caplog: pytest.LogCaptureFixture) -> None:
    # The stage says how far it got in rows of finished files; this count includes the dropped file.
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        pytest.raises(Stopped),
        RunProgress(10, console=plain_console()) as progress,
    ):
        progress.advance(3, 3)
        raise Stopped(signal.SIGTERM)
    assert not [r for r in caplog.records if r.getMessage().startswith("stopped")]


def test_terminal_mode_draws_a_bar_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        RunProgress(1000, log_every_s=0.0, console=console) as progress,
    ):
        assert progress.uses_bar
        progress.set_file("shard-7.parquet")
        progress.advance(250, 4000)
    assert caplog.records == []
    screen = out.getvalue()
    assert "shard-7.parquet" in screen
    assert "250/1000" in screen
    assert "tokens/s" in screen


def test_eta_comes_from_rows_annotated_in_this_run_not_from_skipped_files(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        RunProgress(1000, log_every_s=0.0, console=plain_console(), clock=clock) as progress,
    ):
        progress.skip(900)  # files a previous run finished: done, but no throughput
        clock.now += 10
        progress.advance(10, 100)
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    # 10 rows annotated in 10 s: 1 row/s, 90 rows to go (counting the 910 done would say 1 s).
    assert lines[-2] == "910/1,000 rows (91.0%), 10 tokens/s, ETA 0:01:30"


def test_bar_eta_comes_from_rows_annotated_in_this_run() -> None:
    out = io.StringIO()
    clock = FakeClock()
    console = Console(file=out, force_terminal=True, color_system=None, width=160)
    with RunProgress(1000, console=console, clock=clock) as progress:
        progress.skip(900)
        clock.now += 10
        progress.advance(10, 100)
    screen = out.getvalue()
    assert "910/1000" in screen
    assert "ETA 0:01:30" in screen
