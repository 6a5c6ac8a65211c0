"""Fidelity against VNLP itself: VNLP 0.2.4's own `predict`, running VNLP's own Keras models.

On a fixed subset of the sample corpus (every SUBSET_STEP-th sentence plus the longest ones: at least
MIN_SENTENCES per model, sentences over 40 tokens included wherever VNLP takes them — its parsers
refuse them), VNLP's classes are built by VNLP's own `__init__` from the synthetic weight directory
(VNLP's exact file format) and run their own `predict` / `predict_proba`. Their Keras model is called
through `tf.function` (the same layers and weights, far faster than eager at batch 1) and every call's
output is kept, which gives VNLP's probabilities at every step.

Compared, tie-aware and strict (tests/agreement.py): our fast decoders teacher-forced with VNLP's labels
(step by step, ≤ 1e-4), and the pipeline's own free-running output (`ours`, tests/conftest.py) equal to
VNLP's labels up to a sentence's first tie. TreeStack models get VNLP's own upstream outputs (its
stemmer's analyses, its TreeStackPoS tags), so each model is compared on its own.

Only the documented deviations (README, "Deviations from VNLP 0.2.4") are applied to VNLP:
- candidates in first-occurrence order: VNLP's own generator runs with its module's `set` giving
  first-occurrence order, which turns its `list(set(tags))` into exactly that change;
- TreeStackDP reads tokens: its one `process_single_word_input` call gets the token list where 0.2.4
  passes the sentence string.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agreement import (
    LEDGER,
    PROB_TOLERANCE,
    TIE_BOUND,
    Tie,
    check_free_running,
    check_steps,
    top2_margin,
)
from vnlp_batch.inference import autoregressive
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.vnlp_env import tensorflow, vnlp_module

SUBSET_STEP = 5
DOCUMENT_STEP = 8  # of the document corpus's sentences (data.unit=document), with the longest one
LONGEST = 3  # the longest sentences of the corpus are always in the subset
MIN_SENTENCES = 60
COMPARISON = "ours vs VNLP predict"
DOCUMENT_COMPARISON = "data.unit=document sentences vs VNLP predict"


@dataclass
class VnlpRun:
    """One VNLP model over the subset: per corpus row, its output and its probabilities per call."""

    labels: dict[int, Any] = field(default_factory=dict)
    probs: dict[int, np.ndarray] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)  # rows VNLP raised on, with the error


class _Recorded:
    """Stands in for a VNLP class's Keras model: the same model called through tf.function, its
    outputs kept while `recording`."""

    def __init__(self, model: Any) -> None:
        tf = tensorflow()
        signature = [tf.TensorSpec((None, *i.shape[1:]), i.dtype) for i in model.inputs]
        self._call = tf.function(lambda *xs: model(list(xs), training=False), input_signature=signature)
        self._dtypes = [i.dtype.as_numpy_dtype for i in model.inputs]
        self.recording = False
        self.calls: list[np.ndarray] = []

    def __call__(self, x: Any) -> Any:
        inputs = x if isinstance(x, (list, tuple)) else [x]
        out = self._call(*[np.asarray(a, d) for a, d in zip(inputs, self._dtypes, strict=True)])
        if self.recording:
            self.calls.append(out.numpy())
        return out

    @contextlib.contextmanager
    def record(self) -> Iterator[list[np.ndarray]]:
        """Keep the outputs of the calls made inside the block, in the list yielded."""
        self.calls, self.recording = [], True
        try:
            yield self.calls
        finally:
            self.recording = False


@contextlib.contextmanager
def _vnlp_with_deviations(directory: Path) -> Iterator[None]:
    """VNLP's modules reading their weights from `directory`, with the two documented deviations."""
    with pytest.MonkeyPatch.context() as patch:
        for spec in MODELS.values():
            module = vnlp_module(spec.module)
            patch.setattr(module, "PROD_WEIGHTS_LOC", str(directory / spec.weights_file))
            if spec.embedding:
                patch.setattr(module, "WORD_EMBEDDING_MATRIX_LOC", str(directory / spec.embedding.file))
            patch.setattr(module, "check_and_download", _must_exist, raising=False)
        # `list(set(tags))` in VNLP's generator module becomes first-occurrence order; its other use
        # of `set` (building stem tag lists, only ever tested for membership) is unaffected.
        patch.setattr(
            vnlp_module("stemmer_morph_analyzer._yildiz_analyzer"), "set", dict.fromkeys, raising=False
        )
        dp_module = vnlp_module(MODELS["treestack_dp"].module)
        patch.setattr(
            dp_module, "process_single_word_input", _reads_tokens(dp_module.process_single_word_input)
        )
        yield


