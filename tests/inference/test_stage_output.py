"""The inference stage's output files: every row in order, input columns intact, typed annotation columns,
file-level metadata, empty rows and empty files, and metrics.json (README, "Inference stage")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRunner, WriteParquet, texts_table, words
from vnlp.tokenizer import TreebankWordTokenize

from vnlp_batch.corpus.schema import SPAN_COLUMNS, output_schema
from vnlp_batch.files import sha256_file


def rich_table(texts: list[str | None]) -> pa.Table:
    """Input with an int id, a float, a nested struct (with a list inside) and the text in the middle."""
    n = len(texts)
    meta = pa.array(
        [{"source": f"src{i % 3}", "tags": [f"t{j}" for j in range(i % 4)]} for i in range(n)],
        pa.struct([("source", pa.string()), ("tags", pa.list_(pa.string()))]),
    )
    return pa.table(
        {
            "doc_id": pa.array([1000 + 7 * i for i in range(n)], pa.int64()),
            "text": pa.array(texts, pa.string()),
            "score": pa.array([i / 3 if i % 5 else None for i in range(n)], pa.float64()),
            "meta": meta,
        }
    )


@pytest.mark.parametrize("decoder", ["fast", "monolithic"])
def test_rows_in_order_input_columns_kept_and_readable_everywhere(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str], decoder: str
) -> None:
    # Each sentence twice, far apart and (batch_size=4 → 32-row chunks) in different chunks; lengths
    # vary so that sorting by length inside a chunk really permutes rows.
    texts = short_texts[:20] + short_texts[:20][::-1]
    table = rich_table(texts)
    path = write_parquet("corpus.parquet", table, row_group_size=15)

    run = run_stage(path, batch_size=4, decoder=decoder)

    target = run.output_dir / "corpus.parquet"
    assert run.report.written == [target]
    out = pq.read_table(target)
    assert out.num_rows == len(texts)
    assert out.column_names == [*table.column_names, "tokens", *SPAN_COLUMNS, "pos", "vnlp_status"]
    assert out.select(table.column_names).equals(table)  # values, types and order of every input column
    assert out.schema.field("tokens").type == pa.list_(pa.string())
    assert out.schema.field("pos").type == pa.list_(pa.string())
    assert out.schema.field("vnlp_status").type == pa.string()

    rows = out.to_pylist()
    assert [r["vnlp_status"] for r in rows] == ["ok"] * len(texts)
    for r in rows:
        assert r["tokens"] == TreebankWordTokenize(r["text"])
        assert len(r["pos"]) == len(r["tokens"])
    # Annotations belong to their own row: equal sentences got equal labels wherever they were.
    by_text: dict[str, list[str]] = {}
    for r in rows:
        assert by_text.setdefault(r["text"], r["pos"]) == r["pos"]

    frame = pd.read_parquet(target)
    assert frame["doc_id"].tolist() == table.column("doc_id").to_pylist()
    assert frame["vnlp_status"].tolist() == ["ok"] * len(texts)
    assert duckdb.sql(f"select count(*) from '{target}'").fetchall() == [(len(texts),)]
    assert [r[0] for r in duckdb.sql(f"select doc_id from '{target}'").fetchall()] == table.column(
        "doc_id"
    ).to_pylist()


def test_output_layout_nested_names_relative_dir_and_output_inside_the_input(
    run_stage: StageRunner, write_parquet: WriteParquet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Equal base names in different subdirectories keep their relative paths instead of colliding.
    first = write_parquet("2024/part.parquet", words(3))
    second = write_parquet("2025/part.parquet", words(2, 3))
    inputs = first.parent.parent
    monkeypatch.chdir(tmp_path / "in")
    run = run_stage(inputs, output_dir="../annotated")  # relative: to the current directory
    out = tmp_path / "annotated"
    assert run.output_dir == out
    assert run.report.written == [out / "2024" / "part.parquet", out / "2025" / "part.parquet"]
    assert pq.read_table(out / "2025" / "part.parquet").column("text").to_pylist() == words(2, 3)

    # An output directory inside the input directory is not read back as input on the next run.
    nested = inputs / "annotated"
    run_stage(inputs, output_dir=nested)
    again = run_stage(inputs, output_dir=nested)
    assert again.report.skipped == [first, second]
    assert again.report.written == [] and again.report.bad_files == {}
    assert sorted(p.relative_to(nested).as_posix() for p in nested.rglob("*.parquet")) == [
        "2024/part.parquet",
        "2025/part.parquet",
    ]


def test_null_empty_and_whitespace_rows_are_empty_in_place(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str]
) -> None:
    texts = [short_texts[0], None, "", "  \t\n ", short_texts[1], "\u3000\xa0", None, short_texts[2]]
    path = write_parquet("blanks.parquet", texts)

    rows = run_stage(path).output(path).to_pylist()

    assert [r["id"] for r in rows] == list(range(len(texts)))
    assert [r["text"] for r in rows] == texts
    expected = ["ok", "empty", "empty", "empty", "ok", "empty", "empty", "ok"]
    assert [r["vnlp_status"] for r in rows] == expected
    for r, status in zip(rows, expected, strict=True):
        if status == "empty":
            assert r["tokens"] == [] and r["pos"] == []
        else:
            assert r["tokens"] and len(r["pos"]) == len(r["tokens"])


@pytest.mark.parametrize("task", ["pos", "all"])
def test_decoder_batches_of_only_blank_or_too_long_rows(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str], task: str
) -> None:
    # Rows are sorted by token count inside a chunk and blank or too-long rows count 0 tokens, so with
    # batch_size=2 the first decoder batches hold nothing to decode; the fast decoders used to abort
    # the process on such a 0-row batch.
    long_row = "çok uzun " * 20
    texts = [short_texts[0], None, long_row, "", short_texts[1], " "]
    path = write_parquet("sparse.parquet", texts)

    rows = run_stage(path, task=task, batch_size=2, max_tokens=30).output(path).to_pylist()

    statuses = [r["vnlp_status"] for r in rows]
    assert statuses[0] == statuses[4] == "ok"
    assert statuses[1] == statuses[3] == statuses[5] == "empty"
    assert statuses[2] == "error:too_long: 40 tokens > data.max_tokens=30"
    assert rows[2]["tokens"] == [] and rows[2]["pos"] == []
    assert [len(r["pos"]) for r in rows] == [len(r["tokens"]) for r in rows]


def test_empty_file_gives_an_empty_output_with_the_output_schema(
    run_stage: StageRunner, write_parquet: WriteParquet
) -> None:
    table = rich_table([])
    path = write_parquet("nothing.parquet", table)

    run = run_stage(path)

    assert run.report.written == [run.output_dir / "nothing.parquet"]
    out = run.output(path)
    assert out.num_rows == 0
    assert out.schema.equals(output_schema(table.schema, ["pos"], spans=True), check_metadata=False)
    assert out.schema.metadata[b"vnlp_batch.models"] == b'{"pos": "spucontext_pos"}'
    assert run.report.metrics["rows"] == 0


def test_metrics_json_is_written_in_the_run_dir(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str]
) -> None:
    texts = [*short_texts[:6], None]
    path = write_parquet("m.parquet", texts)

    run = run_stage(path, batch_size=3)

    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert metrics == run.report.metrics
    assert metrics["rows"] == len(texts)
    assert metrics["tokens"] == sum(len(TreebankWordTokenize(t)) for t in texts if t)
    assert metrics["batch_size"] == 3
    assert metrics["providers"] == {"spucontext_pos": ["CPUExecutionProvider"]}
    assert metrics["wall_s"] > 0
    assert metrics["rows_per_s"] > 0 and metrics["tokens_per_s"] > metrics["rows_per_s"]
    rate = metrics["rows"] / metrics["wall_s"]
    assert abs(metrics["rows_per_s"] - rate) <= 0.05 * rate + 0.01
    assert metrics["peak_rss_mb"] > 50
    assert {"decode", "write"} <= set(metrics["stages"])
    assert all(0 <= seconds <= metrics["wall_s"] + 0.01 for seconds in metrics["stages"].values())


def test_task_all_adds_every_column_typed_with_file_metadata(
    run_stage: StageRunner,
    write_parquet: WriteParquet,
    short_texts: list[str],
    exports: Any,
    synthetic_weights: Any,
) -> None:
    texts = [*short_texts[:10], None]
    table = texts_table(texts)
    path = write_parquet("all.parquet", table)

    run = run_stage(path, task="all")

    out = run.output(path)
    expected_types = {  # README, "Inference stage", in output order
        "tokens": pa.list_(pa.string()),
        "sentence": pa.list_(pa.int32()),
        "token_start": pa.list_(pa.int32()),
        "token_end": pa.list_(pa.int32()),
        "morph": pa.list_(pa.string()),
        "lemma": pa.list_(pa.string()),
        "pos": pa.list_(pa.string()),
        "ner": pa.list_(pa.string()),
        "dep_head": pa.list_(pa.int16()),
        "dep_rel": pa.list_(pa.string()),
        "sentiment": pa.float32(),
        "sentence_sentiment": pa.list_(pa.float32()),
        "vnlp_status": pa.string(),
    }
    assert out.column_names == ["id", "text", *expected_types]
    for name, type_ in expected_types.items():
        assert out.schema.field(name).type == type_, name
    assert out.select(["id", "text"]).equals(table)

    rows = out.to_pylist()
    assert [r["vnlp_status"] for r in rows] == ["ok"] * 10 + ["empty"]
    for r in rows[:10]:
        n = len(r["tokens"])
        assert n > 0
        assert [len(r[c]) for c in ("morph", "lemma", "pos", "ner", "dep_head", "dep_rel")] == [n] * 6
        # 0 = root, else an arc of the 40-token window; VNLP does not keep arcs inside the sentence,
        # so with synthetic weights a head may point past its last token, as VNLP's own would.
        assert all(0 <= head <= 40 for head in r["dep_head"])
        assert 0.0 <= r["sentiment"] <= 1.0
    blank = rows[10]
    assert all(blank[c] == [] for c in ("tokens", "morph", "lemma", "pos", "ner", "dep_head", "dep_rel"))
    assert blank["sentiment"] is None

    from vnlp_batch import __version__

    meta = {k.decode(): v.decode() for k, v in out.schema.metadata.items()}
    assert meta["vnlp_batch.version"] == __version__
    models = {
        "morph": "stemmer",
        "pos": "spucontext_pos",
        "ner": "spucontext_ner",
        "dep": "spucontext_dp",
        "sentiment": "sentiment",
    }
    assert json.loads(meta["vnlp_batch.models"]) == models
    digests = json.loads(meta["vnlp_batch.onnx_sha256"])  # model -> graph role -> sha256
    assert sorted(digests) == sorted(models.values())
    for name, roles in digests.items():
        assert "monolithic" in roles
        for role, digest in roles.items():
            assert digest == sha256_file(exports.models[name].graphs[role]), (name, role)
    weights = json.loads(meta["vnlp_batch.weights"])
    assert weights == json.loads(json.dumps(synthetic_weights.provenance))
    assert weights["synthetic"] is True
    assert json.loads(meta["vnlp_batch.synthetic_weights"]) is True
    config = json.loads(meta["vnlp_batch.config"])
    assert config["task"] == {"name": "all"}
    assert config["data"]["path"] == str(path)
    assert config["weights"]["source"] == "synthetic"
    assert meta["vnlp_batch.source_file"] == str(path)
