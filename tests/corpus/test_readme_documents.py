"""The README's example of the document building blocks runs as printed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Documents, more input formats, character offsets, CoNLL-U (building blocks)"


def test_the_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    exec(compile(code, str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "documents_tr.conllu"
    assert lines[0].startswith("0 [('Meteoroloji', 'Meteoroloji'), ('Genel', 'Genel')")
    assert len(lines) == 3
