"""The run's terminal summary (app.py): what it prints about the output."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from vnlp_batch.app import _preview


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_preview_escapes_control_characters_and_markup_one_line_per_cell(tmp_path: Path) -> None:
    tokens = ["a\x1b[31mb", "c\nd", "[/]", "[bold]x", "e\u202ef"]
    table = pa.table(
        {
            "text": pa.array([b"\xff bozuk", " ".join(tokens).encode()], pa.binary()).view(pa.string()),
            "tokens": [[], tokens],
            "pos": [[], ["P1", "P2", "P3", "P4", "P5"]],
            "vnlp_status": ["error:invalid_utf8", "ok"],
        }
    )
    path = tmp_path / "hostile.parquet"
    pq.write_table(table, path)

    screen = render(_preview(path))

    assert "\x1b" not in screen and "\u202e" not in screen
    lines = screen.splitlines()
    for shown, label in [("a\\x1b[31mb", "P1"), ("c\\nd", "P2"), ("[/]", "P3"), ("[bold]x", "P4")]:
        assert [line for line in lines if shown in line and label in line], (shown, screen)
    assert [line for line in lines if "e\\u202ef" in line and "P5" in line]
    assert sum("P" in line and "│" in line for line in lines) == 5  # one line per token
