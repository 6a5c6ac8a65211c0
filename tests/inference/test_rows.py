"""Units back into rows (inference/rows.py): sentence order, per-token and per-sentence columns, a model
failing on one sentence, CharNER's own tokens and their spans, and the row's status."""

from __future__ import annotations

import pyarrow as pa

from vnlp_batch.corpus.schema import output_schema
from vnlp_batch.inference.rows import UnitResult, assemble_rows, row_status

TEXT = "Ali geldi. Ayşe gitti!"
INPUT = pa.record_batch({"text": [TEXT, None]})


def units(**second: object) -> list[UnitResult]:
    """The two sentences of TEXT, given out of order (as length-sorted batches return them)."""
    first = UnitResult(
        0,
        "ok",
        ["Ali", "geldi", "."],
        [0, 4, 9],
        [3, 9, 10],
        {"pos": ["PROPN", "VERB", "PUNCT"], "dep_head": [2, 0, 2], "sentiment": 0.25},
    )
    columns = {"pos": ["PROPN", "VERB", "PUNCT"], "dep_head": [2, 0, 2], "sentiment": 0.75}
    columns.update(second.pop("columns", {}))  # type: ignore[arg-type]
    later = UnitResult(
        1, str(second.get("status", "ok")), ["Ayşe", "gitti", "!"], [11, 16, 21], [15, 21, 22], columns
    )
    return [later, first]


def schema(tasks: list[str], charner: bool = False) -> pa.Schema:
    return output_schema(INPUT.schema, tasks, charner=charner, spans=True)


def test_sentences_in_order_heads_relative_sentiment_per_sentence_and_per_row() -> None:
    batch, statuses = assemble_rows(
        INPUT,
        {0: units(), 1: [UnitResult(0, "empty")]},
        schema(["pos", "dep", "sentiment"]),
        [TEXT, None],
        own_tokens=False,
        row_values={0: {"sentiment": 0.5}},
    )
    row, empty = batch.to_pylist()
    assert row["tokens"] == ["Ali", "geldi", ".", "Ayşe", "gitti", "!"]
    assert row["sentence"] == [0, 0, 0, 1, 1, 1]
    assert [TEXT[s:e] for s, e in zip(row["token_start"], row["token_end"], strict=True)] == row["tokens"]
    assert row["dep_head"] == [2, 0, 2, 2, 0, 2]  # relative to each sentence
    assert row["sentence_sentiment"] == [0.25, 0.75] and row["sentiment"] == 0.5
    assert statuses == ["ok", "empty"]
    assert empty["tokens"] == [] and empty["pos"] == [] and empty["sentiment"] is None


def test_a_model_failing_on_one_sentence_leaves_nulls_for_its_tokens_only() -> None:
    failed = units(status="error:spucontext_pos: boom", columns={"pos": None})
    batch, statuses = assemble_rows(
        INPUT, {0: failed, 1: [UnitResult(0, "empty")]}, schema(["pos"]), [TEXT, None], own_tokens=False
    )
    row = batch.to_pylist()[0]
    assert row["pos"] == ["PROPN", "VERB", "PUNCT", None, None, None]
    assert statuses[0] == row["vnlp_status"] == "error:spucontext_pos: sentence 1: boom"
    every = [UnitResult(0, "error:spucontext_pos: boom", ["x"], [0], [1], {"pos": None})]
    one = pa.record_batch({"text": ["x"]})
    batch, _ = assemble_rows(one, {0: every}, output_schema(one.schema, ["pos"], spans=True), ["x"], False)
    assert batch.to_pylist()[0]["pos"] is None  # failed on its only unit: null, as a sentence row


def test_charner_tokens_get_spans_within_their_sentence() -> None:
    # WordPunct tokens of the sentences; the second "!" must be found in the second sentence.
    first, later = units()[1], units()[0]
    first.columns = {"ner": ["PER", "O", "O"], "ner_tokens": ["Ali", "geldi", "."]}
    later.columns = {"ner": ["PER", "O", "O"], "ner_tokens": ["Ayşe", "gitti", "!"]}
    batch, _ = assemble_rows(
        INPUT, {0: [later, first], 1: [UnitResult(0, "empty")]}, schema(["ner"], True), [TEXT, None], True
    )
    row = batch.to_pylist()[0]
    assert row["ner_tokens"] == ["Ali", "geldi", ".", "Ayşe", "gitti", "!"]
    spans = zip(row["ner_token_start"], row["ner_token_end"], strict=True)
    assert [TEXT[s:e] for s, e in spans] == row["ner_tokens"]


def test_row_status_names_the_first_failing_sentence_else_chunked_else_ok() -> None:
    def unit(k: int, status: str) -> UnitResult:
        return UnitResult(k, status, ["a"], [0], [1])

    assert row_status([unit(0, "ok")]) == "ok"
    assert row_status([unit(0, "error:too_long: 41 tokens > data.max_tokens=40")]) == (
        "error:too_long: 41 tokens > data.max_tokens=40"  # one unit: as a sentence row says it
    )
    assert row_status([unit(0, "ok"), unit(1, "ok:dp_chunked")]) == "ok:dp_chunked"
    assert row_status([unit(0, "ok:dp_chunked"), unit(1, "error:invalid_utf8"), unit(2, "error:x: y")]) == (
        "error:invalid_utf8: sentence 1"
    )
