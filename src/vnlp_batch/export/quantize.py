"""`export.quantize=int8_dynamic`: onnxruntime dynamic quantization, and an account of what it did."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class QuantizationInfo:
    quantized_ops: dict[str, int]  # fp32 op type -> how many of them were replaced
    untouched_ops: dict[str, int]  # heavy fp32 ops still in the graph (ORT has no int8 GRU)
    size_before: int
    size_after: int


def _op_counts(path: Path) -> Counter:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def quantize_int8_dynamic(fp32: Path, out: Path) -> QuantizationInfo:
    """Write an int8-weight copy of `fp32` to `out` (metadata is re-written by the caller)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
    before, after = _op_counts(fp32), _op_counts(out)
    replaced = {op: before[op] - after.get(op, 0) for op in before if after.get(op, 0) < before[op]}
    heavy = {op: after[op] for op in ("GRU", "LSTM", "MatMul", "Gemm") if after.get(op)}
    return QuantizationInfo(replaced, heavy, fp32.stat().st_size, out.stat().st_size)
