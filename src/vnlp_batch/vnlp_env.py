"""The one place that imports TensorFlow and VNLP, so that the environment is right before they load.

VNLP 0.2.4 is written for tf.keras 2. On TensorFlow >= 2.16 `tf.keras` is Keras 3 unless
TF_USE_LEGACY_KERAS=1 is set *before* TensorFlow is first imported; under Keras 3 VNLP's builders
convert 100x slower and every GRU becomes an ONNX Loop. Every module that needs TensorFlow or VNLP
imports them through here.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

VNLP_VERSION = "0.2.4"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ banner lines drown our own log


class VnlpMissingError(ImportError):
    """VNLP (vngrs-nlp) is not installed, or not the version this tool reproduces."""


def tensorflow() -> ModuleType:
    """TensorFlow, imported with legacy (tf.keras 2) Keras."""
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise RuntimeError("TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set")
    import tensorflow as tf

    return tf


def vnlp_module(name: str) -> ModuleType:
    """Import `vnlp.<name>` (e.g. "part_of_speech_tagger.spu_context_pos") after checking the install."""
    check_vnlp()
    return importlib.import_module(f"vnlp.{name}")


def check_vnlp() -> None:
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
    tensorflow()


def vnlp_package_dir() -> Path:
    """The installed `vnlp` package's directory (VNLP's resource files are inside it)."""
    check_vnlp()
    import vnlp

    return Path(vnlp.__file__).parent
