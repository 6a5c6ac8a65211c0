"""Documents (`data.unit=document`): each row split into sentences, each sentence annotated exactly as a
sentence row is; one output row per input row with sentence indices, spans, per-sentence and row-level
sentiment; CoNLL-U and JSON Lines outputs that agree with the Parquet one (README, Documents)."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any

import conllu
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stage_helpers import StageRun, StageRunner

from vnlp_batch.corpus.sample import SAMPLE_DOCUMENTS_JSONL, SAMPLE_DOCUMENTS_TXT, SAMPLE_SENTENCES_CSV
from vnlp_batch.featurize.offsets import TREEBANK_REWRITES
from vnlp_batch.featurize.sentences import split_sentences
from vnlp_batch.featurize.treebank import treebank_word_tokenize

TOKEN_COLUMNS = ("morph", "lemma", "pos", "ner", "dep_head", "dep_rel")
FORMATS = ["parquet", "conllu", "jsonl"]


@pytest.fixture(scope="module")
def documents(stage_runner: StageRunner, tmp_path_factory: pytest.TempPathFactory) -> StageRun:
    """task=all over the document corpus (JSON Lines), unit=document, in all three output formats."""
    root = tmp_path_factory.mktemp("documents")
    return stage_runner(
        SAMPLE_DOCUMENTS_JSONL, root / "out", root / "run", "all", id_column="id", output_format=FORMATS
    )


@pytest.fixture(scope="module")
def document_rows(documents: StageRun) -> list[dict[str, Any]]:
    return documents.output(SAMPLE_DOCUMENTS_JSONL).to_pylist()


def sentence_run(stage_runner: StageRunner, root: Path, texts: list[str], task: str) -> list[dict[str, Any]]:
    """`texts`, one per row, annotated with data.unit=sentence (VNLP's per-string semantics)."""
    path = root / f"{task}.parquet"
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), path)
    return (
        stage_runner(path, root / f"out-{task}", root / f"run-{task}", task, unit="sentence")
        .output(path)
        .to_pylist()
    )


def test_each_sentence_is_annotated_as_the_same_sentence_row(
    document_rows: list[dict[str, Any]], stage_runner: StageRunner, tmp_path: Path
) -> None:
    sentences = [s for r in document_rows for s in split_sentences(r["text"])]
    assert len(sentences) > 3 * len(document_rows)  # documents of several sentences
    alone = iter(sentence_run(stage_runner, tmp_path, [s.text for s in sentences], "all"))
    whole = sentence_run(stage_runner, tmp_path, [r["text"] for r in document_rows], "sentiment")

    for row, whole_row in zip(document_rows, whole, strict=True):
        assert row["vnlp_status"].startswith("ok"), row["vnlp_status"]
        split = split_sentences(row["text"])
        assert sorted(set(row["sentence"])) == list(range(len(split)))
        for k, sentence in enumerate(split):
            expected = next(alone)
            assert expected["text"] == sentence.text
            mine = [i for i, s in enumerate(row["sentence"]) if s == k]
            assert [row["tokens"][i] for i in mine] == expected["tokens"]
            for column in TOKEN_COLUMNS:  # dep_head relative to the sentence, as in its own row
                assert [row[column][i] for i in mine] == expected[column], (row["id"], k, column)
            assert row["sentence_sentiment"][k] == pytest.approx(expected["sentiment"], abs=1e-6)
            spans = zip(row["token_start"], row["token_end"], strict=True)
            starts, ends = zip(*[span for i, span in enumerate(spans) if i in mine], strict=True)
            assert (starts[0], ends[-1]) == (sentence.start, sentence.end)
        # The row's own sentiment is VNLP's on the whole text: what data.unit=sentence gives.
        assert row["sentiment"] == pytest.approx(whole_row["sentiment"], abs=1e-6)


def test_every_token_maps_back_to_its_span_in_the_row_text(document_rows: list[dict[str, Any]]) -> None:
    for row in document_rows:
        text = row["text"]
        previous_end = 0
        for token, start, end in zip(row["tokens"], row["token_start"], row["token_end"], strict=True):
            assert previous_end <= start < end <= len(text)
            assert text[start:end] in TREEBANK_REWRITES.get(token, (token,))
            assert not text[previous_end:start].strip()  # only whitespace between tokens
            previous_end = end
        assert not text[previous_end:].strip()


