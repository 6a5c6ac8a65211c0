"""VNLP 0.2.4's `TreebankWordTokenize`, token for token, but word by word and cached.

VNLP's function (`vnlp/tokenizer/tokenizer.py`, a simplified NLTK Treebank tokenizer) runs a cascade
of 17 regex substitutions over the whole sentence and splits the result on whitespace.
`treebank_word_tokenize` returns exactly the same list (tests/featurize/test_treebank.py compares the
two on the whole sample corpus and on Hypothesis-generated hostile strings), but applies the cascade
to each space-separated word on its own, through an LRU cache keyed by the word and its position
(first / middle / last): words repeat Zipf-like, so a corpus pays the cascade once per distinct word.
Words holding none of the characters the rules look at are their own token, without any regex work.

Why word by word is exact when the text's only whitespace is U+0020 (any other whitespace — tab,
newline, NBSP, … — takes the whole-sentence cascade, `vnlp_cascade`, which is VNLP's code verbatim):

- No rule can match across a separating space: every pattern either contains no space, or has a space
  only as its first character (the quote rule `([ ([{<])("|'')`; the final-period rule's and the
  `([^'])' ` rule's first group) or only at its end (`([:,])([^\\d])`, `([^'])' `, the contraction
  rules' trailing space, the final-period rule's trailing `\\s*`). So each match lies within one word
  plus the space on either side of it, and sees nothing of the neighbouring words. The cascade is run
  on the word with a space on each side it has one in the sentence, so it sees the same context.
- Replacements keep those spaces (they re-emit the captured space or put one in its place), so the
  context stays the same from rule to rule; they only insert spaces and turn quotes into ``/''.
- A separating space shared by two matches of the same rule is consumed by the first one only in the
  sentence but by both in the per-word runs. That can happen only in `([^'])' ` (the one pattern that
  can start and end with a space), where the second match has a space as its first group and just
  inserts another space next to it: no rule after it depends on how many spaces are in a run.
- The anchored rules are the only ones that see the sentence's ends: `^"` (the first word when the
  sentence does not start with a space: it is then run without a leading space), `([:,])$` (the last
  word when the sentence does not end with a space: run without a trailing space) and the final
  period `([^.])(.)([])}>"']*)\\s*$`, which is applied to the last word only (its `\\s*` would
  otherwise match the space that stands for the rest of the sentence).
- The final `replace("``", '"').replace("''", '"')` cannot meet a space either.
"""

from __future__ import annotations

import re
from functools import lru_cache

# VNLP's rules, in VNLP's order (vnlp/tokenizer/tokenizer.py), each with the characters one of which
# its pattern must contain to match: a rule is skipped when none is in the current text (the same
# result, without a regex pass). The final-period rule is kept apart: only the last word may see it.
_Rule = tuple[str, re.Pattern[str], str]
_STARTING_QUOTES: list[_Rule] = [
    ('"', re.compile(r"^\""), r"``"),
    ("`", re.compile(r"(``)"), r" \1 "),
    ("\"'", re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
]
_PUNCTUATION_BEFORE_FINAL_PERIOD: list[_Rule] = [
    (":,", re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (":,", re.compile(r"([:,])$"), r" \1 "),
    (".", re.compile(r"\.\.\."), r" ... "),
    (";@#$%&", re.compile(r"[;@#$%&]"), r" \g<0> "),
]
_FINAL_PERIOD: _Rule = (".", re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 ")
_AFTER_FINAL_PERIOD: list[_Rule] = [
    ("?!", re.compile(r"[?!]"), r" \g<0> "),
    ("'", re.compile(r"([^'])' "), r"\1 ' "),
    ("[](){}<>", re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> "),  # parentheses and brackets
    ("-", re.compile(r"--"), r" -- "),  # double dashes
]
_ENDING_QUOTES: list[_Rule] = [
    ("'", re.compile(r"''"), " '' "),
    ('"', re.compile(r'"'), " '' "),
    ("'", re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    ("'", re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_BEFORE_FINAL_PERIOD = _STARTING_QUOTES + _PUNCTUATION_BEFORE_FINAL_PERIOD

# Every character some rule (or the final quote replacement) looks for. A word without any of them
# comes out of the cascade unchanged, whatever its neighbours.
_SPECIAL = re.compile(r"[\"'`:,.;@#$%&?!\[\](){}<>\-]")
# Whitespace other than U+0020: the rules and str.split treat it differently from a space (`\s`, the
# literal spaces in the patterns), so such a sentence takes the whole-sentence cascade.
_OTHER_WHITESPACE = re.compile(r"[^\S ]")

# Position flags of a word in its sentence (part of the cache key).
_AT_START = 1  # first word, and the sentence does not start with a space
_LAST = 2  # last word: the final-period rule applies
_AT_END = 4  # last word, and the sentence does not end with a space

WORD_CACHE_SIZE = 1 << 17  # distinct (word, position) pairs kept; ~30 MB at worst for long words


def _apply(rules: list[_Rule], text: str) -> str:
    for needles, regexp, substitution in rules:
        # Checked on the current text, so skipping is exact whatever the earlier rules changed.
        for needle in needles:
            if needle in text:
                text = regexp.sub(substitution, text)
                break
    return text


def _cascade(text: str, final_period: bool) -> list[str]:
    text = _apply(_BEFORE_FINAL_PERIOD, text)
    if final_period:
        text = _apply([_FINAL_PERIOD], text)
    text = _apply(_AFTER_FINAL_PERIOD, text)
    text = _apply(_ENDING_QUOTES, " " + text + " ")
    return text.replace("``", '"').replace("''", '"').split()


def vnlp_cascade(text: str) -> list[str]:
    """VNLP's `TreebankWordTokenize(text)` on the whole sentence: its rules in its order, compiled once."""
    return _cascade(text, final_period=True)


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _word_tokens(word: str, position: int) -> tuple[str, ...]:
    if _SPECIAL.search(word) is None:
        return (word,)
    # A space on each side where the sentence has one (see the module docstring).
    text = ("" if position & _AT_START else " ") + word + ("" if position & _AT_END else " ")
    return tuple(_cascade(text, final_period=bool(position & _LAST)))


def treebank_word_tokenize(text: str) -> list[str]:
    """Exactly `vnlp.tokenizer.TreebankWordTokenize(text)`, computed per word with a cache."""
    if _OTHER_WHITESPACE.search(text) is not None:
        return vnlp_cascade(text)
    words = text.split()
    if not words:
        return []
    start = _AT_START if text[0] != " " else 0
    end = _LAST | (_AT_END if text[-1] != " " else 0)
    if len(words) == 1:
        return list(_word_tokens(words[0], start | end))
    tokens = list(_word_tokens(words[0], start))
    for word in words[1:-1]:
        tokens += _word_tokens(word, 0)
    tokens += _word_tokens(words[-1], end)
    return tokens


def cache_clear() -> None:
    """Empty the per-word cache (benchmarks measure cold starts)."""
    _word_tokens.cache_clear()
