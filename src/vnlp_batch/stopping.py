"""SIGTERM and SIGINT as a request to stop cleanly, not a kill.

Slurm sends SIGTERM at a job's time limit and on `scancel`, some seconds before SIGKILL; Ctrl-C sends
SIGINT. Either one used to end the process wherever it was: SIGTERM silently (exit 143, the output's
temporary left behind), SIGINT with a KeyboardInterrupt traceback from deep inside onnxruntime or
tf.data. Inside `StopOnSignal()` a signal is only recorded, and the work raises `Stopped` at its next
`check()` — a batch boundary, where leaving is clean; a second signal raises at once, for a run stuck
between boundaries. `StopOnSignal(immediate=True)` raises at once: for phases with no boundaries
(weights, export, model loading), whose own files are written atomically anyway.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """The run was asked to stop by `signum`. A BaseException, like KeyboardInterrupt, so that code
    catching a file's errors (`except Exception`) does not take it for one of them."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.reported = False  # set once the "stopped: …" line has been logged

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process killed by it (143, 130)."""
        return 128 + self.signum


class StopOnSignal:
    """Context manager turning SIGTERM and SIGINT into `Stopped` (see the module docstring).

    Handlers can only be set from the main thread; elsewhere this does nothing and `check()` never
    raises. The previous handlers are restored on exit. A signal still unchecked when the block ends
    normally is dropped: the work it would have interrupted is complete.
    """

    def __init__(self, immediate: bool = False) -> None:
        self.immediate = immediate
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def check(self) -> None:
        """Raise `Stopped` if a signal has asked the run to stop."""
        if self.requested is not None:
            raise Stopped(self.requested)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.requested is None
        self.requested = signum
        if self.immediate or not first:
            raise Stopped(signum)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            # None: a handler set outside Python, which cannot be put back; the default is closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous = {}
