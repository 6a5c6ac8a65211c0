"""The export cache: one directory per (model, weights, opset, quantization, tool versions)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib.metadata import version
from pathlib import Path


@cache
def tool_versions() -> dict[str, str]:
    """Versions that change what an export contains; all of them are part of the cache key."""
    from vnlp_batch import __version__

    versions = {"vnlp_batch": __version__}
    for dist in ("tf2onnx", "tensorflow", "tf-keras", "onnx", "vngrs-nlp", "onnxruntime-gpu", "onnxruntime"):
        try:
            versions[dist] = version(dist)
        except Exception:  # onnxruntime and onnxruntime-gpu are alternatives
            continue
    return versions


EXPORT_FORMAT = 7  # 2: fast graphs beside the monolithic one; 3: TreeStack fast graphs; 4: report;
# 5: padding-skipping stacks (left_context, right_context, state inputs); 6: `*_tail` graphs;
# 7: quantized exports hold every graph, fp32 exports their verification inputs


def cache_key(model: str, weights_fingerprint: str, opset: int, quantization: str) -> str:
    payload = json.dumps(
        {
            "format": EXPORT_FORMAT,
            "model": model,
            "weights": weights_fingerprint,
            "opset": opset,
            "quantization": quantization,
            "tools": tool_versions(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def export_dir(cache_dir: Path, model: str, key: str) -> Path:
    return Path(cache_dir) / "onnx" / model / key
