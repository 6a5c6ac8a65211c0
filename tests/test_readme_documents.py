"""The README's Documents example runs as printed: its first command (JSON Lines documents → Parquet and
CoNLL-U), then its Python reading the outputs back with pandas, duckdb and conllu."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Documents, input formats, character offsets, CoNLL-U"


def test_the_readme_documents_example_runs(
    exports: Any,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    commands = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1).replace("\\\n", " ")
    first = next(line for line in commands.splitlines() if line.startswith(".venv/bin/python"))
    args = shlex.split(first)[1:]
    (tmp_path / "src").symlink_to(README.parent / "src")
    done = subprocess.run(
        [sys.executable, *args, "runtime=cpu"],
        cwd=tmp_path,
        env={**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "0 Meteoroloji 'Meteoroloji' " + lines[0].split()[-1]  # sentence, token, its span
    assert len(lines) == 10  # 8 tokens, the duckdb rows, the first CoNLL-U sentence
    assert lines[8].startswith("[('haber-001', 8, ")  # 11 documents, sentences per document, sentiment
    assert lines[9].startswith("documents_tr.jsonl-r0-s0 [('Meteoroloji', ")
