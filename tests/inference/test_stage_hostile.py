"""Hostile text gives row-level outcomes, never a crash: every row comes out, in order, with a known
status (README, "Inference stage"). Property-based over random Unicode, plus explicit very long rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stage_helpers import StageRunner, WriteParquet, texts_table
from vnlp.tokenizer import TreebankWordTokenize

from vnlp_batch.featurize.offsets import TREEBANK_REWRITES
from vnlp_batch.featurize.sentences import split_sentences

OK_STATUSES = {"ok", "empty", "ok:dp_chunked"}

FRAGMENT_GROUPS = {
    "control characters": ["\x00", "\x01\x02\x07", "\x1b[31m", "\x7f", "\x1c\x1d\x1e\x1f"],
    "zero-width and invisible": ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"],
    "combining marks": ["e\u0301\u0327\u0308", "\u0301", "i\u0307"],
    "emoji and ZWJ sequences": ["😀", "👨\u200d👩\u200d👧", "🇹🇷", "👍🏽", "\U0001f9d1\u200d\U0001f4bb"],
    "RTL and CJK": ["\u202e", "\u2066", "\u200f", "שלום", "مرحبا", "中文", "日本語のテキスト", "한국어"],
    "tokenizer edges": ["İstanbul'da", "ğüşıöç", "``", "''", '"', "...", "--", "(", "]", "C++", "'s"],
    "whitespace": ["\t", "\n", "\r\n", "\u2028", "\u3000", "\xa0"],
}
FRAGMENTS = [fragment for group in FRAGMENT_GROUPS.values() for fragment in group]
long_word = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "ğ", "中", "😀", "x\u0301"]), st.integers(100, 400)
)
text_piece = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),  # Arrow strings cannot hold surrogates
    long_word,
)
hostile_text = st.lists(text_piece, max_size=12).map(" ".join) | st.lists(text_piece, max_size=6).map("".join)
rows_strategy = st.lists(st.none() | hostile_text, min_size=1, max_size=6)


def expected_tokens(text: str, unit: str) -> list[str]:
    """VNLP's tokens of the row (unit=sentence) or of each of its sentences (unit=document)."""
    if unit == "sentence":
        return TreebankWordTokenize(text)
    return [token for s in split_sentences(text) for token in TreebankWordTokenize(s.text)]


def check_rows(texts: list[str | None], rows: list[dict], unit: str = "document") -> None:
    """Every row out, in order, text unchanged, a known status, and annotations that fit the status:
    tokens VNLP's, each with its span in the text, sentence indices in order."""
    assert [r["id"] for r in rows] == list(range(len(texts)))
    assert [r["text"] for r in rows] == texts
    for text, r in zip(texts, rows, strict=True):
        status = r["vnlp_status"]
        assert status in OK_STATUSES or status.startswith("error:"), status
        if text is None or not text.strip():
            assert status == "empty"
        if status == "empty" or status.startswith("error:too_long"):
            assert r["tokens"] == [] and r["pos"] == []
        if status.startswith("ok"):
            assert r["tokens"] == expected_tokens(text, unit)
            assert len(r["pos"]) == len(r["tokens"])
            assert all(isinstance(label, str) for label in r["pos"])
            assert r["sentence"] == sorted(r["sentence"])
            for token, start, end in zip(r["tokens"], r["token_start"], r["token_end"], strict=True):
                assert text[start:end] in TREEBANK_REWRITES.get(token, (token,)), (token, start, end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=rows_strategy)
