"""CharNER inputs, split and decoding against VNLP's own CharNER.predict, run with a stand-in model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from vnlp_batch.featurize.charner import (
    SEQ_LEN_MAX,
    charner_inputs,
    decode_entities,
    joined_length,
    split_for_length,
    token_spans,
)
from vnlp_batch.featurize.vocab import keras_vocab
from vnlp_batch.models.resources import NER_LABELS
from vnlp_batch.vnlp_env import tensorflow, vnlp_module

Same = Callable[[np.ndarray, object, type], None]


def _fake_probs(ids: np.ndarray) -> np.ndarray:
    """Deterministic (1, 256, 5) 'probabilities' from the input ids: many ties in the per-token mode."""
    ids = np.asarray(ids, np.int64).reshape(1, -1)
    rng = np.random.default_rng(int(ids.sum()) * 7919 + int((ids > 0).sum()))
    return rng.random((1, ids.shape[1], 5), dtype=np.float32)


class _Recorder:
    """Stands in for CharNER's Keras model: records each input, answers with `_fake_probs`."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []

    def __call__(self, x: list[np.ndarray]) -> Any:
        (padded,) = x
        self.inputs.append(np.asarray(padded))
        return tensorflow().constant(_fake_probs(padded))


@pytest.fixture(scope="module")
def charner() -> Any:
    """A VNLP CharNER without weights: its own predict/_predict_char_level/_charner_decoder code."""
    from vnlp.utils import load_keras_tokenizer

    module = vnlp_module("named_entity_recognizer.charner")
    instance = module.CharNER.__new__(module.CharNER)
    instance.tokenizer_char = load_keras_tokenizer(module.TOKENIZER_CHAR_LOC)
    instance.tokenizer_label = load_keras_tokenizer(module.TOKENIZER_LABEL_LOC)
    instance.model = _Recorder()
    assert module.SEQ_LEN_MAX == SEQ_LEN_MAX
    return instance


def _label_names() -> dict[int, str]:
    names = {index: name for name, index in keras_vocab(NER_LABELS).word_index.items()}
    return {0: "", **names}  # index 0 decodes to ''


def _ours(text: str) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """Our inputs and (token, entity) result for `text`, using the same stand-in model."""
    tokenize = vnlp_module("tokenizer").WordPunctTokenize
    labels = _label_names()
    inputs, result = [], []
    for leaf in split_for_length(tokenize(text)):
        x = charner_inputs(leaf)
        inputs.append(x)
        char_labels = np.argmax(_fake_probs(x), axis=2).reshape(-1)
        entities = decode_entities(leaf, char_labels)
        result += [(token, labels[i]) for token, i in zip(leaf, entities, strict=True)]
    return inputs, result


def _texts(sample_texts: list[str], edge_tokens: list[str]) -> list[str]:
    long_text = " ".join(sample_texts[:12])  # well over 256 chars: several levels of halving
    return [*sample_texts, " ".join(edge_tokens), "😀 " * 200, "Ankara'ya " + "a" * 60, long_text, ""]


def test_inputs_split_and_entities_equal_charner_predict(
    charner: Any, sample_texts: list[str], edge_tokens: list[str], same: Same
) -> None:
    split = 0
    for text in _texts(sample_texts, edge_tokens):
        charner.model.inputs.clear()
        theirs = charner.predict(text)
        inputs, ours = _ours(text)
        assert ours == theirs, text
        assert len(inputs) == len(charner.model.inputs)
        for a, b in zip(inputs, charner.model.inputs, strict=True):
            same(a, b, np.float32)
        split += len(inputs) > 1
    assert split >= 29  # the sample's 29 texts over 256 chars, and the hand-made ones


def test_token_longer_than_the_model_fails_like_vnlp(charner: Any) -> None:
    with pytest.raises(RecursionError):
        charner.predict("a" * 300)
    with pytest.raises(ValueError, match="longer than CharNER"):
        split_for_length(["kısa", "a" * 300])


def test_decoder_equals_vnlps_on_random_labels(charner: Any) -> None:
    rng = np.random.default_rng(0)
    tokenize = vnlp_module("tokenizer").WordPunctTokenize
    tokens = tokenize("Ali, VNGRS AI Takımı'nda çalışıyor ve Ankara'ya gidecek; 3.5 saat sürer!")
    labels = _label_names()
    for _ in range(300):
        char_labels = rng.integers(0, rng.integers(1, 6), SEQ_LEN_MAX)
        theirs = charner._charner_decoder(tokens, char_labels)
        assert [labels[i] for i in decode_entities(tokens, char_labels)] == theirs
    # A tie goes to the lowest id.
    assert decode_entities(["abcd"], [3, 1, 1, 3, 0]) == [1]


def test_spans_and_edge_cases() -> None:
    assert token_spans(["Ali", ",", "gel"]) == [(0, 3), (4, 5), (6, 9)]
    assert joined_length(["Ali", ",", "gel"]) == len("Ali , gel")
    assert joined_length([]) == 0
    assert split_for_length([]) == [[]]
    assert charner_inputs([]).shape == (1, SEQ_LEN_MAX) and not charner_inputs([]).any()
    assert decode_entities([], np.zeros(SEQ_LEN_MAX)) == []
    with pytest.raises(ValueError):
        decode_entities(["a", ""], np.zeros(SEQ_LEN_MAX, np.int64))  # VNLP: argmax of an empty island
