"""VNLP's Keras tokenizers and `pad_sequences`, re-implemented for one sequence: equal to Keras's own."""

from __future__ import annotations

import numpy as np
import pytest

from vnlp_batch.featurize.vocab import KerasVocab, keras_vocab, pad_ids
from vnlp_batch.models.resources import STEMMER_CHARS, STEMMER_TAGS
from vnlp_batch.vnlp_env import tensorflow, vnlp_module


def test_keras_vocab_matches_keras_tokenizer(edge_tokens: list[str]) -> None:
    from vnlp.utils import load_keras_tokenizer

    stemmer_module = vnlp_module("stemmer_morph_analyzer.stemmer_morph_analyzer")
    keras_chars = load_keras_tokenizer(stemmer_module.TOKENIZER_CHAR_LOC)
    keras_tags = load_keras_tokenizer(stemmer_module.TOKENIZER_TAG_LOC)
    texts = [*edge_tokens, "ÂâÎîÛûéß", "ıİiI"]
    assert [keras_vocab(STEMMER_CHARS).ids(t) for t in texts] == keras_chars.texts_to_sequences(texts)
    tag_lists = [["Noun", "A3sg", ""], ["DB", "Nope"], []]
    assert [keras_vocab(STEMMER_TAGS).ids(t) for t in tag_lists] == keras_tags.texts_to_sequences(tag_lists)
    # num_words and a missing OOV token, as Keras handles them.
    capped = KerasVocab({"<OOV>": 1, "a": 2, "b": 3}, oov_token="<OOV>", num_words=3)
    assert capped.ids(["a", "b", "c"]) == [2, 1, 1]
    assert KerasVocab({"a": 1, "b": 2}).ids(["b", "z", "a"]) == [2, 1]
    assert KerasVocab({"ab": 1}, lower=True).ids(["AB"]) == [1]


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_ids_matches_pad_sequences(padding: str, truncating: str) -> None:
    pad_sequences = tensorflow().keras.preprocessing.sequence.pad_sequences
    for ids in ([], [5], list(range(1, 8)), list(range(1, 30))):
        expected = pad_sequences([ids], maxlen=8, padding=padding, truncating=truncating)[0]
        ours = pad_ids(ids, 8, padding, truncating)  # type: ignore[arg-type]
        assert ours.dtype == expected.dtype and np.array_equal(ours, expected)