def test_hostile_text_never_crashes_and_every_row_is_accounted_for(
    stage_runner: StageRunner, texts: list[str | None]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "hostile.parquet"
        pq.write_table(texts_table(texts), path)
        run = stage_runner(path, root / "out", root / "run", batch_size=4)
        rows = run.output(path).to_pylist()
    check_rows(texts, rows)
    assert sum(run.report.status_counts.values()) == len(texts)


@pytest.mark.parametrize("unit", ["sentence", "document"])
def test_hostile_fragments_all_at_once_with_every_model(
    run_stage: StageRunner, write_parquet: WriteParquet, unit: str
) -> None:
    over_40 = " ".join(FRAGMENTS[k % 30] for k in range(70))  # DP parses it in 40-token chunks
    texts: list[str | None] = [*FRAGMENTS, " ".join(FRAGMENTS), "".join(FRAGMENTS), over_40, None]
    path = write_parquet("fragments.parquet", texts)

    rows = run_stage(path, task="all", unit=unit).output(path).to_pylist()

    check_rows(texts, rows, unit)
    assert len(rows[-2]["tokens"]) > 40
    longest = max(rows[-2]["sentence"].count(k) for k in set(rows[-2]["sentence"]))
    assert rows[-2]["vnlp_status"] == ("ok:dp_chunked" if longest > 40 else "ok")
    assert (unit == "sentence") == (longest > 40)  # the splitter cuts it into sentences of ≤ 40 tokens
    for r in rows:
        if r["vnlp_status"] in ("ok", "ok:dp_chunked"):
            n = len(r["tokens"])
            assert [len(r[c]) for c in ("morph", "lemma", "ner", "dep_head", "dep_rel")] == [n] * 5
            assert 0.0 <= r["sentiment"] <= 1.0


def test_huge_rows_are_row_errors_and_the_rest_is_annotated(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str]
) -> None:
    hundred_k = ("kelime " * 15_000)[:100_000]  # 100,000 characters, ~14,000 tokens
    three_k = " ".join(f"w{i}" for i in range(3000))  # 3,000 tokens
    one_word = "ğ" * 100_000  # 100,000 characters, a single token
    texts = [short_texts[0], hundred_k, three_k, one_word, short_texts[1]]
    assert len(hundred_k) == len(one_word) == 100_000
    path = write_parquet("huge.parquet", texts)

    run = run_stage(path)  # data.max_tokens=2000 (the default)

    rows = run.output(path).to_pylist()
    check_rows(texts, rows)
    statuses = [r["vnlp_status"] for r in rows]
    n = len(TreebankWordTokenize(hundred_k))
    assert statuses[1] == f"error:too_long: {n} tokens > data.max_tokens=2000"
    assert statuses[2] == "error:too_long: 3000 tokens > data.max_tokens=2000"
    assert statuses[3] == "ok" and rows[3]["tokens"] == [one_word] and len(rows[3]["pos"]) == 1
    assert statuses[0] == statuses[4] == "ok"
    assert run.report.status_counts == {"ok": 3, "error": 2}


@pytest.mark.parametrize("decoder", ["fast", "monolithic"])
def test_rows_longer_than_the_window_are_tagged_and_max_tokens_is_inclusive(
    run_stage: StageRunner, write_parquet: WriteParquet, decoder: str
) -> None:
    # 200 tokens: VNLP's 40-token history and context windows slide across the sentence.
    long_row = " ".join(f"kelime{i % 37}" for i in range(200))
    texts = [long_row, long_row + " fazla"]
    path = write_parquet("long.parquet", texts)

    rows = run_stage(path, max_tokens=200, decoder=decoder).output(path).to_pylist()

    assert rows[0]["vnlp_status"] == "ok"
    assert len(rows[0]["tokens"]) == len(rows[0]["pos"]) == 200
    assert rows[1]["vnlp_status"] == "error:too_long: 201 tokens > data.max_tokens=200"


def test_large_string_and_dictionary_text_columns_are_read(
    run_stage: StageRunner, write_parquet: WriteParquet, short_texts: list[str]
) -> None:
    texts = [short_texts[0], None, short_texts[0], "😀"]
    table = pa.table(
        {
            "id": pa.array(range(4), pa.int64()),
            "text": pa.array(texts, pa.large_string()),
            "dict_text": pa.array(texts).dictionary_encode(),
        }
    )
    path = write_parquet("types.parquet", table)

    for column in ("text", "dict_text"):
        run = run_stage(path, text_column=column, output_dir=path.parent.parent / f"out_{column}")
        rows = run.output(path).to_pylist()
        assert [r["vnlp_status"] for r in rows] == ["ok", "empty", "ok", "ok"]
        assert rows[0]["pos"] == rows[2]["pos"]
