"""CoNLL-U and JSON Lines outputs: written atomically, and read back (with `conllu`, `json`) to exactly
what the annotated record batch (and the Parquet output written from it) holds.

Batches come from a fake annotator over the document corpus: real sentences (VNLP's splitter), real
tokens and spans, and labels drawn from VNLP's own label sets with a seeded generator, heads over
VNLP's whole range 0..40 so that many point past their sentence, as with synthetic weights.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import conllu
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.corpus.outputs import ConlluWriter, JsonlWriter, output_name
from vnlp_batch.corpus.outputs.conllu_writer import OUT_OF_RANGE_DEPREL, comment_text, sent_id
from vnlp_batch.corpus.sample import read_sample_documents, read_sample_sentences
from vnlp_batch.corpus.schema import output_schema
from vnlp_batch.corpus.writer import AnnotatedFileWriter
from vnlp_batch.featurize.offsets import treebank_token_spans
from vnlp_batch.featurize.sentences import split_sentences
from vnlp_batch.featurize.treebank import treebank_word_tokenize

UPOS = ["NOUN", "PUNCT", "VERB", "ADJ", "PROPN", "ADV", "DET", "CCONJ", "PRON", "NUM", "ADP", "AUX", ""]
NER = ["O", "ORG", "PER", "LOC", ""]
DEPREL = ["punct", "root", "nmod", "nsubj", "obl", "amod", "obj", "nmod:poss", "compound:lvc", ""]
MAX_HEAD = 40  # VNLP's parsers choose a head among 0..40 whatever the sentence's length

INPUT = pa.schema([("id", pa.string()), ("title", pa.string()), ("text", pa.string())])
TASKS = ["all"]


def annotate(text: str | None, rng: np.random.Generator, document: bool) -> dict:
    """The annotation columns of one row, as the stage will produce them (fake labels)."""
    sentences = split_sentences(text or "") if document else []
    if not document and text and text.strip():
        sentences = [(text, 0, len(text))]
    tokens, sentence, starts, ends = [], [], [], []
    for index, s in enumerate(sentences):
        s_text, s_start, s_end = s[0], s[1], s[2]
        toks = treebank_word_tokenize(s_text)
        spans = treebank_token_spans(text, toks, s_start, s_end)
        tokens += toks
        sentence += [index] * len(toks)
        starts += spans[0]
        ends += spans[1]
    n = len(tokens)
    if n == 0:
        lists = ["tokens", "sentence", "token_start", "token_end", "morph", "lemma", "pos", "ner"]
        lists += ["dep_head", "dep_rel", "sentence_sentiment"]
        return {
            **{name: [] for name in lists},
            "sentiment": None,
            "vnlp_status": "empty",
        }
    return {
        "tokens": tokens,
        "sentence": sentence,
        "token_start": starts,
        "token_end": ends,
        "morph": [f"{t.lower()}+Noun+A3sg" for t in tokens],
        "lemma": [t.lower() for t in tokens],
        "pos": [UPOS[k] for k in rng.integers(0, len(UPOS), n)],
        "ner": [NER[k] for k in rng.integers(0, len(NER), n)],
        "dep_head": [int(h) for h in rng.integers(0, MAX_HEAD + 1, n)],
        "dep_rel": [DEPREL[k] for k in rng.integers(0, len(DEPREL), n)],
        "sentiment": float(np.float32(rng.random())),
        "sentence_sentiment": [float(np.float32(v)) for v in rng.random(len(sentences))],
        "vnlp_status": "ok" if rng.random() < 0.8 else "ok:dp_chunked",
    }


def annotated_batches(document: bool = True) -> list[pa.RecordBatch]:
    """The document corpus (plus an empty and an unreadable row) as annotated batches of 4 rows."""
    rng = np.random.default_rng(13)
    rows = [{"id": d["id"], "title": d["title"], "text": d["text"]} for d in read_sample_documents()]
    rows.insert(3, {"id": "empty", "title": None, "text": "  \n "})
    rows.insert(7, {"id": "bad", "title": None, "text": None})
    if not document:
        rows += [
            {"id": f"s{i}", "title": None, "text": s} for i, s in enumerate(read_sample_sentences()[:40])
        ]
    annotated = []
    for row in rows:
        columns = annotate(row["text"], rng, document)
        if row["id"] == "bad":
            columns["vnlp_status"] = "error:input: line 8: invalid JSON: Expecting value (column 1)"
        annotated.append({**row, **columns})
    schema = output_schema(INPUT, TASKS, spans=True)
    return [
        pa.RecordBatch.from_pylist(annotated[i : i + 4], schema=schema) for i in range(0, len(annotated), 4)
    ]


def write_conllu(path: Path, batches: list[pa.RecordBatch], **kwargs) -> ConlluWriter:
    with ConlluWriter(path, source_name="documents_tr.jsonl", id_column="id", **kwargs) as writer:
        for batch in batches:
            writer.write(batch)
        writer.commit()
    return writer


def underscore(value: str | None) -> str:
    """How a label reads back from CoNLL-U: an empty one is `_`."""
    return value if value else "_"


@pytest.mark.parametrize("document", [True, False])
def test_conllu_reads_back_to_the_batches_and_the_parquet_output(tmp_path: Path, document: bool) -> None:
    batches = annotated_batches(document)
    # The same batches through the Parquet writer: the CoNLL-U must agree with what it stored.
    with AnnotatedFileWriter(tmp_path / "out.parquet", batches[0].schema, {}) as parquet_writer:
        for batch in batches:
            parquet_writer.write(batch)
        parquet_writer.commit()
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert rows == [r for b in batches for r in b.to_pylist()]

    writer = write_conllu(tmp_path / "out.conllu", batches, rows_are_documents=document)
    parsed = conllu.parse((tmp_path / "out.conllu").read_text(encoding="utf-8"))
    assert writer.rows_written == len(rows)

    blocks = iter(parsed)
    out_of_range = 0
    for index, row in enumerate(rows):
        if not row["tokens"]:
            block = next(blocks)
            assert len(block) == 0
            assert block.metadata == {
                "sent_id": sent_id("documents_tr.jsonl", index),
                "row_id": row["id"],
                "vnlp_status": row["vnlp_status"],
            }
            continue
        for number in sorted(set(row["sentence"])):
            block = next(blocks)
            ks = [k for k, s in enumerate(row["sentence"]) if s == number]
            n = len(ks)
            meta = block.metadata
            assert meta["sent_id"] == f"documents_tr.jsonl-r{index}-s{number}"
            assert ("newdoc id" in meta) == (document and number == 0)
            original = row["text"][row["token_start"][ks[0]] : row["token_end"][ks[-1]]]
            assert meta["text"] == comment_text(original)
            assert ("\n" in original) == (not document and "\n" in row["text"])
            assert meta["row_id"] == row["id"]
            assert math.isclose(float(meta["sentiment"]), row["sentence_sentiment"][number], rel_tol=1e-5)
            assert meta.get("vnlp_status", "ok") == row["vnlp_status"]
            assert [t["id"] for t in block] == list(range(1, n + 1))
            for token, k in zip(block, ks, strict=True):
                assert token["form"] == row["tokens"][k]
                assert token["lemma"] == row["lemma"][k]
                assert token["upos"] == underscore(row["pos"][k])
                assert token["xpos"] == row["morph"][k]
                misc = token["misc"]
                assert misc["TokenRange"] == f"{row['token_start'][k]}:{row['token_end'][k]}"
                assert misc.get("NER") == (row["ner"][k] or None)
                assert 0 <= token["head"] <= n  # valid whatever VNLP predicted
                head, relation = row["dep_head"][k], row["dep_rel"][k]
                if head <= n:
                    assert (token["head"], token["deprel"]) == (head, underscore(relation))
                    assert "VnlpHead" not in misc
                else:
                    out_of_range += 1
                    assert (token["head"], token["deprel"]) == (0, OUT_OF_RANGE_DEPREL)
                    assert misc["VnlpHead"] == str(head)
                    assert misc.get("VnlpDeprel") == (relation or None)
            # SpaceAfter=No exactly where the next token of the sentence touches this one.
            for token, k, k_next in zip(block, ks, ks[1:], strict=False):
                touching = row["token_end"][k] == row["token_start"][k_next]
                assert (token["misc"].get("SpaceAfter") == "No") == touching
    assert next(blocks, None) is None
    assert out_of_range == writer.out_of_range_heads > 0
    assert writer.sentences_written == sum(len(set(r["sentence"])) for r in rows)


def test_rows_without_tokens_can_be_left_out(tmp_path: Path) -> None:
    batches = annotated_batches()
    writer = write_conllu(tmp_path / "out.conllu", batches, skip_rows_without_tokens=True)
    parsed = conllu.parse((tmp_path / "out.conllu").read_text(encoding="utf-8"))
    assert writer.rows_skipped == 2
    assert all(len(sentence) > 0 for sentence in parsed)
    assert (
        "-r3-s0" not in (tmp_path / "out.conllu").read_text()
        and "-r4-s0" in (tmp_path / "out.conllu").read_text()
    )


def test_batches_can_be_cut_anywhere(tmp_path: Path) -> None:
    batches = annotated_batches()
    write_conllu(tmp_path / "a.conllu", batches)
    table = pa.Table.from_batches(batches)
    write_conllu(tmp_path / "b.conllu", table.to_batches(max_chunksize=1))
    assert (tmp_path / "a.conllu").read_bytes() == (tmp_path / "b.conllu").read_bytes()


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    batches = annotated_batches()
    final = tmp_path / "out.conllu"
    with pytest.raises(RuntimeError, match="boom"), ConlluWriter(final, source_name="x") as writer:
        writer.write(batches[0])
        raise RuntimeError("boom")
    with JsonlWriter(tmp_path / "out.jsonl") as jsonl_writer:
        jsonl_writer.write(batches[0])  # no commit()
    assert list(tmp_path.iterdir()) == []


def test_one_sentence_rows_without_spans(tmp_path: Path) -> None:
    # What a run without spans writes: the row is the sentence; no HEAD without a parse (`_`).
    schema = output_schema(pa.schema([("text", pa.string())]), ["pos"])
    batch = pa.RecordBatch.from_pylist(
        [{"text": " Ali\ngeldi. ", "tokens": ["Ali", "geldi", "."], "pos": ["PROPN", "VERB", "PUNCT"]}],
        schema=schema,
    )
    with ConlluWriter(tmp_path / "o.conllu", source_name="a b/c.txt") as writer:
        writer.write(batch)
        writer.commit()
    (sentence,) = conllu.parse((tmp_path / "o.conllu").read_text())
    assert sentence.metadata == {"sent_id": "a_b_c.txt-r0-s0", "text": "Ali geldi."}
    assert [(t["form"], t["upos"], t["head"], t["deprel"], t["misc"]) for t in sentence] == [
        ("Ali", "PROPN", None, "_", None),
        ("geldi", "VERB", None, "_", None),
        (".", "PUNCT", None, "_", None),
    ]


def test_jsonl_output_is_one_object_per_row_in_order(tmp_path: Path) -> None:
    batches = annotated_batches()
    with JsonlWriter(tmp_path / "out.jsonl") as writer:
        for batch in batches:
            writer.write(batch)
        writer.commit()
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    expected = [r for b in batches for r in b.to_pylist()]
    assert [json.loads(line) for line in lines] == expected
    assert writer.rows_written == len(expected)
    assert "İ" in (tmp_path / "out.jsonl").read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_jsonl_output_writes_what_json_has_no_type_for(tmp_path: Path) -> None:
    import datetime as dt

    batch = pa.RecordBatch.from_pylist(
        [
            {
                "when": dt.date(2026, 12, 3),
                "raw": b"\x00\xff",
                "score": float("nan"),
                "scores": [1.0, float("inf")],
            }
        ]
    )
    with JsonlWriter(tmp_path / "x.jsonl") as writer:
        writer.write(batch)
        writer.commit()
    assert json.loads((tmp_path / "x.jsonl").read_text()) == {
        "when": "2026-12-03",
        "raw": "AP8=",
        "score": None,
        "scores": [1.0, None],
    }


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("news.jsonl.gz", "parquet", "news.parquet"),
        ("news.jsonl.gz", "conllu", "news.conllu"),
        ("shard-0.parquet", "parquet", "shard-0.parquet"),
        ("a.b.csv", "jsonl", "a.b.jsonl"),
        ("notes.TXT.zst", "conllu", "notes.conllu"),
        ("data", "conllu", "data.conllu"),
    ],
)
def test_output_name(name: str, fmt: str, expected: str) -> None:
    assert output_name(Path("in") / name, fmt) == expected
