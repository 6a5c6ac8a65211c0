"""`featurize.offsets`: every token maps to the characters it came from.

Property (module docstring of `featurize.offsets`): spans in order, disjoint, non-empty, inside the
text; `text[start:end] == token` except for the documented rewrites; nothing but whitespace between
tokens. Checked on the sample corpus, the document corpus (per sentence and per row) and generated
text, for VNLP's Treebank tokens and for CharNER's WordPunct tokens.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vnlp_batch.corpus.sample import read_sample_documents, read_sample_sentences
from vnlp_batch.featurize.offsets import (
    TREEBANK_REWRITES,
    TokenAlignmentError,
    treebank_token_spans,
    word_punct_token_spans,
)
from vnlp_batch.featurize.sentences import split_sentences
from vnlp_batch.featurize.treebank import treebank_word_tokenize

WORD_PUNCT = re.compile(r"\w+|[^\w\s]+")  # VNLP's WordPunctTokenize pattern (its tests live elsewhere)


def word_punct_tokenize(text: str) -> list[str]:
    from vnlp.tokenizer import WordPunctTokenize

    return WordPunctTokenize(text)


def assert_spans(
    text: str,
    tokens: list[str],
    spans: tuple[list[int], list[int]],
    rewrites: dict[str, tuple[str, ...]],
    start: int = 0,
    end: int | None = None,
) -> None:
    end = len(text) if end is None else end
    starts, ends = spans
    assert len(starts) == len(ends) == len(tokens)
    previous = start
    for token, s, e in zip(tokens, starts, ends, strict=True):
        assert previous <= s < e <= end
        assert text[previous:s].strip() == "", "a non-whitespace character belongs to no token"
        source = text[s:e]
        assert source == token or source in rewrites.get(token, ()), (token, source)
        previous = e
    assert text[previous:end].strip() == ""


def test_treebank_rewrites_are_the_quote_ones() -> None:
    # The one rewrite in VNLP's tokenizer: `"`, `''` and two backticks all come out as `"`.
    for source in TREEBANK_REWRITES['"']:
        assert treebank_word_tokenize(f"a {source}b{source} c") == ["a", '"', "b", '"', "c"]
    assert set(TREEBANK_REWRITES) == {'"'}


def test_sample_corpus_sentences() -> None:
    rewritten = 0
    for sentence in read_sample_sentences():
        tokens = treebank_word_tokenize(sentence)
        spans = treebank_token_spans(sentence, tokens)
        assert_spans(sentence, tokens, spans, TREEBANK_REWRITES)
        rewritten += sum(sentence[s:e] != t for t, s, e in zip(tokens, *spans, strict=True))
        word_punct = word_punct_tokenize(sentence)
        assert_spans(sentence, word_punct, word_punct_token_spans(sentence, word_punct), {})
    assert rewritten == 0  # the sample has no '' or `` quotes: every token is verbatim


def test_document_corpus_per_sentence_and_per_row() -> None:
    rewritten = 0
    for document in read_sample_documents():
        text = document["text"]
        row_tokens, row_starts, row_ends = [], [], []
        for sentence in split_sentences(text):
            tokens = treebank_word_tokenize(sentence.text)
            spans = treebank_token_spans(text, tokens, sentence.start, sentence.end)
            assert_spans(text, tokens, spans, TREEBANK_REWRITES, sentence.start, sentence.end)
            rewritten += sum(text[s:e] != t for t, s, e in zip(tokens, *spans, strict=True))
            row_tokens += tokens
            row_starts += spans[0]
            row_ends += spans[1]
            word_punct = word_punct_tokenize(sentence.text)
            wp_spans = word_punct_token_spans(text, word_punct, sentence.start, sentence.end)
            assert_spans(text, word_punct, wp_spans, {}, sentence.start, sentence.end)
        # The sentences' tokens together cover the whole row.
        assert_spans(text, row_tokens, (row_starts, row_ends), TREEBANK_REWRITES)
    assert rewritten == 2  # the corpus's one ''quoted'' word: two `"` tokens spanning ''


# Quotes of every kind (and the rewritten pairs), apostrophes and contractions, Turkish letters,
# digits, punctuation runs, whitespace of several kinds and control characters.
_FRAGMENTS = [
    *"\"'`“”‘’«»",
    "''",
    "``",
    "'s",
    "n't",
    *":,.;@#$%&?!()[]{}<>-…/",
    "...",
    "--",
    *"aşİıĞüÖçÇ",
    "Ali'nin",
    "İstanbul",
    *"0123456789",
    "3.5",
    "14.30",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "\u2009",
    "\u3000",
    "\u2028",
    "\x0b",
    "\x0c",
    *"\x1c\x1d\x1e\x1f",
    "\x85",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\u200b",  # zero-width space: not whitespace for str.split, part of a token
    "😀",
]
_generated = st.lists(st.sampled_from(_FRAGMENTS), max_size=50).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated)
@example("''''a'''")
@example('"``" ``\'\' "')
@example("```a``` ''' \"\"\"")
def test_generated_text_treebank(text: str) -> None:
    tokens = treebank_word_tokenize(text)
    assert_spans(text, tokens, treebank_token_spans(text, tokens), TREEBANK_REWRITES)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_generated, st.text(max_size=60)))
def test_generated_text_word_punct(text: str) -> None:
    tokens = WORD_PUNCT.findall(text)
    assert_spans(text, tokens, word_punct_token_spans(text, tokens), {})
    assert list(zip(*word_punct_token_spans(text, tokens), strict=True)) == [
        m.span() for m in WORD_PUNCT.finditer(text)
    ]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated)
def test_generated_documents_per_sentence(text: str) -> None:
    for sentence in split_sentences(text):
        tokens = treebank_word_tokenize(sentence.text)
        spans = treebank_token_spans(text, tokens, sentence.start, sentence.end)
        assert_spans(text, tokens, spans, TREEBANK_REWRITES, sentence.start, sentence.end)


def test_rewritten_quotes_span_their_source() -> None:
    text = "Dedi ki: ''Geliyorum'' ve ``gitti``."
    tokens = treebank_word_tokenize(text)
    starts, ends = treebank_token_spans(text, tokens)
    quotes = [text[s:e] for t, s, e in zip(tokens, starts, ends, strict=True) if t == '"']
    assert quotes == ["''", "''", "``", "``"]


def test_tokens_of_another_text_are_refused() -> None:
    with pytest.raises(TokenAlignmentError, match="token 1 'gitti'"):
        treebank_token_spans("Ali geldi", ["Ali", "gitti"])
    # WordPunct tokens are verbatim: the Treebank quote rewrite is not accepted for them.
    assert treebank_token_spans("a ''b", ["a", '"', "b"]) == ([0, 2, 4], [1, 4, 5])
    with pytest.raises(TokenAlignmentError):
        word_punct_token_spans("a ''b", ["a", '"', "b"])


def test_regex_whitespace_is_str_isspace() -> None:
    # The walk skips `\s`; the tokenizers split on `str.isspace`: they must be the same set.
    ws = re.compile(r"\s")
    assert all(bool(ws.match(chr(c))) == chr(c).isspace() for c in range(0x110000))
