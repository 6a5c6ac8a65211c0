"""`featurize.treebank` returns exactly VNLP's `TreebankWordTokenize` tokens.

The per-word cached path rests on an argument about the rules (module docstring); these tests check
its conclusion against VNLP's own function on the whole sample corpus and on generated strings made
of the characters the rules react to, where any flaw in the argument would show.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnlp_batch.corpus.sample import SAMPLE_DIR
from vnlp_batch.featurize import treebank
from vnlp_batch.featurize.treebank import treebank_word_tokenize, vnlp_cascade

# Every character a rule looks at, the multi-character units the rules match, letters that form
# contractions ('s 'm 'd 'll 're 've n't), digits (the comma/colon rule skips them), Turkish letters,
# and whitespace that is not U+0020 (the whole-sentence path).
_FRAGMENTS = [
    *"\"'`:,.;@#$%&?!()[]{}<>-",
    *"sSmMdDlLrRvVeEnNtT",
    *"09ıİşğüöçÇ",
    " ",
    " ",
    " ",
    "''",
    "``",
    "--",
    "...",
    "'s",
    "'ll",
    "n't",
    "N'T",
    "Ali'nin",
    "3,5",
    "\t",
    "\n",
    "\r\n",
    "\xa0",
    "\u2003",
    "\x1c",
    "\u3000",
]
# Most generated strings keep to plain spaces: that is the cached path, whose equality is the claim.
# They are built as words of rule characters between runs of spaces, so that nearly every example
# puts something interesting on both sides of a word boundary.
_IN_WORD = [f for f in _FRAGMENTS if not any(c.isspace() for c in f)]
_WORD = st.lists(st.sampled_from(_IN_WORD), min_size=1, max_size=5).map("".join)
_SPACED = st.lists(st.one_of(_WORD, st.sampled_from([" ", " ", "  "])), max_size=14).map("".join)


@pytest.fixture(scope="module")
def vnlp_tokenize() -> Callable[[str], list[str]]:
    from vnlp_batch.vnlp_env import vnlp_module

    return vnlp_module("tokenizer").TreebankWordTokenize


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a sentence takes the whole-sentence cascade instead of the per-word cache."""

    def refuse(text: str) -> list[str]:
        raise AssertionError(f"whole-sentence fallback taken for {text!r}")

    monkeypatch.setattr(treebank, "vnlp_cascade", refuse)


def _sample_parquet_texts() -> list[str]:
    return [t for t in pq.read_table(SAMPLE_DIR / "sample_tr.parquet").column("text").to_pylist() if t]


def test_sample_corpus_equals_vnlp_through_the_word_cache(
    sample_texts: list[str], vnlp_tokenize: Callable[[str], list[str]], no_fallback: None
) -> None:
    treebank.cache_clear()
    texts = sample_texts + _sample_parquet_texts()
    ours = [treebank_word_tokenize(t) for t in texts]
    assert ours == [vnlp_tokenize(t) for t in texts]
    # Second pass: every word now comes from the cache, and must still give the same tokens.
    info = treebank._word_tokens.cache_info()
    assert info.misses > 0
    assert [treebank_word_tokenize(t) for t in texts] == ours
    assert treebank._word_tokens.cache_info().misses == info.misses


def test_sample_sentences_in_other_positions_and_spacings(
    sample_texts: list[str], vnlp_tokenize: Callable[[str], list[str]]
) -> None:
    # The same words at a sentence's start, middle and end, with leading/trailing/double spaces
    # (cached path) and with tabs and newlines (whole-sentence path).
    variants = []
    for a, b in itertools.pairwise(sample_texts):
        variants += [f"{a} {b}", f"  {a}  {b} ", f" {a}", f"{a} ", f"{a}\t{b}", f"{a}\n", f'"{a}" {b}']
    assert [treebank_word_tokenize(t) for t in variants] == [vnlp_tokenize(t) for t in variants]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        '"',
        '" Merhaba," dedi.',
        "Dr. Ali geldi.",
        "Ali geldi .",
        "Ali geldi. ",
        "Ali geldi.) ' ",
        "x' ' y",
        "x' ',",
        "a ''' b",
        "a , b ,",
        "a:",
        "a: 3:4",
        "'s 's",
        "a's' b",  # a trailing contraction needs the space after its word
        "9D's' N",
        "don't can't 'd",
        "((a)) [b] {c} <d>",
        "a--b -- --",
        "... a... .",
        "a.\t",
        "a. \t",
        "a,\nb",
        "``a'' ``",
    ],
)
def test_hand_made_edge_cases(text: str, vnlp_tokenize: Callable[[str], list[str]]) -> None:
    assert treebank_word_tokenize(text) == vnlp_tokenize(text)
    assert vnlp_cascade(text) == vnlp_tokenize(text)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SPACED)
def test_generated_space_separated_strings_equal_vnlp(
    vnlp_tokenize: Callable[[str], list[str]], text: str
) -> None:
    assert treebank_word_tokenize(text) == vnlp_tokenize(text)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.lists(st.sampled_from(_FRAGMENTS), max_size=24).map("".join),
        st.text(max_size=40),  # anything Unicode, surrogates excluded by Hypothesis' default
    )
)
def test_generated_strings_with_any_whitespace_equal_vnlp(
    vnlp_tokenize: Callable[[str], list[str]], text: str
) -> None:
    assert treebank_word_tokenize(text) == vnlp_tokenize(text)