def _must_exist(path: str, url: str) -> None:
    assert Path(path).is_file(), f"VNLP tried to download {url} to {path}"


def _reads_tokens(process: Callable[..., Any]) -> Callable[..., Any]:
    tokenize = vnlp_module("tokenizer").TreebankWordTokenize

    @functools.wraps(process)
    def call(t: int, sentence: Any, *rest: Any) -> Any:
        return process(t, tokenize(sentence) if isinstance(sentence, str) else sentence, *rest)

    return call


@pytest.fixture(scope="session")
def subset(corpus) -> list[int]:
    _, tokens = corpus
    longest = sorted(range(len(tokens)), key=lambda row: -len(tokens[row]))[:LONGEST]
    return sorted({*range(0, len(tokens), SUBSET_STEP), *longest})


@pytest.fixture(scope="session")
def document_sentences() -> dict[tuple[int, int], str]:
    """(document row, sentence index) → the sentence, as VNLP's own `SentenceSplitter` cuts each
    paragraph (line) of the document corpus: every DOCUMENT_STEP-th sentence and the longest one."""
    from vnlp_batch.corpus.sample import read_sample_documents

    splitter = vnlp_module("sentence_splitter").SentenceSplitter()
    tokenize = vnlp_module("tokenizer").TreebankWordTokenize
    every: dict[tuple[int, int], str] = {}
    for row, document in enumerate(read_sample_documents()):
        paragraphs = [line for line in document["text"].splitlines() if line.strip()]
        sentences = [s for line in paragraphs for s in splitter.split_sentences(line) if s]
        every.update({(row, k): sentence for k, sentence in enumerate(sentences)})
    longest = max(every, key=lambda key: len(tokenize(every[key])))
    chosen = [*list(every)[::DOCUMENT_STEP], longest]
    return {key: every[key] for key in sorted(set(chosen))}


@pytest.fixture(scope="session")
def vnlp_both(synthetic_weights, corpus, subset, document_sentences) -> tuple[dict[str, VnlpRun], ...]:
    """VNLP's own classes over the sample subset and over the chosen document sentences (and the
    sentiment of each whole document): ({model: VnlpRun} by corpus row, {model: VnlpRun} by
    (document, sentence), {document: VNLP's sentiment of its whole text})."""
    from vnlp_batch.corpus.sample import read_sample_documents

    texts, tokens = corpus
    tokenize = vnlp_module("tokenizer").TreebankWordTokenize
    runs = {name: VnlpRun() for name in MODELS}
    document_runs = {name: VnlpRun() for name in MODELS}
    with _vnlp_with_deviations(synthetic_weights.directory):
        built = {
            name: getattr(vnlp_module(MODELS[name].module), MODELS[name].vnlp_class)(False)
            for name in (
                "spucontext_pos",
                "spucontext_ner",
                "spucontext_dp",
                "charner",
                "sentiment",
                "treestack_dp",
            )
        }
        # VNLP's TreeStackDP builds its StemmerAnalyzer and TreeStackPoS itself; use those.
        built["stemmer"] = built["treestack_dp"].stemmer_analyzer
        built["treestack_pos"] = built["treestack_dp"].pos_tagger.instance
        models = {name: _Recorded(instance.model) for name, instance in built.items()}
        for name, instance in built.items():
            instance.model = models[name]
        # TreeStackDP asks its stemmer and TreeStackPoS again for what they already said about the
        # sentence: VNLP's functions are pure, so the answers are remembered rather than recomputed.
        for name in ("stemmer", "treestack_pos"):
            built[name].predict = functools.cache(built[name].predict)
        upstream_first = sorted(
            built, key=lambda name: len(MODELS[name].needs)
        )  # a cached answer is not recorded
        items = [(runs, row, texts[row], len(tokens[row])) for row in subset] + [
            (document_runs, key, text, len(tokenize(text))) for key, text in document_sentences.items()
        ]
        for into, key, text, n in items:
            for name in upstream_first:
                instance = built[name]
                if name.endswith("_dp") and n > 40:
                    continue  # VNLP's parsers refuse sentences over 40 tokens
                with models[name].record() as calls:
                    try:
                        out = instance.predict_proba(text) if name == "sentiment" else instance.predict(text)
                    except IndexError as exc:  # TreeStackDP on an empty PoS label (README, "Deviations")
                        into[name].refused[key] = repr(exc)
                        continue
                into[name].labels[key] = out
                into[name].probs[key] = (
                    np.concatenate(calls) if calls else np.zeros((0, MODELS[name].output_width))
                )
        whole = {
            row: built["sentiment"].predict_proba(d["text"]) for row, d in enumerate(read_sample_documents())
        }
    return runs, document_runs, whole