def test_conllu_parses_back_to_the_parquet_rows(
    documents: StageRun, document_rows: list[dict[str, Any]]
) -> None:
    text = (documents.output_dir / "documents_tr.conllu").read_text(encoding="utf-8")
    parsed = conllu.parse(text)
    by_row: dict[int, list[conllu.TokenList]] = {}
    for sentence in parsed:
        row = int(sentence.metadata["sent_id"].split("-r")[1].split("-s")[0])
        by_row.setdefault(row, []).append(sentence)
    assert sorted(by_row) == list(range(len(document_rows)))
    out_of_range = 0
    for number, row in enumerate(document_rows):
        sentences = by_row[number]
        assert "newdoc id" in sentences[0].metadata and sentences[0].metadata["row_id"] == row["id"]
        assert [s.metadata["sent_id"] for s in sentences] == [
            f"documents_tr.jsonl-r{number}-s{k}" for k in range(len(sentences))
        ]
        tokens = [t for s in sentences for t in s]
        assert [t["form"] for t in tokens] == row["tokens"]
        assert [t["lemma"] for t in tokens] == row["lemma"]
        assert [t["upos"] for t in tokens] == row["pos"]
        assert [t["xpos"] for t in tokens] == row["morph"]  # VNLP's analysis (README, Output formats)
        assert [t["misc"]["NER"] for t in tokens] == row["ner"]
        assert [t["misc"]["TokenRange"] for t in tokens] == [
            f"{s}:{e}" for s, e in zip(row["token_start"], row["token_end"], strict=True)
        ]
        heads = iter(row["dep_head"])
        relations = iter(row["dep_rel"])
        for sentence in sentences:
            for token in sentence:
                head, relation = next(heads), next(relations)
                assert 0 <= token["head"] <= len(sentence)  # valid CoNLL-U, whatever VNLP's argmax
                if 0 <= head <= len(sentence):
                    assert (token["head"], token["deprel"]) == (head, relation)
                else:  # kept, marked, never written as if valid
                    out_of_range += 1
                    assert (token["head"], token["deprel"]) == (0, "dep")
                    assert token["misc"]["VnlpHead"] == str(head) and token["misc"]["VnlpDeprel"] == relation
    metrics = json.loads((documents.run_dir / "metrics.json").read_text())
    assert out_of_range > 0  # synthetic weights point past sentence ends often
    assert metrics["counts"]["out_of_range_heads"] == out_of_range
    assert metrics["counts"]["sentences"] == sum(len(s) for s in by_row.values())


