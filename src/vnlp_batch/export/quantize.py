"""`export.quantize=int8_dynamic`: onnxruntime dynamic quantization, and an account of what it did.

Every graph of a model (the monolithic one and each fast graph) is quantized the same way. onnxruntime
quantizes MatMuls (int8 weights; activations quantized per call, over all the rows of that call) and
Gathers from constant tables (int8 embedding rows); it has no int8 GRU, so GRUs stay fp32. A graph
with neither (a context stack or a `*_tail` graph is GRUs only) comes out unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEAVY_OPS = ("GRU", "LSTM", "MatMul", "Gemm")  # ops that hold weights and do most of the arithmetic


@dataclass
class QuantizationInfo:
    quantized_ops: dict[str, int]  # fp32 op type -> how many of them now read int8 weights
    untouched_ops: dict[str, int]  # heavy fp32 ops still in the graph (ORT has no int8 GRU)
    size_before: int
    size_after: int


def quantized_ops(fp32: Any, int8: Any) -> dict[str, int]:
    """Ops of the onnx.ModelProto `fp32` that read int8 weights in its quantized copy `int8`: MatMuls
    replaced by integer MatMuls, and Gathers whose table became an int8 initializer."""
    import onnx

    before = Counter(node.op_type for node in fp32.graph.node)
    after = Counter(node.op_type for node in int8.graph.node)
    out = {op: before[op] - after[op] for op in ("MatMul", "Gemm") if after[op] < before[op]}
    int8_tables = {
        t.name
        for t in int8.graph.initializer
        if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    }
    gathers = sum(1 for n in int8.graph.node if n.op_type == "Gather" and n.input[0] in int8_tables)
    if gathers:
        out["Gather"] = gathers
    return out


class _DropPreprocessHint(logging.Filter):
    # onnxruntime logs, on the root logger, a hint to run its pre-processing (shape inference and
    # graph optimization) first: the graphs are quantized as exported, so the hint is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    hint = _DropPreprocessHint()
    logging.getLogger().addFilter(hint)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(hint)


def quantize_int8_dynamic(fp32: Path, out: Path) -> QuantizationInfo:
    """Write an int8-weight copy of `fp32` to `out` (metadata is re-written by the caller)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
    before, after = onnx.load(str(fp32)), onnx.load(str(out))
    counts = Counter(node.op_type for node in after.graph.node)
    heavy = {op: counts[op] for op in HEAVY_OPS if counts[op]}
    return QuantizationInfo(quantized_ops(before, after), heavy, fp32.stat().st_size, out.stat().st_size)
