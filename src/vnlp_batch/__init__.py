"""vnlp-batch: VNLP's Turkish annotators at corpus scale, exported to ONNX and decoded in batches."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vnlp-batch")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.1.0+src"