@pytest.fixture(scope="session")
def vnlp(vnlp_both) -> dict[str, VnlpRun]:
    """VNLP's own classes over the subset: {model: VnlpRun}."""
    return vnlp_both[0]


def test_subset_sizes(vnlp, corpus, ours) -> None:
    _, tokens = corpus
    for name, run in vnlp.items():
        assert len(run.labels) >= MIN_SENTENCES, name
        for row in run.refused:  # only TreeStackDP refuses a row, and then so does our pipeline
            assert name == "treestack_dp" and name in ours["alternatives"][2][row], (name, row)
        if not name.endswith("_dp"):
            assert any(len(tokens[row]) > 40 for row in run.labels), name  # long sentences included


def _analyses(vnlp, row: int) -> list[str]:
    return [a.replace("^", "+") for a in vnlp["stemmer"].labels[row]]


@pytest.fixture(scope="session")
def stemmer_ties(vnlp, ours, corpus) -> dict[int, list[int]]:
    """Corpus row → tokens where VNLP's stemmer and ours chose differently at a near-tie."""
    from vnlp_batch.featurize.candidates import sentence_candidates

    _, tokens = corpus
    mine = ours["default"][1]["stemmer"]
    out = {}
    for row, theirs in vnlp["stemmer"].probs.items():
        levels = np.array([min(len(c), 10) for c in sentence_candidates(tokens[row])])
        valid = np.arange(10) < levels[:, None]
        ties = check_steps(
            MODELS["stemmer"], theirs, mine[row], comparison=COMPARISON, where=f"sentence {row}", valid=valid
        )
        if ties:
            out[row] = ties
    return out


def test_stemmer(vnlp, ours, stemmer_ties) -> None:
    analyses = ours["default"][0]["morph"]
    for row, expected in vnlp["stemmer"].labels.items():
        kept = [k for k in range(len(expected)) if k not in stemmer_ties.get(row, [])]
        assert [analyses[row][k] for k in kept] == [expected[k] for k in kept], row


AUTOREGRESSIVE = {  # model -> (plan of `ours`, column)
    "spucontext_pos": ("default", "pos"),
    "spucontext_ner": ("default", "ner"),
    "treestack_pos": ("alternatives", "pos"),
    "spucontext_dp": ("default", "dep"),
    "treestack_dp": ("alternatives", "dep"),
}


def _vnlp_labels(name: str, output: list) -> np.ndarray:
    """VNLP's `predict` output as label ids per step, (n, groups)."""
    spec = MODELS[name]
    if name.endswith("_dp"):  # (index, token, arc, relation)
        relations = _labels(spec, "rel")
        return np.array([[arc, relations.index(rel)] for _, _, arc, rel in output], np.int64).reshape(-1, 2)
    vocabulary = _labels(spec, spec.output_groups[0].name)
    return np.array([[vocabulary.index(label)] for _, label in output], np.int64).reshape(-1, 1)


