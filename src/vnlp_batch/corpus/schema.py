"""The annotation columns added to every output file, and the output schema of a run (README,
"Inference stage"; the span columns: "Documents, more input formats, character offsets").

The span columns (`SPAN_COLUMNS`: a sentence index and a character span per token, CharNER's token
spans, sentiment per sentence) are added when `spans=True`; the stage will always ask for them once
documents and offsets are wired in (a follow-up). `INPUT_ERROR_COLUMN` is not an output column: the
readers of `corpus.formats` end every record batch with it, and the stage turns a non-null reason into
the row's `vnlp_status` (`error:input: <reason>`) and drops the column.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from vnlp_batch.corpus.errors import SchemaError

# Part of the resume key: bump it whenever the output layout (columns, their types or meaning, file
# metadata) changes, so that a rerun redoes files written in the old layout.
OUTPUT_SCHEMA_VERSION = 2

# Column order in output files is this order, whatever order the tasks are given in.
ANNOTATION_FIELDS: pa.Schema = pa.schema(
    [
        pa.field("tokens", pa.list_(pa.string())),
        pa.field("sentence", pa.list_(pa.int32())),  # per token: its sentence's 0-based index in the row
        pa.field("token_start", pa.list_(pa.int32())),  # per token: span in the row's text (Python
        pa.field("token_end", pa.list_(pa.int32())),  # string indices, end exclusive)
        pa.field("morph", pa.list_(pa.string())),
        pa.field("lemma", pa.list_(pa.string())),
        pa.field("pos", pa.list_(pa.string())),
        pa.field("ner", pa.list_(pa.string())),
        # CharNER labels WordPunct tokens, not the Treebank `tokens`: they come with their own tokens.
        pa.field("ner_tokens", pa.list_(pa.string())),
        pa.field("ner_token_start", pa.list_(pa.int32())),  # per CharNER token: span in the row's text
        pa.field("ner_token_end", pa.list_(pa.int32())),
        pa.field("dep_head", pa.list_(pa.int16())),  # 1-based head token index; 0 = root
        pa.field("dep_rel", pa.list_(pa.string())),
        pa.field("sentiment", pa.float32()),  # positive-class probability (of the row)
        pa.field("sentence_sentiment", pa.list_(pa.float32())),  # per sentence of the row
        pa.field("vnlp_status", pa.string()),  # per-row outcome, e.g. "empty" or "error:<reason>"
    ]
)

ALWAYS_COLUMNS: tuple[str, ...] = ("tokens", "vnlp_status")
SPAN_COLUMNS: tuple[str, ...] = ("sentence", "token_start", "token_end")
CHARNER_COLUMNS: tuple[str, ...] = ("ner_tokens",)
CHARNER_SPAN_COLUMNS: tuple[str, ...] = ("ner_token_start", "ner_token_end")
SENTIMENT_SPAN_COLUMNS: tuple[str, ...] = ("sentence_sentiment",)

INPUT_ERROR_COLUMN = "vnlp_input_error"
INPUT_ERROR_FIELD = pa.field(INPUT_ERROR_COLUMN, pa.string())
TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "morph": ("morph", "lemma"),
    "pos": ("pos",),
    "ner": ("ner",),
    "dep": ("dep_head", "dep_rel"),
    "sentiment": ("sentiment",),
}
ALL_TASKS = "all"


def annotation_fields(tasks: Iterable[str], charner: bool = False, spans: bool = False) -> list[pa.Field]:
    """The annotation columns a run over `tasks` produces ("all" = every task), in ANNOTATION_FIELDS order.

    `tokens` and `vnlp_status` are always included; `spans` adds SPAN_COLUMNS (and the CharNER and
    per-sentence sentiment ones where those run). Unknown task names raise `ValueError`.
    """
    wanted = set(ALWAYS_COLUMNS)
    if spans:
        wanted.update(SPAN_COLUMNS)
    for task in tasks:
        if task == ALL_TASKS:
            wanted.update(c for columns in TASK_COLUMNS.values() for c in columns)
        elif task in TASK_COLUMNS:
            wanted.update(TASK_COLUMNS[task])
        else:
            raise ValueError(f"unknown task {task!r}; choose from: {', '.join([*TASK_COLUMNS, ALL_TASKS])}")
    if charner:
        wanted.update(CHARNER_COLUMNS)
        if spans:
            wanted.update(CHARNER_SPAN_COLUMNS)
    if spans and "sentiment" in wanted:
        wanted.update(SENTIMENT_SPAN_COLUMNS)
    return [field for field in ANNOTATION_FIELDS if field.name in wanted]


def output_schema(
    input_schema: pa.Schema, tasks: Iterable[str], charner: bool = False, spans: bool = False
) -> pa.Schema:
    """The input columns, unchanged and first, followed by the annotation columns of `tasks` (and the
    span columns with `spans`, see `annotation_fields`).

    The input's schema-level metadata is kept (e.g. pandas' index description). Input columns named
    like an annotation column this run produces raise `SchemaError` listing them.
    """
    added = annotation_fields(tasks, charner, spans)
    clashes = [field.name for field in added if field.name in input_schema.names]
    if clashes:
        raise SchemaError(
            f"input column(s) {', '.join(map(repr, clashes))} have the name of an annotation column this "
            "run adds; rename them in the input (annotation columns: "
            f"{', '.join(field.name for field in added)})"
        )
    return pa.schema([*input_schema, *added], metadata=input_schema.metadata)
