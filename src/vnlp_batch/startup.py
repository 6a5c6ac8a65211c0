"""Where a run's start-up time goes, from the process's start to its first decoded batch.

The main thread's start-up is a sequence of phases: `begin` records the process's age when the run
itself begins (`python+hydra`: the interpreter, imports, Hydra), and each `lap(name)` the time since
the previous lap, so the phases add up to `first_batch_at_s` (the process's age when the first
batch starts decoding; metrics.json carries them as `startup`). TensorFlow is imported on another
thread while the main thread loads the sessions: its import time is reported beside them
(`tensorflow import`), and the main thread's wait for it is a phase of its own.
"""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_phases: dict[str, float] = {}
_begun: tuple[float, float] | None = None  # (process age, perf_counter) at `begin`
_last = time.perf_counter()


def process_age() -> float:
    """Seconds since this process started, as the OS records its start."""
    try:
        # Linux: both in time since boot, to 10 ms. psutil's create_time adds the boot time, which
        # /proc holds in whole seconds, so its ages are up to a second off.
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(0.0, float(uptime.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())


def begin() -> None:
    """A run begins: forget earlier phases, record the process's age as `python+hydra`."""
    global _begun, _last
    with _lock:
        _phases.clear()
        _last = time.perf_counter()
        _begun = (process_age(), _last)
        _phases["python+hydra"] = _begun[0]


def age() -> float:
    """The process's age now (measured from `begin` with the performance counter, when it ran)."""
    if _begun is None:
        return process_age()
    return _begun[0] + time.perf_counter() - _begun[1]


def lap(name: str) -> None:
    """Record the time since the previous lap (or `begin`) as phase `name`."""
    global _last
    with _lock:
        now = time.perf_counter()
        _phases[name] = now - _last
        _last = now


def record(name: str, seconds: float) -> None:
    """Record `seconds` as `name`: something beside the main thread's laps (an import on a thread)."""
    with _lock:
        _phases[name] = seconds


def snapshot() -> dict[str, float]:
    """The phases so far, in seconds, rounded to milliseconds."""
    with _lock:
        return {name: round(seconds, 3) for name, seconds in _phases.items()}
