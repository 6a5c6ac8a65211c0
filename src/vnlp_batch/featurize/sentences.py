"""Documents → paragraphs → sentences, with VNLP 0.2.4's `SentenceSplitter`, and each sentence's span.

**Paragraphs.** A row's text is cut at every line break, as Python's `str.splitlines` defines one
(`LINE_BREAKS`: `\\n`, `\\r`, `\\r\\n`, `\\v`, `\\f`, `\\x1c`-`\\x1e`, `\\x85`, `\\u2028`,
`\\u2029`): a single line break ends a paragraph, and so do several (a blank line between paragraphs
is the same as none). A paragraph that is empty or whitespace-only holds no sentence. Paragraphs are
numbered from 0, counting only those that hold a sentence.

**Sentences.** Each paragraph goes through VNLP's `SentenceSplitter.split_sentences`, and the strings
it returns are the sentences, unchanged: they are what VNLP would annotate. `vnlp_split_sentences` is
an exact equivalent of that method (VNLP's rules, in its order, with its patterns compiled once instead
of once per word, and its abbreviation table read by VNLP's own class): VNLP's method spends two thirds
of its time looking its patterns up in the `regex` module's cache, and at ~160,000 words/s it alone
would take about 5 % of a `task=pos` run. tests/featurize/test_sentences.py proves the two equal on the
whole sample corpus, the document corpus and Hypothesis-generated text.

**Spans.** VNLP's splitter keeps every non-whitespace character, in order, but rewrites whitespace:
runs of spaces become one space and each sentence is stripped. A sentence's span `(start, end)` is
therefore taken in the row text from its first to its last non-whitespace character, and
`collapse_spaces(text[start:end]) == sentence` (runs of U+0020 collapsed to one) holds for every
sentence (tested). Inside a paragraph VNLP only breaks at spaces, so a sentence's text never holds a
line break.

How the stage will use this (wired into the stage in a follow-up): with `data.unit=document`, for each
row `split_sentences(text)` gives the sentences; each `Sentence.text` is tokenized with
`featurize.treebank.treebank_word_tokenize` and annotated exactly as a sentence row is, and
`featurize.offsets.treebank_token_spans(text, tokens, sentence.start, sentence.end)` maps its tokens
back onto the row. The per-token sentence index is the position of the sentence in the returned list.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import regex

from vnlp_batch.vnlp_env import vnlp_module

# The line boundaries of `str.splitlines` (tests check the set against it), "\r\n" being two of them.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_PARAGRAPH = re.compile(f"[^{re.escape(LINE_BREAKS)}]+")
_SPACES = re.compile(" +")
# `\s` of Python's `re` on str is `str.isspace`, the whitespace `str.split` and `str.strip` use.
_WHITESPACE = re.compile(r"\s*")

# VNLP 0.2.4's patterns (vnlp/sentence_splitter/sentence_splitter.py), in its order and with its flags.
# Each of the first four replaces the spaces between its two groups with a line break.
_STARTER = r"[\p{Uppercase_Letter}\p{Other_Letter}]"
_BREAK_RULES = [
    regex.compile(pattern, flags=regex.UNICODE)
    for pattern in (
        r'([?!]) +([\'"([\u00bf\u00A1\p{Initial_Punctuation}]*' + _STARTER + ")",
        r'(\.[\.]+) +([\'"([\u00bf\u00A1\p{Initial_Punctuation}]*' + _STARTER + ")",
        r'([?!\.][\ ]*[\'")\]\p{Final_Punctuation}]+) +([\'"([\u00bf\u00A1\p{Initial_Punctuation}]*[\ ]*'
        + _STARTER
        + ")",
        r'([?!\.]) +([\'"[\u00bf\u00A1\p{Initial_Punctuation}]+[\ ]*' + _STARTER + ")",
    )
]
_WORD_SEPARATOR = regex.compile(r" +", flags=regex.UNICODE)
_FINAL_PERIODS = regex.compile(r"([\w\.\-]*)([\'\"\)\]\%\p{Final_Punctuation}]*)(\.+)$", flags=regex.UNICODE)
_UPPER_ACRONYM = regex.compile(r"(\.)[\p{Uppercase_Letter}\p{Other_Letter}\-]+(\.+)$", flags=regex.UNICODE)
_NEXT_WORD_STARTS_SENTENCE = regex.compile(
    r'^([ ]*[\'"([\u00bf\u00A1\p{Initial_Punctuation}]*[ ]*[\p{Uppercase_Letter}\p{Other_Letter}0-9])',
    flags=regex.UNICODE,
)
_STARTS_WITH_DIGITS = regex.compile("^[0-9]+", flags=regex.UNICODE)
_COLLAPSE = regex.compile(" +")


class Sentence(NamedTuple):
    """One sentence of a row: VNLP's string, its span in the row text, its paragraph's number."""

    text: str
    start: int
    end: int
    paragraph: int


@lru_cache(maxsize=1)
def vnlp_sentence_splitter():
    """VNLP's own `SentenceSplitter` instance (it reads its abbreviation file once)."""
    return vnlp_module("sentence_splitter").SentenceSplitter()


