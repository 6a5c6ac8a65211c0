"""The rows VNLP 0.2.4 itself builds for its models, and its greedy loop, batched across sentences.

Each model family's component holds VNLP's own input function for it (`process_single_word_input`,
`process_input_text`, `process_text_input`, … called from the installed `vnlp` package); here is
what they share: VNLP's greedy decoding, which stacks the rows of all sentences still being decoded
at step t and calls a model once per step, and the sample sentences those rows are built from.
Batching across sentences is exact: each row is the row VNLP would build for that sentence alone.

Export verification and the calibration of synthetic weights feed these rows to VNLP's Keras model;
the fidelity tests use them as the reference every other path is measured against.

Two deliberate deviations from 0.2.4 are applied here as in the product (see README, "Deviations"):
TreeStackDP reads the token list where 0.2.4 passes the sentence string, and stemmer candidates are
de-duplicated in first-occurrence order (featurize/candidates.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import vnlp_module

Predict = Callable[[list[np.ndarray]], np.ndarray]


@dataclass
class Sentence:
    """One sentence's tokens plus what a model needs from upstream models."""

    tokens: list[str]
    analyses: list[str] | None = None  # stemmer output ('^DB' already mapped to '+DB'), TreeStack only
    pos: list[str] | None = None  # PoS labels, TreeStackDP only
    text: str | None = None  # raw text, sentiment and CharNER


@dataclass
class Decoded:
    """Per-token (or per-char / per-text) output probabilities and the labels chosen from them."""

    probs: np.ndarray  # (steps, output_width)
    labels: list[tuple[int, ...]] = field(default_factory=list)  # one int per output group, per step


@cache
def module(name: str) -> ModuleType:
    """VNLP's module `vnlp.<name>` (a declaration's `module` or `builder_module`)."""
    return vnlp_module(name)


@cache
def keras_tokenizer(path: str) -> Any:
    """VNLP's Keras tokenizer stored at `path` (a path constant of one of its modules)."""
    return module("utils").load_keras_tokenizer(path)


def group_argmax(spec: ModelSpec, row: np.ndarray) -> tuple[int, ...]:
    """argmax per output group, first maximum winning, as np.argmax (and VNLP) do."""
    return tuple(int(np.argmax(row[g.start : g.stop])) for g in spec.output_groups)


def decode_autoregressive(
    spec: ModelSpec,
    predict: Predict,
    sentences: Sequence[Sentence],
    max_rows: int = 512,
    choose: Callable[[ModelSpec, np.ndarray], tuple[int, ...]] = group_argmax,
) -> list[Decoded]:
    """Greedy decoding exactly as VNLP's `predict`, with step t batched over all sentences longer than t.

    Step t's row of a sentence is its component's `vnlp_step_inputs`: VNLP's own input function."""
    inputs = spec.component.vnlp_step_inputs
    results = [Decoded(np.zeros((len(s.tokens), spec.output_width), np.float32)) for s in sentences]
    longest = max((len(s.tokens) for s in sentences), default=0)
    for t in range(longest):
        active = [i for i, s in enumerate(sentences) if len(s.tokens) > t]
        for start in range(0, len(active), max_rows):
            chunk = active[start : start + max_rows]
            rows = [inputs(spec, t, sentences[i], results[i].labels) for i in chunk]
            batch = [
                np.concatenate([np.asarray(r[k], np.float32) for r in rows]) for k in range(len(rows[0]))
            ]
            probs = np.asarray(predict(batch))
            for i, row in zip(chunk, probs, strict=True):
                results[i].probs[t] = row
                results[i].labels.append(choose(spec, row))
    return results


def sample_sentences(spec: ModelSpec, texts: Sequence[str], budget: int, seed: int = 0) -> list[Sentence]:
    """Sentences of 1..40 tokens from `texts`, in order, until `budget` tokens: real rows for
    calibration and verification, tokenized as VNLP's class for `spec` tokenizes raw text.

    A model that reads upstream outputs gets realistic ones without running the upstream models
    (its component's `sample_upstream`, drawing from a generator seeded with `seed`).
    """
    rng = np.random.default_rng(seed)
    component = spec.component
    chosen, total = [], 0
    for text in texts:
        tokens = component.tokenize(text)
        if not 1 <= len(tokens) <= WINDOW:
            continue
        sentence = Sentence(tokens=tokens, text=text)
        component.sample_upstream(sentence, rng)
        chosen.append(sentence)
        total += len(tokens)
        if total >= budget:
            break
    return chosen
