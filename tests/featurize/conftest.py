"""Shared inputs for the featurizer tests: the sample corpus tokenized as VNLP does, plus edge cases."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

# Tokens VNLP's own tokenizers rarely or never produce, but a featurizer must handle like VNLP does.
EDGE_TOKENS = [
    "",  # empty: no SentencePiece ids, no characters, candidate '+Unknown'
    "a" * 60,  # longer than every per-token length limit
    "Çekoslovakyalılaştıramadıklarımızdanmışsınız",  # real word, 44 chars
    "😀",  # emoji: unknown to every vocabulary
    "🇹🇷",  # two code points
    "xqzw",  # no analysis: the generator's '<word>+Unknown' fallback
    "karşın",  # 18 candidates (> 10)
    "İstanbul'da",
    "Ali'nin",
    "’",
    "+",  # candidate '++Punc': an empty stem and an empty tag
    "^",  # candidate '^+Punc': TreeStack turns it into '++Punc'
    "123",
    "٣٤",  # Arabic-Indic digits: str.isnumeric() is True
    "½",  # isnumeric() True, isdigit() False
    "IĞÜŞÖÇİ",
    "3.5",
    "...",
]


@pytest.fixture(scope="session")
def edge_tokens() -> list[str]:
    """Hand-made tokens (see EDGE_TOKENS)."""
    return list(EDGE_TOKENS)


@pytest.fixture(scope="session")
def treebank_sentences(sample_texts: list[str]) -> list[list[str]]:
    """Every sample sentence, tokenized by VNLP's TreebankWordTokenize."""
    from vnlp_batch.vnlp_env import vnlp_module

    tokenize = vnlp_module("tokenizer").TreebankWordTokenize
    return [tokenize(text) for text in sample_texts]


@pytest.fixture(scope="session")
def long_sentence(treebank_sentences: list[list[str]]) -> list[str]:
    """A 130-token sentence made of sample tokens (VNLP slides 40-token windows over it)."""
    tokens = [token for sentence in treebank_sentences for token in sentence]
    return tokens[:130]


@pytest.fixture(scope="session")
def edge_sentences(long_sentence: list[str]) -> list[list[str]]:
    """Hand-made sentences: all edge tokens together, each edge token alone, and the 130-token one."""
    return [EDGE_TOKENS, *([token] for token in EDGE_TOKENS), long_sentence]


@pytest.fixture(scope="session")
def all_sentences(treebank_sentences: list[list[str]], edge_sentences: list[list[str]]) -> list[list[str]]:
    """The sample corpus followed by the edge cases."""
    return treebank_sentences + edge_sentences


@pytest.fixture(scope="session")
def same() -> Callable[[np.ndarray, object, np.dtype | type], None]:
    """Assert that `ours` has dtype `dtype`, VNLP's shape, and exactly VNLP's values in both dtypes."""

    def check(ours: np.ndarray, reference: object, dtype: np.dtype | type) -> None:
        ref = np.asarray(reference)
        assert ours.dtype == np.dtype(dtype), f"dtype {ours.dtype}, expected {np.dtype(dtype)}"
        assert ours.shape == ref.shape, f"shape {ours.shape}, VNLP {ref.shape}"
        # Exact both ways: no value is changed by casting to the other side's dtype.
        assert np.array_equal(ours.astype(ref.dtype), ref)
        assert np.array_equal(ref.astype(ours.dtype), ours)

    return check