@lru_cache(maxsize=1)
def _prefixes() -> tuple[frozenset[str], frozenset[str]]:
    """VNLP's non-breaking prefixes, as read by VNLP's own class: (default ones, numeric-only ones)."""
    splitter = vnlp_sentence_splitter()
    kinds = type(splitter)._PrefixType
    table = splitter._non_breaking_prefixes
    return (
        frozenset(p for p, kind in table.items() if kind == kinds.DEFAULT),
        frozenset(p for p, kind in table.items() if kind == kinds.NUMERIC_ONLY),
    )


def vnlp_split_sentences(text: str) -> list[str]:
    """Exactly `vnlp.sentence_splitter.SentenceSplitter().split_sentences(text)` (see the module doc)."""
    if not text:
        return []
    for rule in _BREAK_RULES:
        text = rule.sub("\\1\n\\2", text)

    default_prefixes, numeric_prefixes = _prefixes()
    words = _WORD_SEPARATOR.split(text)
    for i in range(len(words) - 1):
        word = words[i]
        # `(\.+)$` (with `$` also before a final newline) needs a final period; every word ending in
        # one matches, as the groups before it may be empty. Skipping the others changes nothing.
        if not (word.endswith(".") or word.endswith(".\n")):
            continue
        match = _FINAL_PERIODS.search(word)
        if match is None:
            continue
        prefix, starting_punct = match.group(1), match.group(2)
        if prefix and prefix in default_prefixes and not starting_punct:
            continue  # a known abbreviation: no break
        if _UPPER_ACRONYM.search(word):
            continue  # an upper-case acronym: no break
        next_word = words[i + 1]
        if _NEXT_WORD_STARTS_SENTENCE.search(next_word):
            # VNLP 0.2.4's table has no numeric-only prefix; the rule is kept as VNLP has it.
            numeric_only = (
                prefix
                and prefix in numeric_prefixes
                and not starting_punct
                and _STARTS_WITH_DIGITS.search(next_word)
            )
            if not numeric_only:
                words[i] = word + "\n"
    text = " ".join(words)

    text = _COLLAPSE.sub(" ", text)
    text = text.replace("\n ", "\n").replace(" \n", "\n").strip()
    return text.split("\n")


def collapse_spaces(text: str) -> str:
    """`text` with every run of spaces (U+0020) made one space, as VNLP's splitter does."""
    return _SPACES.sub(" ", text)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of each paragraph of `text` that is not whitespace-only, in order."""
    return [m.span() for m in _PARAGRAPH.finditer(text) if not m.group().isspace()]


def split_sentences(text: str) -> list[Sentence]:
    """`text`'s sentences: paragraphs split by VNLP's splitter, each with its span (module docstring).

    Raises `RuntimeError` if a sentence VNLP returned cannot be found in the text, which would be a
    bug: VNLP's splitter only rewrites whitespace.
    """
    sentences: list[Sentence] = []
    for paragraph, (start, end) in enumerate(paragraph_spans(text)):
        pos = start
        for sentence in vnlp_split_sentences(text[start:end]):
            if not sentence:
                continue
            first, last = _locate(text, sentence, pos, end)
            sentences.append(Sentence(sentence, first, last, paragraph))
            pos = last
    return sentences


def _locate(text: str, sentence: str, pos: int, end: int) -> tuple[int, int]:
    """The span of `sentence` in `text[pos:end]`, whose non-whitespace characters it starts with."""
    pos = _WHITESPACE.match(text, pos, end).end()
    if text.startswith(sentence, pos, end):
        return pos, pos + len(sentence)
    # Whitespace differs (runs of spaces that VNLP collapsed): the same characters, any whitespace runs.
    pattern = r"\s+".join(map(re.escape, sentence.split()))
    match = re.compile(pattern).match(text, pos, end)
    if match is None:
        raise RuntimeError(f"sentence {sentence[:60]!r} not found at offset {pos} of the row text")
    return match.span()
