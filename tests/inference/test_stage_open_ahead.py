"""Files are opened ahead (inference/opener.py): the first while the sessions load and warm up, the
next while the current one decodes — so tf.data's start-up and the first chunk's reading are not a
pause before or between files."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, runtime_for, words

from vnlp_batch import app
from vnlp_batch.config.schema import AppConfig, DataConfig, TaskConfig, WeightsConfig
from vnlp_batch.corpus.errors import BadFileError
from vnlp_batch.inference import opener as opener_module
from vnlp_batch.inference.annotate import Annotator
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.inference.opener import FileOpener

WAIT_S = 60.0  # generous: the event is set by another thread within milliseconds when it comes at all


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> dict[str, threading.Event]:
    """An event per input file name, set once the loader has produced that file's first batch."""
    events: dict[str, threading.Event] = {}
    real_load = opener_module.load

    def load(file: Path, *args, **kwargs) -> Iterator:
        event = events.setdefault(Path(file).name, threading.Event())
        batches = real_load(file, *args, **kwargs)
        for i, batch in enumerate(batches):
            if i == 0:
                event.set()
            yield batch

    monkeypatch.setattr(opener_module, "load", load)
    return events


def _waits_for(events: dict[str, threading.Event], name: str) -> bool:
    """Whether `name`'s first batch arrives within WAIT_S (its loader may not have been called yet)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if name in events and events[name].wait(0.05):
            return True
        time.sleep(0.05)
    return False


def test_first_file_is_read_while_the_models_warm_up(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    opened: dict[str, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = write_parquet("a.parquet", words(5))
    seen: list[bool] = []
    real_warm_up = Annotator.warm_up

    def warm_up(self: Annotator) -> None:
        # Opened in sequence after warm-up, the first batch would never arrive while we wait here.
        seen.append(_waits_for(opened, "a.parquet"))
        real_warm_up(self)

    monkeypatch.setattr(Annotator, "warm_up", warm_up)
    run = run_stage(file.parent)

    assert seen == [True]
    assert run.output(file).column("text").to_pylist() == words(5)


def test_next_file_is_read_while_the_current_one_decodes(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    opened: dict[str, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = write_parquet("a.parquet", words(5))
    second = write_parquet("b.parquet", words(4, 100))
    seen: list[tuple[str, bool]] = []
    real_annotate = Annotator.annotate

    def annotate(self: Annotator, texts, tokens):
        if texts and texts[0] in words(5) and not seen:
            seen.append(("b.parquet read during a.parquet", _waits_for(opened, "b.parquet")))
        return real_annotate(self, texts, tokens)

    monkeypatch.setattr(Annotator, "annotate", annotate)
    run = run_stage(first.parent)

    assert seen == [("b.parquet read during a.parquet", True)]
    assert run.output(first).column("text").to_pylist() == words(5)
    assert run.output(second).column("text").to_pylist() == words(4, 100)
    assert run.report.written == [run.output_dir / "a.parquet", run.output_dir / "b.parquet"]


def test_a_done_file_is_not_opened(
    run_stage: StageRunner, write_parquet: WriteParquet, opened: dict[str, threading.Event]
) -> None:
    first = write_parquet("a.parquet", words(5))
    run_stage(first.parent)
    second = write_parquet("b.parquet", words(4, 100))
    opened.clear()

    run = run_stage(first.parent)

    assert sorted(opened) == ["b.parquet"]
    assert run.report.skipped == [first]
    assert run.output(second).column("text").to_pylist() == words(4, 100)


def test_the_cli_reads_the_first_file_while_the_sessions_load(
    write_parquet: WriteParquet,
    opened: dict[str, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
    exports: Any,
    synthetic_weights: Any,
    cache_dir: Path,
    tmp_path: Path,
) -> None:
    file = write_parquet("a.parquet", words(5))
    cfg = AppConfig(
        task=TaskConfig("pos"),
        data=DataConfig(path=str(file.parent), output_dir=str(tmp_path / "out")),
        runtime=runtime_for("fast"),
        weights=WeightsConfig(source="synthetic", seed=0),
        stage="infer",
        cache_dir=str(cache_dir),
        run_dir=str(tmp_path / "run"),
    )
    seen: list[bool] = []
    real_load = LoadedModel.load

    def load(*args: Any, **kwargs: Any) -> LoadedModel:
        seen.append(_waits_for(opened, "a.parquet"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(LoadedModel, "load", load)
    graphs = {"spucontext_pos": exports.models["spucontext_pos"].graphs}

    assert app._infer(cfg, "pos", "auto", graphs, synthetic_weights.provenance) == 0
    assert seen == [True]
    assert pq.read_table(tmp_path / "out" / "a.parquet").column("text").to_pylist() == words(5)


def test_opener_reraises_a_bad_file_when_taken_and_drops_what_is_never_taken(
    write_parquet: WriteParquet, tmp_path: Path
) -> None:
    good = write_parquet("good.parquet", words(3))
    bad = write_parquet("bad.parquet", words(3))
    bad.write_bytes(b"PAR1 not really parquet PAR1")
    cfg = AppConfig(data=DataConfig(path=str(good.parent)), run_dir=str(tmp_path / "run"))
    with FileOpener(cfg) as opener:
        opener.ahead(bad)
        opener.ahead(good)  # never taken: dropped on close
        with pytest.raises(BadFileError, match=f"^{re.escape(str(bad))}: "):
            opener.take(bad)
    with FileOpener(cfg) as opener:
        store, batches = opener.take(good)  # not asked for ahead: opened now
        batch = next(batches)
        assert sorted(batch.texts) == sorted(words(3))
        assert store.rows(batch.chunk) == 3
