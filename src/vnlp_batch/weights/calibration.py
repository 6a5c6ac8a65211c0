"""Output-bias calibration of synthetic weights on the bundled sample corpus (see synthetic.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vnlp_batch.models import vnlp_reference as ref
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.weights.synthetic import (
    CALIBRATION_ROUNDS,
    CALIBRATION_TOKENS,
    LOGIT_SPREAD,
    SIGMOID_MEAN_LOGIT,
    GroupStats,
    fit_group_bias,
    group_stats,
)


class _FeatureModel:
    """Calls a Keras model once and keeps the input of its output layer (the 'features')."""

    def __init__(self, model: Any) -> None:
        from vnlp_batch.vnlp_env import tensorflow

        tf = tensorflow()
        self.model = model
        self.head = model.layers[-1]
        both = tf.keras.Model(model.inputs, [self.head.input, model.output])
        signature = [tf.TensorSpec((None, *i.shape[1:]), i.dtype) for i in model.inputs]
        self._call = tf.function(lambda *xs: both(list(xs), training=False), input_signature=signature)
        self.features: list[np.ndarray] = []

    def __call__(self, batch: list[np.ndarray]) -> np.ndarray:
        dtypes = [i.dtype.as_numpy_dtype for i in self.model.inputs]
        features, probs = self._call(*[np.asarray(x, d) for x, d in zip(batch, dtypes, strict=True)])
        self.features.append(features.numpy())
        return probs.numpy()

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.head.kernel.numpy() + self.head.bias.numpy()

    def set_bias(self, bias: np.ndarray) -> None:
        self.head.bias.assign(bias)

    def spread_logits(self, features: np.ndarray) -> None:
        """Scale the output kernel so each logit varies across tokens with std LOGIT_SPREAD.

        A random network's last hidden layer varies little from token to token, so its logits
        differ by hundredths and a bias alone cannot spread the argmax over many labels.
        """
        kernel = self.head.kernel.numpy()
        spread = (features @ kernel).std(axis=0)
        self.head.kernel.assign(kernel * (LOGIT_SPREAD / np.maximum(spread, 1e-6)))


def calibrate(spec: ModelSpec, model: Any, corpus: Sequence[str]) -> list[GroupStats]:
    """Rescale `model`'s output kernel and fit its bias, in place; return the label spread they give."""
    head = _FeatureModel(model)
    if spec.decoding == "autoregressive":
        return _calibrate_autoregressive(spec, head, ref.sample_sentences(spec, corpus, CALIBRATION_TOKENS))
    if spec.decoding == "per_token":
        return _calibrate_stemmer(spec, head, corpus)
    if spec.decoding == "per_char":
        return _calibrate_charner(spec, head, corpus)
    return _calibrate_sentiment(spec, head, corpus)


def _refit(
    spec: ModelSpec, head: _FeatureModel, features: np.ndarray, valid: np.ndarray | None = None
) -> None:
    logits = head.logits(features)
    bias = head.head.bias.numpy().copy()
    for group in spec.output_groups:
        part = slice(group.start, group.stop)
        mean_logit = SIGMOID_MEAN_LOGIT if spec.output_activation == "sigmoid" else 0.0
        bias[part] = fit_group_bias(logits[:, part], bias[part], group, valid, mean_logit)
    head.set_bias(bias)


def _calibrate_autoregressive(spec, head, sentences):
    for round_ in range(CALIBRATION_ROUNDS):
        head.features.clear()
        ref.decode_autoregressive(spec, head, sentences)
        if round_ == 0:
            head.spread_logits(np.concatenate(head.features))
        _refit(spec, head, np.concatenate(head.features))
    decoded = ref.decode_autoregressive(spec, head, sentences)
    labels = np.array([label for d in decoded for label in d.labels])
    return group_stats(spec, labels)


def _calibrate_stemmer(spec, head, corpus):
    sentences = ref.sample_sentences(spec, corpus, 4 * CALIBRATION_TOKENS)
    valid_rows = []
    for s in sentences:
        candidates = [c[:10] for c in ref.stemmer_candidates(s.tokens)]
        head(ref.stemmer_inputs(spec, s.tokens, candidates))
        valid_rows.append(np.array([[k < len(c) for k in range(10)] for c in candidates]))
    features, valid = np.concatenate(head.features), np.concatenate(valid_rows)
    head.spread_logits(features)
    _refit(spec, head, features, valid)
    logits = np.where(valid, head.logits(features), -np.inf)
    ambiguous = valid.sum(axis=1) > 1
    labels = logits[ambiguous].argmax(axis=1)[:, None]
    return group_stats(spec, labels)


def _calibrate_charner(spec, head, corpus):
    rows, positions = [], []
    for s in ref.sample_sentences(spec, corpus, 4 * CALIBRATION_TOKENS):
        joined = " ".join(s.tokens)
        if len(joined) > 256:
            continue
        rows.append(ref.charner_inputs(spec, s.tokens))
        positions.append(np.array([c != " " for c in joined] + [False] * (256 - len(joined))))
    head(list([np.concatenate(rows)]))
    features = np.concatenate(head.features)[np.stack(positions)]
    head.spread_logits(features)
    _refit(spec, head, features)
    labels = head.logits(features).argmax(axis=1)[:, None]
    return group_stats(spec, labels)


def _calibrate_sentiment(spec, head, corpus):
    batch = [ref.sentiment_inputs(spec, text) for text in corpus]
    batch = [b for b in batch if b.shape[1] == 256]  # longer texts go through VNLP's split-and-average
    head([np.concatenate(batch)])
    head.spread_logits(np.concatenate(head.features))
    z = head.logits(np.concatenate(head.features))[:, 0]
    bias = head.head.bias.numpy() - np.median(z)
    head.set_bias(bias)
    labels = (z - np.median(z) > 0).astype(int)[:, None]
    return group_stats(spec, labels)
