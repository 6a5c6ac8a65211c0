"""The annotation columns added to every output file (SPEC §6), and the output schema of a run."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from vnlp_batch.corpus.errors import SchemaError

# Part of the resume key: bump it whenever the output layout (columns, their types or meaning, file
# metadata) changes, so that a rerun redoes files written in the old layout.
OUTPUT_SCHEMA_VERSION = 1

# Column order in output files is this order, whatever order the tasks are given in.
ANNOTATION_FIELDS: pa.Schema = pa.schema(
    [
        pa.field("tokens", pa.list_(pa.string())),
        pa.field("morph", pa.list_(pa.string())),
        pa.field("lemma", pa.list_(pa.string())),
        pa.field("pos", pa.list_(pa.string())),
        pa.field("ner", pa.list_(pa.string())),
        # CharNER labels WordPunct tokens, not the Treebank `tokens`: they come with their own tokens.
        pa.field("ner_tokens", pa.list_(pa.string())),
        pa.field("dep_head", pa.list_(pa.int16())),  # 1-based head token index; 0 = root
        pa.field("dep_rel", pa.list_(pa.string())),
        pa.field("sentiment", pa.float32()),  # positive-class probability
        pa.field("vnlp_status", pa.string()),  # per-row outcome, e.g. "empty" or "error:<reason>"
    ]
)

ALWAYS_COLUMNS: tuple[str, ...] = ("tokens", "vnlp_status")
TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "morph": ("morph", "lemma"),
    "pos": ("pos",),
    "ner": ("ner",),
    "dep": ("dep_head", "dep_rel"),
    "sentiment": ("sentiment",),
}
ALL_TASKS = "all"


def annotation_fields(tasks: Iterable[str], charner: bool = False) -> list[pa.Field]:
    """The annotation columns a run over `tasks` produces ("all" = every task), in ANNOTATION_FIELDS order.

    `tokens` and `vnlp_status` are always included. Unknown task names raise `ValueError`.
    """
    wanted = set(ALWAYS_COLUMNS)
    for task in tasks:
        if task == ALL_TASKS:
            wanted.update(c for columns in TASK_COLUMNS.values() for c in columns)
        elif task in TASK_COLUMNS:
            wanted.update(TASK_COLUMNS[task])
        else:
            raise ValueError(f"unknown task {task!r}; choose from: {', '.join([*TASK_COLUMNS, ALL_TASKS])}")
    if charner:
        wanted.add("ner_tokens")
    return [field for field in ANNOTATION_FIELDS if field.name in wanted]


def output_schema(input_schema: pa.Schema, tasks: Iterable[str], charner: bool = False) -> pa.Schema:
    """The input columns, unchanged and first, followed by the annotation columns of `tasks`.

    The input's schema-level metadata is kept (e.g. pandas' index description). Input columns named
    like an annotation column this run produces raise `SchemaError` listing them.
    """
    added = annotation_fields(tasks, charner)
    clashes = [field.name for field in added if field.name in input_schema.names]
    if clashes:
        raise SchemaError(
            f"input column(s) {', '.join(map(repr, clashes))} have the name of an annotation column this "
            "run adds; rename them in the input (annotation columns: "
            f"{', '.join(field.name for field in added)})"
        )
    return pa.schema([*input_schema, *added], metadata=input_schema.metadata)
