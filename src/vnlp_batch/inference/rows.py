"""Decoded units back into rows: one output row per input row, in input order.

A unit is what the decoders annotate (inference/loader.py): a whole row with `data.unit=sentence`, one
sentence of it with `data.unit=document`. A row's columns are its units' in sentence order:

- per-token columns (`tokens`, `pos`, `dep_head`, ...) are the units' lists one after the other, with
  `sentence` giving each token's sentence index and `token_start`/`token_end` its span in the row's
  text. `dep_head` stays relative to its sentence (0 = root), as CoNLL-U has it. A model that failed on
  one sentence of a document leaves nulls for that sentence's tokens; one that failed on every unit of
  the row leaves the column null, as a failed sentence row always has.
- CharNER labels tokens of its own (`ner_tokens`): their spans (`ner_token_start`/`ner_token_end`)
  are found in the row's text inside their sentence.
- `sentence_sentiment` holds one value per sentence; `sentiment` is one value for the row: with
  `data.unit=document`, VNLP's sentiment of the row's whole text (given as `row_values`), which is
  what the same row gives with `data.unit=sentence`.
- `vnlp_status` is the unit's status for a one-unit row; for a document, the first sentence error
  with its sentence named (`error:too_long: sentence 3: ...`), else `ok:dp_chunked` if any sentence
  was decoded in chunks, else `ok`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from vnlp_batch.featurize.offsets import TokenAlignmentError, word_punct_token_spans

# Columns the row assembly fills itself; every other annotation column comes from the models.
_OWN = {"tokens", "sentence", "token_start", "token_end", "vnlp_status", "sentiment", "sentence_sentiment"}
_OWN_TOKENS = ("ner", "ner_tokens")  # aligned with CharNER's tokens when CharNER runs


@dataclass
class UnitResult:
    """One decoded unit (or one that was not decoded: a status and no tokens)."""

    sentence: int
    status: str
    tokens: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    columns: dict[str, Any] = field(default_factory=dict)


def row_status(units: Sequence[UnitResult]) -> str:
    if len(units) == 1:
        return units[0].status
    for unit in units:
        if unit.status.startswith("error"):
            kind, sep, reason = unit.status.partition(": ")
            where = f"{kind}: sentence {unit.sentence}"
            return f"{where}: {reason}" if sep else where
    return "ok:dp_chunked" if any(u.status == "ok:dp_chunked" for u in units) else "ok"


def status_key(status: str) -> str:
    """The status as counted in the summary: `error` for every error, else the status."""
    return "error" if status.startswith("error") else status


def assemble_rows(
    record_batch: pa.RecordBatch,
    units: Mapping[int, list[UnitResult]],
    schema: pa.Schema,
    texts: Sequence[str | None],
    own_tokens: bool,
    row_values: Mapping[int, dict[str, Any]] | None = None,
) -> tuple[pa.RecordBatch, list[str]]:
    """The output record batch of a chunk (its input columns, then `schema`'s annotation columns),
    and each row's status. `units` holds every row position's units; `row_values` the row-level
    values (`sentiment`) computed on whole rows, when the rows were split into sentences."""
    n = record_batch.num_rows
    columns: dict[str, list] = {f.name: [] for f in schema if f.name not in record_batch.schema.names}
    list_columns = {f.name for f in schema if pa.types.is_list(f.type)}
    statuses = []
    for position in range(n):
        row = sorted(units[position], key=lambda u: u.sentence)
        status = row_status(row)
        statuses.append(status)
        whole = None if row_values is None else row_values.get(position, {})
        values = _row(row, texts[position], own_tokens, whole, row_values is not None)
        values["vnlp_status"] = status
        for name, column in columns.items():
            # Not given: the row has no decoded unit (empty, unreadable, too long): lists are empty.
            column.append(values.get(name, [] if name in list_columns else None))
    arrays = {name: record_batch.column(name) for name in record_batch.schema.names}
    arrays.update({f.name: pa.array(columns[f.name], type=f.type) for f in schema if f.name in columns})
    return pa.RecordBatch.from_arrays([arrays[f.name] for f in schema], schema=schema), statuses


def _row(
    units: list[UnitResult],
    text: str | None,
    own_tokens: bool,
    whole: dict[str, Any] | None,
    split: bool,
) -> dict[str, Any]:
    decoded = [u for u in units if u.tokens]
    out: dict[str, Any] = {
        "tokens": [t for u in decoded for t in u.tokens],
        "sentence": [u.sentence for u in decoded for _ in u.tokens],
        "token_start": [s for u in decoded for s in u.starts],
        "token_end": [e for u in decoded for e in u.ends],
        "sentence_sentiment": [u.columns.get("sentiment") for u in decoded],
    }
    if not decoded:  # empty, unreadable, too long: lists empty, values null
        return out
    names = {name for u in decoded for name in u.columns} - _OWN
    for name in names:
        per_unit = [u.columns.get(name) for u in decoded]
        if all(v is None for v in per_unit):
            out[name] = None  # the model failed on every unit: null, as for a failed sentence row
            continue
        if not isinstance(next(v for v in per_unit if v is not None), list):
            continue
        own = own_tokens and name in _OWN_TOKENS
        out[name] = [
            x
            for u, v in zip(decoded, per_unit, strict=True)
            for x in (v if v is not None else [None] * (0 if own else len(u.tokens)))
        ]
    if own_tokens:
        out.update(_own_token_spans(decoded, text or ""))
    if "sentiment" in names | {name for u in decoded for name in u.columns}:
        out["sentiment"] = (whole or {}).get("sentiment") if split else decoded[0].columns.get("sentiment")
    return out


def _own_token_spans(units: list[UnitResult], text: str) -> dict[str, list[int] | None]:
    """CharNER tokens' spans in the row text, each unit's within its Treebank tokens' extent (only
    whitespace lies outside them)."""
    starts: list[int] = []
    ends: list[int] = []
    for unit in units:
        tokens = unit.columns.get("ner_tokens")
        if tokens is None:
            continue
        try:
            unit_starts, unit_ends = word_punct_token_spans(text, tokens, unit.starts[0], unit.ends[-1])
        except TokenAlignmentError:
            return {"ner_token_start": None, "ner_token_end": None}
        starts += unit_starts
        ends += unit_ends
    return {"ner_token_start": starts, "ner_token_end": ends}
