"""The export report: JSON for machines, a rich table for people."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vnlp_batch.export.stage import ExportResult


def write_report(result: ExportResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.to_json())
    return path


def print_report(result: ExportResult, console: Console | None = None) -> None:
    table = Table(title="ONNX export", title_justify="left")
    for column in ("model", "graph", "quant", "size", "seconds", "max |Δp|", "label agreement", ""):
        table.add_column(column, justify="right" if column in ("size", "seconds") else "left")
    for g in result.graphs:
        parity = g.parity or {}
        versus = " vs fp32" if g.quantization != "none" else ""
        size = f"{g.size_bytes / 1e6:.1f} MB"
        if g.size_fp32_bytes:
            size += f" ({g.size_fp32_bytes / 1e6:.1f})"
        table.add_row(
            g.model,
            g.role,
            g.quantization,
            size,
            f"{g.seconds:.1f}",
            f"{parity['max_abs_diff']:.1e}{versus}" if parity else "not verified",
            (f"{parity['label_agreement']:.2%} of {parity['rows']}" if parity else "")
            + (" (fast path)" if g.verified_as == "fast path" else ""),
            "cached" if g.cached else "new",
        )
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 140)
    console.print(table)
    for g in result.graphs:
        if g.quantized_ops is not None:
            console.print(
                f"{g.model} int8: quantized {g.quantized_ops or 'nothing'}; still fp32: {g.untouched_ops}; "
                f"latency {g.latency_ms} ms per verification batch"
            )
