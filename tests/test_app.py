"""The run (app.py): its terminal summary, and what its start-up thread reads."""

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


def test_preview_is_a_screenful_whatever_the_rows_length(tmp_path: Path) -> None:
    # Document rows run to hundreds of tokens: at most 3 rows and 40 tokens in all, the cut said.
    rows = [[f"d{r}t{t}" for t in range(n)] for r, n in enumerate([30, 25, 5, 7])]
    table = pa.table(
        {
            "tokens": rows,
            "pos": [["NOUN"] * len(r) for r in rows],
            "sentiment": pa.array([0.5] * 4, pa.float32()),
            "vnlp_status": ["ok"] * 4,
        }
    )
    path = tmp_path / "documents.parquet"
    pq.write_table(table, path)

    lines = render(_preview(path)).splitlines()

    shown = [t for r in rows for t in r if any(f" {t} " in line for line in lines)]
    assert shown == rows[0] + rows[1][:10]  # 40 tokens, in order; the third and fourth rows not reached
    assert [line for line in lines if "… 15 more tokens" in line]
    assert sum("sentiment = 0.5000" in line for line in lines) == 2
    assert len(lines) <= 50


def test_start_up_thread_prepares_the_components_of_the_run() -> None:
    from vnlp_batch import app
    from vnlp_batch.featurize.candidates import deterministic_generator
    from vnlp_batch.models.declarations import get_model

    deterministic_generator.cache_clear()
    app._import_stage_in_background([get_model("spucontext_pos")]).join()
    assert deterministic_generator.cache_info().currsize == 0  # a run without the stemmer reads no lexicon

    app._import_stage_in_background([get_model("spucontext_pos"), get_model("stemmer")]).join()
    assert deterministic_generator.cache_info().currsize == 1  # the stemmer's lexicons, read on that thread
