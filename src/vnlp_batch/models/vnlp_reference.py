"""VNLP 0.2.4's own per-sentence algorithm, run with VNLP's own input functions, batched across sentences.

This is the reference every other path is measured against: it calls `process_single_word_input`,
`process_input_text`, `process_text_input` and friends from the installed `vnlp` package, stacks the
rows of all sentences that are still being decoded at step t, and calls a model once per step.
Batching across sentences is exact: each row is the row VNLP would build for that sentence alone.

Two deliberate deviations from 0.2.4 are applied here as in the product (see README, "Deviations"):
TreeStackDP reads the token list where 0.2.4 passes the sentence string, and stemmer candidates are
de-duplicated in first-occurrence order (`stemmer_candidates`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

import numpy as np

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
def _module(spec_module: str) -> ModuleType:
    return vnlp_module(spec_module)


@cache
def _keras_tokenizer(path: str):
    return vnlp_module("utils").load_keras_tokenizer(path)


def group_argmax(spec: ModelSpec, row: np.ndarray) -> tuple[int, ...]:
    """argmax per output group, first maximum winning, as np.argmax (and VNLP) do."""
    return tuple(int(np.argmax(row[g.start : g.stop])) for g in spec.output_groups)


def _autoregressive_inputs(spec: ModelSpec, t: int, sentence: Sentence, labels: list[tuple[int, ...]]):
    m = _module(spec.module)
    utils = _module(spec.builder_module)
    if spec.name in ("spucontext_pos", "spucontext_ner"):
        preds = [label[0] for label in labels]
        return utils.process_single_word_input(
            t, sentence.tokens, m.spu_tokenizer_word, m.tokenizer_label, preds
        )
    if spec.name == "spucontext_dp":
        arcs = [label[0] for label in labels]
        rels = [label[1] for label in labels]
        return utils.process_single_word_input(
            t, sentence.tokens, m.spu_tokenizer_word, m.tokenizer_label, m.ARC_LABEL_VECTOR_LEN, arcs, rels
        )
    if spec.name == "treestack_pos":
        preds = [label[0] for label in labels]
        return utils.process_single_word_input(
            t,
            sentence.tokens,
            sentence.analyses,
            m.SENTENCE_MAX_LEN,
            m.TAG_MAX_LEN,
            m.tokenizer_word,
            m.tokenizer_morph_tag,
            m.tokenizer_pos_label,
            preds,
            m.WORD_FORM,
        )
    if spec.name == "treestack_dp":
        arcs = [label[0] for label in labels]
        rels = [label[1] for label in labels]
        return utils.process_single_word_input(
            t,
            sentence.tokens,  # 0.2.4 passes the sentence string here; see module docstring
            sentence.analyses,
            m.SENTENCE_MAX_LEN,
            m.TAG_MAX_LEN,
            m.ARC_LABEL_VECTOR_LEN,
            m.tokenizer_word,
            m.tokenizer_tag,
            m.tokenizer_label,
            m.tokenizer_pos,
            arcs,
            rels,
            sentence.pos,
            m.WORD_FORM,
        )
    raise ValueError(f"{spec.name} is not autoregressive")


def decode_autoregressive(
    spec: ModelSpec,
    predict: Predict,
    sentences: Sequence[Sentence],
    max_rows: int = 512,
    choose: Callable[[ModelSpec, np.ndarray], tuple[int, ...]] = group_argmax,
) -> list[Decoded]:
    """Greedy decoding exactly as VNLP's `predict`, with step t batched over all sentences longer than t."""
    results = [Decoded(np.zeros((len(s.tokens), spec.output_width), np.float32)) for s in sentences]
    longest = max((len(s.tokens) for s in sentences), default=0)
    for t in range(longest):
        active = [i for i, s in enumerate(sentences) if len(s.tokens) > t]
        for start in range(0, len(active), max_rows):
            chunk = active[start : start + max_rows]
            rows = [_autoregressive_inputs(spec, t, sentences[i], results[i].labels) for i in chunk]
            batch = [
                np.concatenate([np.asarray(r[k], np.float32) for r in rows]) for k in range(len(rows[0]))
            ]
            probs = np.asarray(predict(batch))
            for i, row in zip(chunk, probs, strict=True):
                results[i].probs[t] = row
                results[i].labels.append(choose(spec, row))
    return results


