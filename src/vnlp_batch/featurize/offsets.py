"""Each token's character span `(start, end)` in the text it came from (Python string indices).

VNLP's tokenizers only split text at whitespace and between characters, except for one rewrite in
`TreebankWordTokenize` (vnlp/tokenizer/tokenizer.py): it turns double quotes into ``` `` ``` / `''`
and, at its end, both of those back into `"`. A Treebank token `"` therefore stands for one of
`TREEBANK_REWRITES['"']`: a `"`, two apostrophes `''`, or two backticks ``` `` ```, so its span is one
or two characters long. Every other token is a verbatim substring, and so is every `WordPunctTokenize`
token (`\\w+|[^\\w\\s]+`, CharNER's tokens). So, for a text and its tokens:

- spans are in order, disjoint, non-empty and inside the text;
- `text[start:end] == token`, except that a `"` token may span `''` or ``` `` ``` (the only rewrite);
- only whitespace (`str.isspace`, what `str.split` splits on) lies between tokens, so every other
  character of the text is inside exactly one token.

tests/featurize/test_offsets.py checks these on the sample corpus, the document corpus and
Hypothesis-generated text (quotes, apostrophes, Turkish letters, digits, punctuation runs, whitespace
and control characters).

Spans are found by walking the text once: skip whitespace, then the token must start there (or one
of its rewrites). That is two C-level calls per token (~2 µs per token would be a tenth of a fast PoS
decoder's time per token; this is well under that, see README). A token that is not found raises
`TokenAlignmentError`, which would mean the tokens do not come from this text.

How the stage will use this (wired into the stage in a follow-up): for every row it calls
`treebank_token_spans(text, tokens)` (sentence unit) or, per sentence of
`featurize.sentences.split_sentences`, `treebank_token_spans(text, tokens, sentence.start,
sentence.end)` (document unit), with the tokens it annotates, and writes the starts and ends as the
`token_start` / `token_end` columns (`corpus.schema.SPAN_FIELDS`); CharNER's WordPunct tokens get
`word_punct_token_spans` the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# The only rewrite VNLP's tokenizers make: a Treebank `"` token may stand for any of these.
TREEBANK_REWRITES: Mapping[str, tuple[str, ...]] = {'"': ('"', "''", "``")}
NO_REWRITES: Mapping[str, tuple[str, ...]] = {}

# `\s` of Python's `re` on str is `str.isspace`, the whitespace the tokenizers split on.
_WHITESPACE = re.compile(r"\s*")

Spans = tuple[list[int], list[int]]


class TokenAlignmentError(ValueError):
    """A token that does not occur where the text says it should: the tokens are not this text's."""


def treebank_token_spans(text: str, tokens: Sequence[str], start: int = 0, end: int | None = None) -> Spans:
    """`(starts, ends)` of VNLP Treebank `tokens` of `text[start:end]`, as offsets into `text`."""
    return token_spans(text, tokens, TREEBANK_REWRITES, start, end)


def word_punct_token_spans(text: str, tokens: Sequence[str], start: int = 0, end: int | None = None) -> Spans:
    """`(starts, ends)` of VNLP WordPunct (CharNER) `tokens` of `text[start:end]`, as offsets into `text`."""
    return token_spans(text, tokens, NO_REWRITES, start, end)


def token_spans(
    text: str,
    tokens: Sequence[str],
    rewrites: Mapping[str, tuple[str, ...]],
    start: int = 0,
    end: int | None = None,
) -> Spans:
    """`(starts, ends)` of `tokens` in `text[start:end]`, where a token `t` may stand for any of
    `rewrites[t]` instead of itself; offsets are into `text`."""
    end = len(text) if end is None else end
    starts: list[int] = []
    ends: list[int] = []
    pos = start
    skip = _WHITESPACE.match
    for index, token in enumerate(tokens):
        pos = skip(text, pos, end).end()
        if text.startswith(token, pos, end) and token:
            starts.append(pos)
            pos += len(token)
            ends.append(pos)
            continue
        for source in rewrites.get(token, ()):
            if text.startswith(source, pos, end):
                starts.append(pos)
                pos += len(source)
                ends.append(pos)
                break
        else:
            raise TokenAlignmentError(
                f"token {index} {token!r} not found at offset {pos}: the text there is "
                f"{text[pos : pos + 20]!r}"
            )
    return starts, ends
