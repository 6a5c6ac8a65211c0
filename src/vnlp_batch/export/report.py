"""The export report: JSON for machines, a rich table for people."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vnlp_batch.export.stage import ExportResult, QuantizedPath


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
        versus = " vs fp32" if g.export != "none" else ""
        size = f"{g.size_bytes / 1e6:.1f} MB"
        if g.size_fp32_bytes:
            size += f" ({g.size_fp32_bytes / 1e6:.1f})"
        quant = g.quantization if g.export == "none" or g.quantized_ops else "none (nothing to quantize)"
        table.add_row(
            g.model,
            g.role,
            quant,
            size,
            f"{g.seconds:.1f}",
            f"{parity['max_abs_diff']:.1e}{versus}" if parity else "not verified",
            (f"{parity['label_agreement']:.2%} of {parity['rows']}" if parity else "")
            + (" (fast path)" if g.verified_as == "fast path" else ""),
            "cached" if g.cached else "new",
        )
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    console.print(table)
    paths = result.quantized_paths()
    if paths:
        console.print(_quantized_table(paths))


def _counts(ops: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(ops.items())) or "none"


def _quantized_table(paths: list[QuantizedPath]) -> Table:
    """Per model and decoding path: what was quantized, and what it changed against fp32."""
    table = Table(title="quantized vs fp32 (verification batch)", title_justify="left")
    columns = ("model", "path", "quantized ops", "still fp32", "size MB", "labels = fp32", "max |Δp|", "ms")
    for column in columns:
        table.add_column(column, justify="right" if column in ("size MB", "ms") else "left")
    for p in paths:
        kept = _counts(p.untouched_ops)
        if p.fp32_graphs:
            kept += f"; graphs {', '.join(p.fp32_graphs)}"
        table.add_row(
            p.model,
            p.path,
            _counts(p.quantized_ops),
            kept,
            f"{p.size_fp32_bytes / 1e6:.1f} → {p.size_bytes / 1e6:.1f}",
            f"{p.label_agreement:.2%} of {p.rows}",
            f"{p.max_abs_diff:.1e}",
            f"{p.latency_fp32_ms:.1f} → {p.latency_ms:.1f}",
        )
    return table
