"""The bundled Turkish sample corpus: size, length mix, surface variety, and its shipped Parquet copy."""

from __future__ import annotations

import os
import re

# VNLP imports TensorFlow, which must see this before its first import (see vnlp_batch.vnlp_env).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from vnlp.tokenizer import TreebankWordTokenize

from vnlp_batch.corpus.sample import SAMPLE_PARQUET, SAMPLE_TEXT, read_sample_sentences

# Apostrophe-separated suffix on a proper name or a number: İstanbul'da, TÜBİTAK'ın, 2023'te.
APOSTROPHE_SUFFIX = re.compile(r"^\w+['’]\w+$")
QUOTE_CHARS = set('"“”‘')


@pytest.fixture(scope="module")
def raw_lines() -> list[str]:
    """The text file's lines exactly as stored (decoding fails the test if it is not UTF-8)."""
    return SAMPLE_TEXT.read_bytes().decode("utf-8").splitlines()


@pytest.fixture(scope="module")
def tokenized() -> list[list[str]]:
    """Every sentence tokenized the way VNLP's annotators tokenize it."""
    return [TreebankWordTokenize(s) for s in read_sample_sentences()]


def test_file_is_clean_one_sentence_per_line(raw_lines: list[str]) -> None:
    assert len(raw_lines) >= 300
    assert all(line for line in raw_lines), "empty line"
    assert all(line == line.strip() for line in raw_lines), "leading/trailing whitespace"
    assert len(set(raw_lines)) == len(raw_lines), "duplicate line"
    # Nothing is lost or changed by the reader, so line number == id.
    assert read_sample_sentences() == raw_lines


def test_length_mix(tokenized: list[list[str]]) -> None:
    lengths = [len(tokens) for tokens in tokenized]
    # Long run-on sentences are what stress padding, truncation and length bucketing.
    assert sum(n > 40 for n in lengths) >= 15
    assert sum(n > 100 for n in lengths) >= 3
    assert sum(2 <= n <= 5 for n in lengths) >= 10
    # ...but the bulk must look like ordinary prose.
    assert sum(8 <= n <= 30 for n in lengths) >= len(lengths) // 2


def test_surface_variety(tokenized: list[list[str]]) -> None:
    tokens = [t for sentence in tokenized for t in sentence]
    assert sum(bool(APOSTROPHE_SUFFIX.match(t)) for t in tokens) >= 30
    assert {"İstanbul'da", "TÜBİTAK'ın", "Ali'nin"} <= set(tokens)
    assert sum(any(c.isdigit() for c in t) for t in tokens) >= 50
    assert sum(any(c in QUOTE_CHARS for c in t) for t in tokens) >= 10
    # Abbreviations stay one token with their dot; only look mid-sentence, where a dot cannot be
    # the sentence's own full stop.
    mid_abbrevs = {t for s in tokenized for t in s[:-1] if len(t) > 1 and t.endswith(".") and t[0].isalpha()}
    assert {"Dr.", "Prof.", "vb.", "vs.", "T.C.", "Av.", "Sn."} <= mid_abbrevs


def test_shipped_parquet_matches_text() -> None:
    pf = pq.ParquetFile(SAMPLE_PARQUET)
    # Several row groups, so readers of the shipped file meet more than one record batch.
    assert pf.metadata.num_row_groups > 1
    table = pf.read()
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("text").type == pa.string()
    sentences = read_sample_sentences()
    assert table.column("id").to_pylist() == list(range(len(sentences)))
    assert table.column("text").to_pylist() == sentences