def _labels(spec, group: str) -> list[str]:
    from vnlp_batch.models.labels import group_labels

    return group_labels(spec)[group]


@pytest.mark.parametrize("name", list(AUTOREGRESSIVE))
def test_autoregressive(name, vnlp, ours, loaded, corpus, stemmer_ties) -> None:
    """Teacher-forced on VNLP's labels, every step of our fast decoder is VNLP's; free-running, the
    pipeline's labels are VNLP's up to a sentence's first tie."""
    spec, run = MODELS[name], vnlp[name]
    _, tokens = corpus
    rows = sorted(run.labels)
    forced = [_vnlp_labels(name, run.labels[row]) for row in rows]
    analyses = [_analyses(vnlp, row) for row in rows] if spec.needs else None
    pos = (
        [[p for _, p in vnlp["treestack_pos"].labels[row]] for row in rows]
        if name == "treestack_dp"
        else None
    )
    model = loaded[name]
    decoded = autoregressive.decode(
        spec,
        model,
        [tokens[row] for row in rows],
        analyses=analyses,
        pos_labels=pos,
        keep_probs=True,
        fast=model.fast(),
        forced=forced,
    )
    plan, column = AUTOREGRESSIVE[name]
    columns = ours[plan][0]
    for i, row in enumerate(rows):
        ties = check_steps(
            spec, run.probs[row], decoded.probs[i], comparison=COMPARISON, where=f"sentence {row}"
        )
        if spec.needs and row in stemmer_ties:
            continue  # our pipeline read other analyses at the stemmer's tie; compared above on VNLP's
        if column == "dep":  # sentences of at most 40 tokens: a head is VNLP's arc itself
            mine = list(zip(columns["dep_head"][row], columns["dep_rel"][row], strict=True))
            expected = [(arc, rel) for _, _, arc, rel in run.labels[row]]
        else:
            mine, expected = columns[column][row], [label for _, label in run.labels[row]]
        check_free_running(mine, expected, ties, what=f"{name} sentence {row}")


def test_charner(vnlp, ours) -> None:
    spec, run = MODELS["charner"], vnlp["charner"]
    columns, probs, _ = ours["alternatives"]
    for row, expected in run.labels.items():
        theirs = run.probs[row]
        mine = probs["charner"][row]
        ties = check_steps(spec, theirs, mine, comparison=COMPARISON, where=f"text {row}")
        assert columns["ner_tokens"][row] == [t for t, _ in expected]
        if not ties:
            assert columns["ner"][row] == [label for _, label in expected], row


def test_sentiment(vnlp, ours) -> None:
    spec, run = MODELS["sentiment"], vnlp["sentiment"]
    values = ours["default"][0]["sentiment"]
    rows = sorted(run.labels)
    theirs = np.array([run.labels[row] for row in rows], np.float32)[:, None]
    mine = np.array([values[row] for row in rows], np.float32)[:, None]
    check_steps(spec, theirs, mine, comparison=COMPARISON, where="the subset's texts")


@pytest.fixture(scope="session")
def documents_annotated(stage_runner, tmp_path_factory) -> list[dict[str, Any]]:
    """The document corpus through the command's stage: task=all, data.unit=document."""
    from vnlp_batch.corpus.sample import SAMPLE_DOCUMENTS_JSONL

    root = tmp_path_factory.mktemp("fidelity_documents")
    run = stage_runner(SAMPLE_DOCUMENTS_JSONL, root / "out", root / "run", "all", id_column="id")
    return run.output(SAMPLE_DOCUMENTS_JSONL).to_pylist()


DOCUMENT_COLUMNS = {  # model of task=all → its columns
    "stemmer": ("morph",),
    "spucontext_pos": ("pos",),
    "spucontext_ner": ("ner",),
    "spucontext_dp": ("dep_head", "dep_rel"),
}


