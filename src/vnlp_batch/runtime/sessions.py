"""Create onnxruntime sessions from config, logging once which provider each session really got.

onnxruntime-gpu without CUDA libraries logs two errors and silently runs on CPU; the only reliable
answer is `session.get_providers()`, which is what we log and record. A provider that a session asked
for and did not get is not asked for again in this process: its libraries are missing, and every
further attempt would print onnxruntime's errors again (24 times for `task=all`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from vnlp_batch.config.schema import RuntimeConfig

log = logging.getLogger(__name__)

_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
_reported: set[tuple[str, ...]] = set()
_failed: set[str] = set()  # providers a session of this process asked for and did not get


def make_session(path: Path | bytes, runtime: RuntimeConfig):
    """An InferenceSession on the first of `runtime.providers` that works here, CPU as the last resort."""
    import onnxruntime as ort

    providers, spin_wait = runtime.providers, runtime.spin_wait
    # The GPU wheel prints two errors per session when CUDA libraries are missing; we print one line.
    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    options.intra_op_num_threads = runtime.session_threads()
    # onnxruntime's threads spin between runs by default. The fast decoders make many short runs per
    # batch, so spinning threads hold every core and starve the loader thread (on 2 cores a task=pos
    # run waited 15 s of 41 s for batches; without spinning 0.6 s, and decoding itself got faster).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
    options.graph_optimization_level = getattr(
        ort.GraphOptimizationLevel, _OPT_LEVELS[runtime.graph_optimization_level]
    )
    options.log_severity_level = 3  # the GPU wheel's CUDA-missing errors are reported by us, once
    available = ort.get_available_providers()
    wanted = [p for p in providers if p in available and p not in _failed] or ["CPUExecutionProvider"]
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    session = ort.InferenceSession(path if isinstance(path, bytes) else str(path), options, providers=wanted)
    got = tuple(session.get_providers())
    _failed.update(p for p in wanted if p not in got)
    if got not in _reported:
        _reported.add(got)
        if got[0] != providers[0]:
            log.warning("onnxruntime: asked for %s, running on %s", ", ".join(providers), got[0])
        else:
            log.info("onnxruntime: running on %s", got[0])
    return session