def stemmer_candidates(tokens: Sequence[str]) -> list[list[str]]:
    """`root+Tag+…` candidate strings per token, as StemmerAnalyzer.predict builds them, from VNLP's
    generator with the deterministic-order change (featurize/candidates.py): with VNLP's own
    `list(set(tags))` the order, and so anything calibrated or verified on it, would follow
    PYTHONHASHSEED."""
    from vnlp_batch.featurize.candidates import sentence_candidates

    return sentence_candidates(tokens)


def stemmer_inputs(spec: ModelSpec, tokens: list[str], candidates: list[list[str]]) -> list[np.ndarray]:
    m = _module(spec.module)
    utils = _module(spec.builder_module)
    x, _ = utils.process_input_text(
        [[tokens, candidates]],
        _keras_tokenizer(m.TOKENIZER_CHAR_LOC),
        _keras_tokenizer(m.TOKENIZER_TAG_LOC),
        m.STEM_MAX_LEN,
        m.TAG_MAX_LEN,
        m.SURFACE_TOKEN_MAX_LEN,
        m.SENTENCE_MAX_LEN,
        m.NUM_MAX_ANALYSIS,
        exclude_unambigious=False,
        shuffle=False,
    )
    return [np.asarray(a, np.int32) for a in x]


def charner_inputs(spec: ModelSpec, word_punct_tokens: list[str]) -> np.ndarray:
    """VNLP's CharNER._predict_char_level input for one text of at most SEQ_LEN_MAX chars."""
    from vnlp_batch.vnlp_env import tensorflow

    m = _module(spec.module)
    chars = list(" ".join(word_punct_tokens))
    sequences = _keras_tokenizer(m.TOKENIZER_CHAR_LOC).texts_to_sequences([chars])
    padded = tensorflow().keras.preprocessing.sequence.pad_sequences(
        sequences, maxlen=m.SEQ_LEN_MAX, padding=m.PADDING_STRAT
    )
    return np.asarray(padded, np.float32)


def sentiment_inputs(spec: ModelSpec, text: str) -> np.ndarray:
    """VNLP's process_text_input: SentencePiece ids, pre-padded to TEXT_MAX_LEN, never truncated."""
    m = _module(spec.module)
    utils = _module(spec.builder_module)
    return np.asarray(utils.process_text_input(text, m.spu_tokenizer_word, m.TEXT_MAX_LEN), np.float32)


def tokenize(spec: ModelSpec, text: str) -> list[str]:
    """The tokenizer VNLP's class for `spec` applies to raw text."""
    tokenizer = vnlp_module("tokenizer")
    return (
        tokenizer.WordPunctTokenize(text) if spec.name == "charner" else tokenizer.TreebankWordTokenize(text)
    )


def sample_sentences(spec: ModelSpec, texts: Sequence[str], budget: int, seed: int = 0) -> list[Sentence]:
    """Sentences of 1..40 tokens from `texts`, in order, until `budget` tokens: real rows for
    calibration and verification.

    TreeStack models read upstream outputs; the first stemmer candidate and a seeded PoS draw give
    realistic rows without running the upstream models.
    """
    rng = np.random.default_rng(seed)
    pos_labels = _pos_vocabulary()
    chosen, total = [], 0
    for text in texts:
        tokens = tokenize(spec, text)
        if not 1 <= len(tokens) <= 40:
            continue
        sentence = Sentence(tokens=tokens, text=text)
        if spec.name.startswith("treestack"):
            sentence.analyses = [c[0] for c in stemmer_candidates(tokens)]
            sentence.pos = [str(p) for p in rng.choice(pos_labels, size=len(tokens))]
        chosen.append(sentence)
        total += len(tokens)
        if total >= budget:
            break
    return chosen


def _pos_vocabulary() -> list[str]:
    tokenizer = _module("part_of_speech_tagger.spu_context_pos").tokenizer_label
    return [tokenizer.index_word[i] for i in sorted(tokenizer.index_word)]
