"""Annotation columns (README, "Inference stage") and the output schema: input columns first, clashes
refused."""

from __future__ import annotations

import pyarrow as pa
import pytest

from vnlp_batch.corpus.errors import SchemaError
from vnlp_batch.corpus.schema import (
    ANNOTATION_FIELDS,
    CHARNER_COLUMNS,
    CHARNER_SPAN_COLUMNS,
    INPUT_ERROR_COLUMN,
    SENTIMENT_SPAN_COLUMNS,
    SPAN_COLUMNS,
    annotation_fields,
    output_schema,
)
from vnlp_batch.models.declarations import TASK_DEFAULTS

INPUT = pa.schema(
    [pa.field("doc_id", pa.int64(), nullable=False), ("text", pa.large_string())],
    metadata={b"source": b"news"},
)


# Columns a run without `spans` and without CharNER never has.
OPTIONAL = {*SPAN_COLUMNS, *CHARNER_COLUMNS, *CHARNER_SPAN_COLUMNS, *SENTIMENT_SPAN_COLUMNS}


def names(fields: list[pa.Field]) -> list[str]:
    return [field.name for field in fields]


def test_annotation_columns_have_the_spec_types() -> None:
    strings = pa.list_(pa.string())
    assert {field.name: field.type for field in ANNOTATION_FIELDS} == {
        "tokens": strings,
        "morph": strings,
        "lemma": strings,
        "pos": strings,
        "ner": strings,
        "ner_tokens": strings,  # CharNER only: the WordPunct tokens its labels refer to
        "dep_head": pa.list_(pa.int16()),
        "dep_rel": strings,
        "sentiment": pa.float32(),
        "vnlp_status": pa.string(),
        # The span columns (README, "Documents, …"): per-token sentence index and character span,
        # CharNER token spans, per-sentence sentiment.
        "sentence": pa.list_(pa.int32()),
        "token_start": pa.list_(pa.int32()),
        "token_end": pa.list_(pa.int32()),
        "ner_token_start": pa.list_(pa.int32()),
        "ner_token_end": pa.list_(pa.int32()),
        "sentence_sentiment": pa.list_(pa.float32()),
    }
    assert INPUT_ERROR_COLUMN not in ANNOTATION_FIELDS.names


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (["ner"], ["tokens", "ner", "vnlp_status"]),
        (["morph"], ["tokens", "morph", "lemma", "vnlp_status"]),
        (["pos"], ["tokens", "pos", "vnlp_status"]),
        (["sentiment"], ["tokens", "sentiment", "vnlp_status"]),
        # Canonical order, whatever order the tasks come in; duplicates are harmless.
        (["dep", "morph", "dep"], ["tokens", "morph", "lemma", "dep_head", "dep_rel", "vnlp_status"]),
        ([], ["tokens", "vnlp_status"]),
        (["all"], [n for n in ANNOTATION_FIELDS.names if n not in OPTIONAL]),
    ],
)
def test_annotation_fields_per_task(tasks: list[str], expected: list[str]) -> None:
    assert names(annotation_fields(tasks)) == expected


def test_every_configurable_task_has_columns() -> None:
    everything = names(annotation_fields(TASK_DEFAULTS))
    assert everything == [n for n in ANNOTATION_FIELDS.names if n not in OPTIONAL]
    assert names(annotation_fields(["ner"], charner=True)) == ["tokens", "ner", "ner_tokens", "vnlp_status"]


def test_unknown_task_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"unknown task 'lemma'; choose from: morph, pos, ner, dep, sentiment, all"
    ):
        annotation_fields(["lemma"])


def test_output_schema_keeps_input_columns_first_and_unchanged() -> None:
    schema = output_schema(INPUT, ["ner", "sentiment"])
    assert schema.names == ["doc_id", "text", "tokens", "ner", "sentiment", "vnlp_status"]
    assert schema.field("doc_id") == INPUT.field("doc_id")  # nullable=False survives
    assert schema.field("text").type == pa.large_string()
    assert schema.metadata == {b"source": b"news"}
    assert schema.field("ner").type == pa.list_(pa.string())


def test_clashing_input_columns_are_listed() -> None:
    clashing = INPUT.append(pa.field("tokens", pa.string())).append(pa.field("pos", pa.string()))
    with pytest.raises(SchemaError) as info:
        output_schema(clashing, ["pos"])
    message = str(info.value)
    assert "'tokens', 'pos'" in message
    assert "rename" in message


def test_annotation_names_this_run_does_not_produce_are_not_clashes() -> None:
    earlier_output = INPUT.append(pa.field("sentiment", pa.float32()))
    assert output_schema(earlier_output, ["ner"]).names[:3] == ["doc_id", "text", "sentiment"]
    with pytest.raises(SchemaError, match="'sentiment'"):
        output_schema(earlier_output, ["sentiment"])


def test_span_columns_come_with_spans() -> None:
    assert names(annotation_fields(["pos"], spans=True)) == [
        "tokens",
        "sentence",
        "token_start",
        "token_end",
        "pos",
        "vnlp_status",
    ]
    assert names(annotation_fields(["ner", "sentiment"], charner=True, spans=True)) == [
        "tokens",
        "sentence",
        "token_start",
        "token_end",
        "ner",
        "ner_tokens",
        "ner_token_start",
        "ner_token_end",
        "sentiment",
        "sentence_sentiment",
        "vnlp_status",
    ]
    assert names(annotation_fields(["all"], charner=True, spans=True)) == list(ANNOTATION_FIELDS.names)
    schema = output_schema(INPUT, ["dep"], spans=True)
    assert schema.names == ["doc_id", "text", "tokens", *SPAN_COLUMNS, "dep_head", "dep_rel", "vnlp_status"]
