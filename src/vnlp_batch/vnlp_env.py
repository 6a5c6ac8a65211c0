"""The one place that imports TensorFlow and VNLP, so that the environment is right before they load.

VNLP 0.2.4 is written for tf.keras 2. On TensorFlow >= 2.16 `tf.keras` is Keras 3 unless
TF_USE_LEGACY_KERAS=1 is set *before* TensorFlow is first imported; under Keras 3 VNLP's builders
convert 100x slower and every GRU becomes an ONNX Loop. Every module that needs TensorFlow or VNLP
imports them through here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

VNLP_VERSION = "0.2.4"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow here only builds Keras models on the CPU and runs tf.data: its C++ log (a failed cuInit
# on every CPU-only machine, among others) says nothing a user can act on; real errors raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Lines TensorFlow's C++ code writes to stderr while it is imported, before its log level applies
# (absl's log is not initialised yet): about CUDA on a machine without it, and its CPU kernels. Other
# lines written meanwhile are passed on.
IMPORT_NOISE = re.compile(
    r"absl::InitializeLog|cudart_stub\.cc|Could not find cuda drivers|cuInit|oneDNN custom operations"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|optimized to use available CPU instructions|rebuild TensorFlow with the appropriate compiler flags"
    r"|TF-TRT Warning"
)
_import_lock = threading.Lock()
import_seconds: float | None = None  # how long this process took to import TensorFlow (metrics.json)


class VnlpMissingError(ImportError):
    """VNLP (vngrs-nlp) is not installed, or not the version this tool reproduces."""


def tensorflow() -> ModuleType:
    """TensorFlow, imported with legacy (tf.keras 2) Keras, quietly, with the GPUs hidden from it.

    onnxruntime runs the models; TensorFlow would otherwise reserve most of a GPU's memory the first
    time it runs anything. Hiding GPUs from TensorFlow leaves CUDA itself, and so onnxruntime, alone.
    """
    global import_seconds
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise RuntimeError("TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set")
    with _import_lock:  # one import at a time: the loader thread and the main thread may both ask
        if import_seconds is None:
            started = time.perf_counter()
            with _stderr_without(IMPORT_NOISE):
                import tensorflow as tf

                with contextlib.suppress(RuntimeError):  # devices already in use: too late to hide
                    tf.config.set_visible_devices([], "GPU")
            import_seconds = time.perf_counter() - started
    import tensorflow as tf

    return tf


@contextlib.contextmanager
def _stderr_without(noise: re.Pattern[str]) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 (C++ code writes there directly) inside the
    block, then write out the lines that do not match `noise`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not noise.search(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def vnlp_module(name: str) -> ModuleType:
    """Import `vnlp.<name>` (e.g. "part_of_speech_tagger.spu_context_pos") after checking the install."""
    check_vnlp()
    return importlib.import_module(f"vnlp.{name}")


def vnlp_package_dir() -> Path:
    """Where VNLP's package (and its resource files) is installed, found without importing it: VNLP's
    package imports TensorFlow, which a run that only reads resources (labels, tokenizer models)
    need not wait for."""
    check_vnlp_installed()
    found = importlib.util.find_spec("vnlp")
    if found is None or found.origin is None:
        raise VnlpMissingError(f"vngrs-nlp=={VNLP_VERSION} is installed but its package `vnlp` is not found")
    return Path(found.origin).parent


def check_vnlp() -> None:
    """Fail with an actionable message when vngrs-nlp is missing or has the wrong version; import
    TensorFlow the way VNLP needs it."""
    check_vnlp_installed()
    tensorflow()


def check_vnlp_installed() -> None:
    """Fail with an actionable message when vngrs-nlp is missing or has the wrong version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("vngrs-nlp")
    except PackageNotFoundError:
        raise VnlpMissingError(
            f"vngrs-nlp=={VNLP_VERSION} is not installed. It pins tensorflow<2.16, so install it without "
            f"its dependencies: pip install --no-deps vngrs-nlp=={VNLP_VERSION} (`make` does this)."
        ) from None
    if found != VNLP_VERSION:
        raise VnlpMissingError(
            f"vngrs-nlp {found} is installed but vnlp-batch reproduces {VNLP_VERSION}: "
            f"pip install --no-deps vngrs-nlp=={VNLP_VERSION}"
        )
