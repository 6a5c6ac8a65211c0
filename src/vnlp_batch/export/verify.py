"""Parity of an exported graph with VNLP's Keras model on real tokenized sample text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vnlp_batch.models.spec import ModelSpec


@dataclass
class VerificationBatch:
    inputs: list[np.ndarray]  # in the declaration's input order
    keras_probs: np.ndarray


@dataclass
class Parity:
    rows: int
    max_abs_diff: float
    label_agreement: float  # share of rows (or chars) whose per-group argmax is identical

    def passed(self, tolerance: float) -> bool:
        return self.label_agreement == 1.0 and self.max_abs_diff <= tolerance


def verification_batch(
    spec: ModelSpec, keras_model: Any, texts: Sequence[str], rows: int
) -> VerificationBatch:
    """At least `rows` model inputs built by VNLP's own input functions from sample sentences (the
    model's component chooses them: autoregressive models are decoded greedily by the Keras model
    itself, so the history inputs are the ones VNLP would really feed, not zeros).
    """
    recorded: list[list[np.ndarray]] = []
    predict = _keras_predict(keras_model)

    def keras_call(batch: list[np.ndarray]) -> np.ndarray:
        recorded.append(batch)
        return predict(batch)

    spec.component.verification_rows(spec, texts, rows, keras_call)
    inputs = [np.concatenate([b[k] for b in recorded])[: max(rows, 1)] for k in range(len(spec.inputs))]
    dtypes = [i.dtype.as_numpy_dtype for i in keras_model.inputs]
    inputs = [x.astype(d) for x, d in zip(inputs, dtypes, strict=True)]
    return VerificationBatch(inputs, predict(inputs))


def _keras_predict(keras_model: Any) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    """`keras_model(batch, training=False)` as one graph for every batch size: what `predict_on_batch`
    computes, but traced once. `predict_on_batch` traces again when the batch size first changes, and a
    trace of VNLP's GRU models costs seconds."""
    from vnlp_batch.vnlp_env import tensorflow

    tf = tensorflow()
    signature = [tf.TensorSpec((None, *i.shape[1:]), i.dtype) for i in keras_model.inputs]
    call = tf.function(lambda *xs: keras_model(list(xs), training=False), input_signature=signature)
    dtypes = [i.dtype.as_numpy_dtype for i in keras_model.inputs]

    def predict(batch: Sequence[np.ndarray]) -> np.ndarray:
        return call(*[np.asarray(x, d) for x, d in zip(batch, dtypes, strict=True)]).numpy()

    return predict


def run_session(session: Any, spec: ModelSpec, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Feed `inputs` by the names the session reports (never hard-coded) and return its only output."""
    names = [i.name for i in session.get_inputs()]
    if names != list(spec.inputs):
        raise ValueError(f"{spec.name}: graph inputs {names} differ from the declaration {list(spec.inputs)}")
    return session.run(None, dict(zip(names, inputs, strict=True)))[0]


def compare(spec: ModelSpec, reference: np.ndarray, candidate: np.ndarray) -> Parity:
    """Max |difference| and per-group argmax agreement between two output arrays."""
    ref_rows = reference.reshape(-1, reference.shape[-1])
    cand_rows = candidate.reshape(-1, candidate.shape[-1])
    agree = np.ones(len(ref_rows), bool)
    for g in spec.output_groups:
        if g.stop - g.start == 1:  # a single sigmoid: the decision is p > 0.5
            agree &= (ref_rows[:, g.start] > 0.5) == (cand_rows[:, g.start] > 0.5)
        else:
            agree &= ref_rows[:, g.start : g.stop].argmax(1) == cand_rows[:, g.start : g.stop].argmax(1)
    return Parity(
        rows=len(reference),
        max_abs_diff=float(np.abs(ref_rows - cand_rows).max()),
        label_agreement=float(agree.mean()),
    )