def test_jsonl_output_holds_the_parquet_rows(
    documents: StageRun, document_rows: list[dict[str, Any]]
) -> None:
    lines = (documents.output_dir / "documents_tr.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(document_rows)
    for line, row in zip(lines, document_rows, strict=True):
        record = json.loads(line)
        assert record.keys() == row.keys()
        for key, value in row.items():
            if isinstance(value, float) or key == "sentence_sentiment":
                assert record[key] == pytest.approx(value, rel=1e-6)
            else:
                assert record[key] == value, key


def test_outputs_open_with_pandas_and_duckdb_and_reruns_are_skipped_with_the_same_bytes(
    documents: StageRun, stage_runner: StageRunner
) -> None:
    parquet = documents.output_dir / "documents_tr.parquet"
    frame = pd.read_parquet(parquet)
    assert frame["id"].tolist() == [
        json.loads(line)["id"] for line in SAMPLE_DOCUMENTS_JSONL.read_text().splitlines()
    ]
    sentences = duckdb.sql(f"select sum(len(list_distinct(sentence))) from '{parquet}'").fetchall()[0][0]
    assert sentences == sum(len(split_sentences(t)) for t in frame["text"])
    before = {f: (documents.output_dir / f"documents_tr.{f}").read_bytes() for f in FORMATS}
    again = stage_runner(
        SAMPLE_DOCUMENTS_JSONL,
        documents.output_dir,
        documents.run_dir.parent / "again",
        "all",
        id_column="id",
        output_format=FORMATS,
    )
    assert again.report.skipped == [SAMPLE_DOCUMENTS_JSONL] and again.report.written == []
    assert {f: (documents.output_dir / f"documents_tr.{f}").read_bytes() for f in FORMATS} == before


def test_a_missing_output_format_file_redoes_its_input(run_stage: StageRunner, tmp_path: Path) -> None:
    data = tmp_path / "in" / "news.csv"
    data.parent.mkdir()
    shutil.copy(SAMPLE_SENTENCES_CSV, data)
    first = run_stage(data, unit="sentence", output_format=["parquet", "conllu"])
    assert first.report.written == [first.output_dir / "news.parquet", first.output_dir / "news.conllu"]
    conllu_bytes = (first.output_dir / "news.conllu").read_bytes()
    (first.output_dir / "news.conllu").unlink()
    again = run_stage(data, unit="sentence", output_format=["parquet", "conllu"])
    assert again.report.skipped == [] and (first.output_dir / "news.conllu").read_bytes() == conllu_bytes


def test_text_files_one_row_per_line_or_per_blank_line_block(run_stage: StageRunner, tmp_path: Path) -> None:
    blocks = run_stage(SAMPLE_DOCUMENTS_TXT, unit="document").output(SAMPLE_DOCUMENTS_TXT).to_pylist()
    documents = [json.loads(line)["text"] for line in SAMPLE_DOCUMENTS_JSONL.read_text().splitlines()]
    assert [r["text"] for r in blocks] == documents
    assert all(r["vnlp_status"].startswith("ok") for r in blocks)
    lines = run_stage(SAMPLE_DOCUMENTS_TXT, unit="sentence", output_dir=tmp_path / "lines").output(
        SAMPLE_DOCUMENTS_TXT
    )
    rows = lines.to_pylist()
    raw = SAMPLE_DOCUMENTS_TXT.read_text(encoding="utf-8").split("\n")[:-1]
    assert [r["text"] for r in rows] == raw  # every line, blank ones too ("empty"), in order
    assert [r["line"] for r in rows] == list(range(1, len(raw) + 1))
    assert [r["vnlp_status"] == "empty" for r in rows] == [not line.strip() for line in raw]
    for r in rows:
        assert r["tokens"] == (treebank_word_tokenize(r["text"]) if r["text"].strip() else [])


def test_a_malformed_json_line_is_that_rows_error_and_the_rest_is_annotated(
    run_stage: StageRunner, tmp_path: Path
) -> None:
    path = tmp_path / "in" / "news.jsonl"
    path.parent.mkdir()
    lines = [
        '{"id": 1, "text": "Bugün hava güzel."}',
        '{"id": 2, "text": "kırık',
        '{"id": 3, "text": "Yarın."}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = run_stage(path).output(path).to_pylist()
    assert [r["vnlp_status"][:17] for r in rows] == ["ok", "error:input: line", "ok"]
    assert "line 2" in rows[1]["vnlp_status"] and rows[1]["tokens"] == []
    assert [r["id"] for r in rows] == [1, None, 3]


def test_a_too_long_sentence_fails_alone_and_names_its_sentence(
    run_stage: StageRunner, tmp_path: Path
) -> None:
    long = " ".join(["Uzun", *["kelime"] * 29]) + "."
    path = tmp_path / "in" / "d.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"text": [f"Kısa bir cümle. {long} Son cümle."]}), path)
    (row,) = run_stage(path, max_tokens=20).output(path).to_pylist()
    assert row["vnlp_status"] == "error:too_long: sentence 1: 31 tokens > data.max_tokens=20"
    assert row["sentence"] == [0, 0, 0, 0, 2, 2, 2] and row["tokens"][-1] == "."
    assert len(row["pos"]) == 7 and all(isinstance(p, str) for p in row["pos"])


def test_rows_that_look_like_documents_are_pointed_out_once(
    run_stage: StageRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "in" / "docs.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"text": ["Birinci cümle. İkinci cümle.", "Tek cümle."] * 5}), path)
    with caplog.at_level(logging.WARNING):
        run_stage(path, unit="sentence")
    hints = [r.getMessage() for r in caplog.records if "data.unit=document" in r.getMessage()]
    assert len(hints) == 1 and "5 of the first 10 rows hold several sentences" in hints[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run_stage(path, unit="document", output_dir=tmp_path / "documents")
    assert not [r for r in caplog.records if "data.unit=document" in r.getMessage()]


def test_sentiment_is_finite_per_sentence_and_per_row(document_rows: list[dict[str, Any]]) -> None:
    for row in document_rows:
        assert len(row["sentence_sentiment"]) == len(set(row["sentence"]))
        assert all(0 <= v <= 1 and math.isfinite(v) for v in [*row["sentence_sentiment"], row["sentiment"]])


def test_data_format_names_the_format_of_a_directory_of_json_files(
    run_stage: StageRunner, tmp_path: Path
) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "notes.txt").write_text("not an input\n")
    for name, text in (("a.json", "Bugün hava güzel."), ("b.json", "Yarın yağmur var. Şemsiye alın.")):
        (directory / name).write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    run = run_stage(directory, format="jsonl")
    assert run.report.written == [run.output_dir / "a.parquet", run.output_dir / "b.parquet"]
    assert run.output(directory / "b.json").column("sentence").to_pylist() == [[0, 0, 0, 0, 1, 1, 1]]
