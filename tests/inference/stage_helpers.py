"""Helpers shared by the inference-stage tests (imported by name: test modules cannot import conftest,
whose module name is ambiguous across the test tree)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vnlp_batch.config.schema import AppConfig, RuntimeConfig
from vnlp_batch.corpus.outputs.names import output_name
from vnlp_batch.inference.stage import InferenceReport


@dataclass
class StageRun:
    """One call of the stage: its report, its config, and where it wrote."""

    report: InferenceReport
    cfg: AppConfig
    output_dir: Path
    run_dir: Path

    def output(self, input_file: Path) -> pa.Table:
        """The annotated output table of `input_file` (flat layout: `news.jsonl` → `news.parquet`)."""
        return pq.read_table(self.output_dir / output_name(Path(input_file), "parquet"))


StageRunner = Callable[..., StageRun]
# test_int8.py records its figures under this name; conftest.py prints them in the terminal summary.
INT8_PROPERTY = "int8_vs_fp32"
WriteParquet = Callable[..., Path]


def runtime_for(decoder: str) -> RuntimeConfig:
    """CPU only, with the given decoder ("fast" or "monolithic")."""
    return RuntimeConfig(providers=["CPUExecutionProvider"], decoder=decoder)


def texts_table(texts: list[str | None]) -> pa.Table:
    """`id` (int64, 0..n-1) and `text` (string) columns."""
    return pa.table({"id": pa.array(range(len(texts)), pa.int64()), "text": pa.array(texts, pa.string())})


def words(n: int, start: int = 0) -> list[str]:
    """`n` one- or two-token texts, distinct and cheap to decode."""
    return [f"kelime{i}" if i % 2 else f"satır {i}" for i in range(start, start + n)]


def parquet_files(directory: Path) -> list[str]:
    """Names of the visible Parquet files in `directory` (the writer's temporaries start with a dot)."""
    return sorted(p.name for p in Path(directory).glob("*.parquet"))


def temporaries(directory: Path) -> list[str]:
    """Names of the writer's temporary files (`.<name>.<host>.<pid>.tmp`, and any other `.*.tmp`) in
    `directory`."""
    return sorted(p.name for p in Path(directory).glob(".*.tmp"))
