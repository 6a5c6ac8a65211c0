"""The stemmer's morphological candidates, in an order that does not depend on PYTHONHASHSEED.

VNLP 0.2.4's `TurkishStemSuffixCandidateGenerator.get_tags` de-duplicates a token's tags with
`list(set(tags))`, so the order of a token's candidates (and therefore which ten of them the
StemmerAnalyzer sees, and in which input slots) changes from one Python process to the next.
`DeterministicCandidateGenerator` changes that one line to first-occurrence order and nothing else;
the candidates are the same strings, only their order is fixed. The reference harness applies the
same change to VNLP (`use_deterministic_candidates`) so that both sides are compared like for like.

The class subclasses VNLP's, so it is built on first use (`DeterministicCandidateGenerator` is looked
up like a module attribute): importing this module does not import VNLP, nor TensorFlow with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

from vnlp_batch.vnlp_env import vnlp_module

# Distinct tokens of a large corpus far exceed this; the bound keeps memory flat (~100 MB worst case)
# while the frequent tokens, which dominate running text, stay cached.
CANDIDATE_CACHE_SIZE = 2**18


def _first_occurrence_get_tags(self: Any, suffix: str, stem_tags: list[str] | None = None) -> list[list[str]]:
    """VNLP 0.2.4's `get_tags`, verbatim except for the de-duplication line (see below)."""
    if suffix and len(suffix) > 0:
        if suffix in self.suffix_dic:
            tags = self.suffix_dic[suffix]
            if suffix.startswith("'"):
                # VNLP writes `tags += …`, which extends the list stored in suffix_dic in place:
                # it grows by duplicates on every call, and calls get slower over a corpus
                # (4 ms each after 12k distinct X'da tokens). De-duplication makes both forms
                # give the same tags in the same order, so we build a new list instead.
                tags = tags + self.suffix_dic[suffix[1:]]
        elif suffix.startswith("'") and suffix[1:] in self.suffix_dic:
            tags = self.suffix_dic[suffix[1:]]
        else:
            return []
    else:
        tags = self.suffix_dic["null"]
    res = []
    # The one change from VNLP 0.2.4: VNLP has `tags = list(set(tags))`, whose order depends on
    # PYTHONHASHSEED; `list(dict.fromkeys(tags))` keeps the same tags in first-occurrence order.
    tags = list(dict.fromkeys(tags))
    for tag in tags:
        tag_sequences = self.TAG_SEPARATOR_REGEX.split(tag)
        first_tag = tag_sequences[0]
        if len(tag_sequences) > 1 and tag_sequences[1] in ["Prop", "Time"]:
            first_tag = "+".join(tag_sequences[0:2])
        if stem_tags:
            if first_tag in stem_tags or first_tag in stem_tags:  # sic, VNLP's redundant test
                res.append(tag_sequences)
        else:
            res.append(tag_sequences)
    return res


@cache
def _generator_class() -> type:
    base = vnlp_module("stemmer_morph_analyzer._yildiz_analyzer").TurkishStemSuffixCandidateGenerator

    class DeterministicCandidateGenerator(base):  # type: ignore[misc, valid-type]
        """VNLP's candidate generator with `get_tags` de-duplicating in first-occurrence order."""

        get_tags = _first_occurrence_get_tags

    return DeterministicCandidateGenerator


def __getattr__(name: str) -> Any:
    if name == "DeterministicCandidateGenerator":
        return _generator_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def deterministic_generator() -> Any:
    """The process-wide `DeterministicCandidateGenerator` (case-sensitive, as StemmerAnalyzer builds it);
    loads the lexica once."""
    return _generator_class()(case_sensitive=True)


def join_analyses(analyses: Iterable[tuple[str, str, str | list[str]]]) -> list[str]:
    """`root+Tag+…` strings from `get_analysis_candidates` tuples, joined as StemmerAnalyzer.predict does."""
    out = []
    for root, _suffix, tags in analyses:
        # The no-analysis fallback is (word, "", "Unknown"): a bare string, not a list of tags.
        tag_list = [tags] if isinstance(tags, str) else tags
        out.append("+".join([root, *tag_list]))
    return out


@lru_cache(maxsize=CANDIDATE_CACHE_SIZE)
def _candidates(token: str) -> tuple[str, ...]:
    return tuple(join_analyses(deterministic_generator().get_analysis_candidates(token)))


def candidate_strings(token: str) -> list[str]:
    """The stemmer candidates of one token (`root+Tag+…`, `+DB` not yet rewritten), in deterministic order."""
    return list(_candidates(token))


def sentence_candidates(tokens: Sequence[str]) -> list[list[str]]:
    """`candidate_strings` for every token of a sentence."""
    return [list(_candidates(token)) for token in tokens]


def use_deterministic_candidates(stemmer_analyzer: Any, generator: Any = None) -> None:
    """Swap a VNLP `StemmerAnalyzer`'s candidate generator for the deterministic one (in place)."""
    stemmer_analyzer.candidate_generator = generator if generator is not None else deterministic_generator()
