"""Create onnxruntime sessions from config, logging once which provider each session really got.

onnxruntime-gpu without CUDA libraries logs two red errors per session and silently runs on CPU.
So CUDA is probed first (`cuda_problem`: the CUDA provider library and what it links against, the
driver, a device, cuDNN), without importing onnxruntime, and is not asked for where it cannot work:
one warning says why, and onnxruntime has nothing to complain about. `session_providers` is what a
session asks for, and so also what a run expects its sessions to get before any exists (the resume
key holds the provider, and an all-done rerun is recognised without loading a model). What a
session got is still read back from `session.get_providers()`, logged and recorded; a provider a
session asked for and did not get is not asked for again in this process.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
import sys
from pathlib import Path

from vnlp_batch.config.schema import RuntimeConfig

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# onnxruntime-gpu >= 1.19 is built against cuDNN 9 (its own preload_dlls looks for libcudnn.so.9); its
# CUDA GRU kernels need it, and the provider library only loads it on first use.
CUDNN = {"linux": "libcudnn.so.9", "win32": "cudnn64_9.dll"}
CUDA_PROVIDER_LIBRARY = {
    "linux": "libonnxruntime_providers_cuda.so",
    "win32": "onnxruntime_providers_cuda.dll",
}
CUDA_DRIVER = {"linux": "libcuda.so.1", "win32": "nvcuda.dll"}

_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
_reported: set[tuple[str, ...]] = set()
_failed: set[str] = set()  # providers a session of this process asked for and did not get
_warned: set[str] = set()  # providers already said to be unusable here


def _platform() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


@functools.cache
def cuda_problem() -> str | None:
    """Why onnxruntime's CUDA provider cannot run in this process, or None if it can.

    Loads what onnxruntime would load (the provider library, so every CUDA library it links against,
    the driver, cuDNN) with ctypes, which reports a missing one as an exception rather than on
    stderr; asks the driver for a device. Does not import onnxruntime.
    """
    platform = _platform()
    found = importlib.util.find_spec("onnxruntime")
    if found is None or not found.submodule_search_locations:
        return "onnxruntime is not installed"
    if platform not in CUDA_PROVIDER_LIBRARY:
        return f"onnxruntime has no CUDA provider on {sys.platform}"
    provider = Path(next(iter(found.submodule_search_locations))) / "capi" / CUDA_PROVIDER_LIBRARY[platform]
    if not provider.exists():
        return "this onnxruntime package has no CUDA provider (install onnxruntime-gpu)"
    # The loader's own words (which library) go to the debug log: the warning stays one short line.
    try:
        ctypes.CDLL(str(provider))
    except OSError as exc:
        log.debug("loading %s: %s", provider, exc)
        return "the CUDA libraries onnxruntime-gpu needs are not installed"
    try:
        driver = ctypes.CDLL(CUDA_DRIVER[platform])
    except OSError as exc:
        log.debug("loading the CUDA driver: %s", exc)
        return "no CUDA driver"
    count = ctypes.c_int(0)
    if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        return "the CUDA driver finds no GPU"
    try:
        ctypes.CDLL(CUDNN[platform])
    except OSError as exc:
        log.debug("loading cuDNN: %s", exc)
        return "cuDNN 9 is not installed"
    return None


def session_providers(runtime: RuntimeConfig) -> list[str]:
    """The providers a session of `runtime` asks onnxruntime for, in order, CPU last: the configured
    ones, less CUDA where `cuda_problem` says it cannot run and any provider an earlier session of
    this process asked for and did not get. Its first is the provider a session is expected to get."""
    wanted = [p for p in runtime.providers if p not in _failed]
    if CUDA in wanted and cuda_problem() is not None:
        wanted.remove(CUDA)
        if CUDA not in _warned:
            _warned.add(CUDA)
            log.warning(
                "runtime.providers asks for %s, but CUDA cannot run here (%s); running on %s "
                "(runtime=cpu asks for the CPU only)",
                CUDA,
                cuda_problem(),
                CPU,
            )
    if CPU not in wanted:
        wanted.append(CPU)
    return wanted


def make_session(path: Path | bytes, runtime: RuntimeConfig):
    """An InferenceSession on the first of `runtime.providers` that works here, CPU as the last resort."""
    import onnxruntime as ort

    spin_wait = runtime.spin_wait
    wanted = session_providers(runtime)
    # Should CUDA still fail (the probe passed, the session did not), onnxruntime's own errors show
    # once: the provider is not asked for again.
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
    options.log_severity_level = 3
    session = ort.InferenceSession(path if isinstance(path, bytes) else str(path), options, providers=wanted)
    got = tuple(session.get_providers())
    _failed.update(p for p in wanted if p not in got)
    if got not in _reported:
        _reported.add(got)
        if got[0] != wanted[0]:
            log.warning("onnxruntime: asked for %s, running on %s", ", ".join(wanted), got[0])
        else:
            log.info("onnxruntime: running on %s", got[0])
    return session
