"""CoNLL-U output, written with the `conllu` library: a sentence per VNLP sentence, rows in order.

Columns of each token line:

| column | holds |
|---|---|
| ID | 1..n within the sentence |
| FORM | the token (VNLP's Treebank token: a rewritten quote is `"`, see `featurize.offsets`) |
| LEMMA | `lemma` (morph task) |
| UPOS | `pos`: VNLP's PoS labels are UD's UPOS tags |
| XPOS | `morph`: VNLP's full morphological analysis (`ev+Noun+A3sg+P1sg+Dat`) |
| FEATS | `_`: VNLP's analyses are not UD features |
| HEAD, DEPREL | `dep_head` (relative to the sentence, 0 = root) and `dep_rel` |
| DEPS | `_` |
| MISC | `NER=`, `TokenRange=`, `SpaceAfter=No`, `VnlpHead=`, `VnlpDeprel=` (below) |

MISC holds `NER=<label>` (SPUContextNER's label; CharNER labels its own WordPunct tokens, which
are not CoNLL-U's tokens, so they stay in the Parquet and JSONL outputs), `TokenRange=<start>:<end>`
(the token's span in the row's text, Python string offsets, end exclusive), and `SpaceAfter=No`
where the next token of the sentence starts where this one ends.

Why XPOS for the morphology: FEATS may only hold UD features (`Case=Dat|Number=Sing`), which VNLP's
analyses are not, and converting them would be a new analysis rather than VNLP's. XPOS is the column UD
keeps for language-specific tags, and treebanks do put full morphological tags there (the Prague
positional tags); one value per token, read as a tag by every tool, with no escaping of `|` or `=`
as MISC would need.

A label VNLP leaves empty (its reserved label 0) and a column the run did not produce are `_`.
Any whitespace inside a value (none is expected: tokens are cut at whitespace) becomes `_` so that the
line keeps its ten columns.

**Heads past the sentence.** VNLP's parsers pick a head among 0..40 for every token, so a head can
point past the end of a shorter sentence (with synthetic weights most do; with real weights rarely).
Such a token is never written as if its head were valid: HEAD is `0` and DEPREL `dep` (UD's
"unspecified dependency"), and MISC keeps VNLP's values as `VnlpHead=<head>|VnlpDeprel=<relation>`.
HEAD then stays within 0..n, as CoNLL-U requires; `out_of_range_heads` counts these tokens (for
metrics.json); parsed with `dep.heads=in_sentence` (README, "Deviations"), no head is past its
sentence. VNLP's other predictions are written as they are, including several roots or a cycle in one
sentence, which UD's tree rules (not CoNLL-U's format) would reject.

**Comments.** Each sentence has `# sent_id = <file>-r<row>-s<sentence>` (the input file's name with
whitespace and `/` made `_`, the 0-based row index in the file, the 0-based sentence index in the
row: stable across reruns) and `# text = ` the sentence's original text (`text[start:end]` from the
first token's start to the last token's end; any line break in it becomes a space). With
`rows_are_documents`, the first sentence of each row also has `# newdoc id = <file>-r<row>`. Also:
`# row_id = ` (the id column), `# sentiment = ` (the sentence's, else the row's), and
`# vnlp_status = ` when the row's status is not `ok`.

**Rows without tokens** (status `empty`, `error:too_long`, `error:input`, ...) are a block of comments
with no token line: `# sent_id = <file>-r<row>`, `# vnlp_status = <status>` (and `# row_id`), so that
every row is accounted for; `conllu` reads such a block as a sentence with no tokens. Strict
validators want tokens in every sentence: with `skip_rows_without_tokens=True` such rows are left out
(and counted in `rows_skipped`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from conllu.models import Metadata, Token, TokenList

from vnlp_batch.featurize.sentences import LINE_BREAKS
from vnlp_batch.files import AtomicFile

OUT_OF_RANGE_DEPREL = "dep"
_UNSAFE_ID = re.compile(r"[\s/]")
_WHITESPACE = re.compile(r"\s")
_LINE_BREAKS = re.compile(f"[{re.escape(LINE_BREAKS)}]")


def sent_id(source: str, row: int, sentence: int | None = None) -> str:
    """`<file>-r<row>-s<sentence>` (or `<file>-r<row>` for a row's own id); see the module docstring."""
    base = f"{_UNSAFE_ID.sub('_', source)}-r{row}"
    return base if sentence is None else f"{base}-s{sentence}"


def comment_text(text: str) -> str:
    """`text` as a `# text` comment holds it: every line break (a comment is one line) made a space."""
    return _LINE_BREAKS.sub(" ", text)


def _value(value: Any) -> str | None:
    """A column value as CoNLL-U writes it: None for `_` (empty or missing), whitespace made `_`."""
    if value is None or value == "":
        return None
    text = str(value)
    return _WHITESPACE.sub("_", text) if _WHITESPACE.search(text) else text


class ConlluWriter(AtomicFile):
    """Writes annotated record batches to `final_path` as CoNLL-U (see the module docstring).

    `source_name` names the input file in sent_ids; `text_column` and `id_column` are the input's.
    """

    def __init__(
        self,
        final_path: Path,
        *,
        source_name: str,
        text_column: str = "text",
        id_column: str | None = None,
        rows_are_documents: bool = False,
        skip_rows_without_tokens: bool = False,
    ) -> None:
        super().__init__(final_path)
        self.source_name = source_name
        self.text_column = text_column
        self.id_column = id_column
        self.rows_are_documents = rows_are_documents
        self.skip_rows_without_tokens = skip_rows_without_tokens
        self.rows_written = 0
        self.rows_skipped = 0
        self.sentences_written = 0
        self.out_of_range_heads = 0

    def __enter__(self) -> ConlluWriter:
        super().__enter__()
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        """Append the sentences of every row of `batch`, in order."""
        columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        blocks = []
        for i in range(batch.num_rows):
            blocks += self._row(self.rows_written + i, {name: values[i] for name, values in columns.items()})
        if blocks:
            self.handle.write("".join(blocks))
        self.rows_written += batch.num_rows

    def _row(self, row: int, values: dict[str, Any]) -> list[str]:
        tokens: list[str] | None = values.get("tokens")
        status = values.get("vnlp_status") or "ok"
        comments: dict[str, str] = {}
        if self.id_column is not None and values.get(self.id_column) is not None:
            comments["row_id"] = str(values[self.id_column])
        if not tokens:
            if self.skip_rows_without_tokens:
                self.rows_skipped += 1
                return []
            metadata = Metadata(
                {"sent_id": sent_id(self.source_name, row), **comments, "vnlp_status": status}
            )
            return [TokenList([], metadata).serialize()]

        n = len(tokens)
        sentence_of = values.get("sentence") or [0] * n
        starts, ends = values.get("token_start"), values.get("token_end")
        sentence_sentiment = values.get("sentence_sentiment")
        text = values.get(self.text_column)
        blocks = []
        first = 0
        while first < n:
            number = sentence_of[first]
            last = first
            while last + 1 < n and sentence_of[last + 1] == number:
                last += 1
            metadata = Metadata()
            if self.rows_are_documents and first == 0:
                metadata["newdoc id"] = sent_id(self.source_name, row)
            metadata["sent_id"] = sent_id(self.source_name, row, number)
            metadata["text"] = self._sentence_text(text, tokens, starts, ends, first, last)
            metadata.update(comments)
            sentiment = (
                sentence_sentiment[number]
                if sentence_sentiment is not None and number < len(sentence_sentiment)
                else values.get("sentiment")
            )
            if sentiment is not None:
                metadata["sentiment"] = f"{sentiment:.6g}"
            if status != "ok":
                metadata["vnlp_status"] = status
            blocks.append(TokenList(self._tokens(values, first, last), metadata).serialize())
            self.sentences_written += 1
            first = last + 1
        return blocks

    @staticmethod
    def _sentence_text(
        text: str | None,
        tokens: Sequence[str],
        starts: Sequence[int] | None,
        ends: Sequence[int] | None,
        first: int,
        last: int,
    ) -> str:
        if text is not None and starts is not None and ends is not None:
            original = text[starts[first] : ends[last]]
        elif text is not None and first == 0 and last == len(tokens) - 1:
            original = text.strip()  # a row that is one sentence, without spans
        else:
            original = " ".join(tokens[first : last + 1])
        return comment_text(original)

    def _tokens(self, values: dict[str, Any], first: int, last: int) -> list[Token]:
        tokens = values["tokens"]
        n = last - first + 1
        lemma, pos, morph = values.get("lemma"), values.get("pos"), values.get("morph")
        ner = None if values.get("ner_tokens") is not None else values.get("ner")  # CharNER: own tokens
        heads, relations = values.get("dep_head"), values.get("dep_rel")
        starts, ends = values.get("token_start"), values.get("token_end")
        out = []
        for k in range(first, last + 1):
            misc: dict[str, str | None] = {}
            if ner is not None and _value(ner[k]) is not None:
                misc["NER"] = _value(ner[k])
            if starts is not None and ends is not None:
                misc["TokenRange"] = f"{starts[k]}:{ends[k]}"
                if k < last and starts[k + 1] == ends[k]:
                    misc["SpaceAfter"] = "No"
            head = None if heads is None else heads[k]
            relation = None if relations is None else _value(relations[k])
            if head is not None and not 0 <= head <= n:
                misc["VnlpHead"] = str(head)
                if relation is not None:
                    misc["VnlpDeprel"] = relation
                head, relation = 0, OUT_OF_RANGE_DEPREL
                self.out_of_range_heads += 1
            out.append(
                Token(
                    id=k - first + 1,
                    form=_value(tokens[k]),
                    lemma=None if lemma is None else _value(lemma[k]),
                    upos=None if pos is None else _value(pos[k]),
                    xpos=None if morph is None else _value(morph[k]),
                    feats=None,
                    head=head,
                    deprel=relation,
                    deps=None,
                    misc=misc or None,
                )
            )
        return out