def test_document_unit_sentences_are_vnlp_predict_on_each_sentence(
    vnlp_both, documents_annotated, document_sentences
) -> None:
    """data.unit=document: each sentence VNLP's splitter cuts is annotated as VNLP's `predict` annotates
    that sentence alone (the stemmer's labels at every token but VNLP's near-ties, the decoders' up to
    a sentence's first near-tie in VNLP's probabilities; sentiment within PROB_TOLERANCE); the row's own
    sentiment is VNLP's on the whole document."""
    from vnlp_batch.featurize.candidates import sentence_candidates

    _, runs, whole = vnlp_both
    tokenize = vnlp_module("tokenizer").TreebankWordTokenize
    compared = 0
    for (row, k), text in document_sentences.items():
        annotated = documents_annotated[row]
        mine = [i for i, s in enumerate(annotated["sentence"]) if s == k]
        tokens = [annotated["tokens"][i] for i in mine]
        assert tokens == tokenize(text), (row, k)  # the same sentence as VNLP's splitter's
        for name, columns in DOCUMENT_COLUMNS.items():
            spec, run = MODELS[name], runs[name]
            if (row, k) not in run.labels:
                assert name.endswith("_dp") and len(tokens) > 40  # VNLP's parsers refuse those
                continue
            probs = run.probs[(row, k)]
            values = [[annotated[c][i] for i in mine] for c in columns]
            ours = list(zip(*values, strict=True)) if len(columns) > 1 else values[0]
            what = f"{name} document {row} sentence {k}"
            if name == "stemmer":
                # One decision per token, and none reads another's: a near-tie excuses its own step
                # only, and every other step is compared.
                levels = np.array([min(len(c), 10) for c in sentence_candidates(tokens)])
                valid = np.arange(10) < levels[:, None]
                margins = [top2_margin(probs[s], valid[s]) for s in range(len(probs))]
                expected: list = list(run.labels[(row, k)])
                assert len(ours) == len(expected), what
                differ = [s for s in range(len(expected)) if ours[s] != expected[s]]
                for s in differ:
                    assert margins[s] < TIE_BOUND, (
                        f"{what}, step {s}: {ours[s]!r}, VNLP {expected[s]!r}, VNLP's margin {margins[s]:.3g}"
                    )
                taken = differ
            else:
                # Decoded free-running by the stage: after a near-tie the two histories may differ, so
                # labels are compared up to the first one (the teacher-forced comparisons go on).
                margins = [
                    min(top2_margin(probs[s, g.start : g.stop]) for g in spec.output_groups)
                    for s in range(len(probs))
                ]
                labels = run.labels[(row, k)]
                expected = (
                    [(arc, rel) for _, _, arc, rel in labels]
                    if name.endswith("_dp")
                    else [x for _, x in labels]
                )
                ties = [s for s, margin in enumerate(margins) if margin < TIE_BOUND]
                check_free_running(ours, expected, ties, what=what)
                differ = [s for s in range(len(expected)) if ours[s] != expected[s]]
                taken = ties[:1] if differ else []
            # Counted in the session's summary, with each near-tie where our labels and VNLP's part.
            LEDGER.steps[(name, DOCUMENT_COMPARISON)] += len(expected)
            for s in taken:
                first = min(d for d in differ if d >= s)
                tie = Tie(
                    f"document {row} sentence {k}, step {s}",
                    "/".join(columns),
                    margins[s],
                    expected[first],
                    ours[first],
                )
                LEDGER.ties[(name, DOCUMENT_COMPARISON)].append(tie)
            compared += 1
        theirs = float(np.asarray(runs["sentiment"].labels[(row, k)]).reshape(-1)[0])
        assert abs(annotated["sentence_sentiment"][k] - theirs) <= PROB_TOLERANCE, (row, k)
    assert compared >= 4 * len(document_sentences) - 2  # every model on every chosen sentence
    for row, annotated in enumerate(documents_annotated):
        theirs = float(np.asarray(whole[row]).reshape(-1)[0])
        assert abs(annotated["sentiment"] - theirs) <= PROB_TOLERANCE, row
