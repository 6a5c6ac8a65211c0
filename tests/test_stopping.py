"""SIGTERM and SIGINT become `Stopped`: deferred to the caller's next `check()`, or raised at once."""

from __future__ import annotations

import os
import signal
import time

import pytest

from vnlp_batch.stopping import StopOnSignal, Stopped


def wait_for_signal_delivery() -> None:
    """Python runs signal handlers between bytecodes of the main thread: give it a few."""
    for _ in range(100):
        time.sleep(0.001)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_deferred_signal_is_raised_at_the_next_check(signum: int, exit_code: int) -> None:
    with StopOnSignal() as stop:
        stop.check()  # nothing asked yet
        os.kill(os.getpid(), signum)
        wait_for_signal_delivery()  # reached: the handler only recorded it
        assert stop.requested == signum
        with pytest.raises(Stopped) as info:
            stop.check()
    assert info.value.signum == signum
    assert info.value.exit_code == exit_code
    assert str(info.value) == f"stopped by {signal.Signals(signum).name}"


def test_second_signal_stops_at_once_even_when_deferred() -> None:
    with pytest.raises(Stopped) as info, StopOnSignal():
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for_signal_delivery()
        os.kill(os.getpid(), signal.SIGINT)
        wait_for_signal_delivery()
        pytest.fail("the second signal should have stopped the block")
    assert info.value.signum == signal.SIGINT


def test_immediate_mode_raises_from_the_handler() -> None:
    with pytest.raises(Stopped) as info, StopOnSignal(immediate=True):
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for_signal_delivery()
        pytest.fail("an immediate stop should have ended the block")
    assert info.value.exit_code == 143


def test_previous_handlers_are_restored() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    with StopOnSignal(immediate=True), StopOnSignal():
        assert signal.getsignal(signal.SIGTERM) not in (before[signal.SIGTERM], signal.SIG_DFL)
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_signal_left_unchecked_when_the_work_ended_is_not_raised() -> None:
    # The work it would have interrupted is complete: stopping now would only lose the exit status.
    with StopOnSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for_signal_delivery()
    assert stop.requested == signal.SIGTERM
