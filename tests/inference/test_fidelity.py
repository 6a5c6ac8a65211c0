"""Fidelity over the whole sample corpus: vnlp-batch gives VNLP 0.2.4's labels, step by step.

The reference is VNLP's code: its classes' `predict` (stemmer, CharNER, sentiment) with the model call
routed to an exported graph, and for the autoregressive models VNLP's own input functions
(`process_single_word_input` …) in VNLP's greedy loop, batched across sentences
(`models/vnlp_rows.py`), calling the exported monolithic graph — VNLP's whole Keras model,
verified against it at export; `test_reference_rows_match_keras` re-runs a sample of the reference's
own rows through Keras. This file is the breadth check; tests/inference/test_fidelity_vnlp.py runs
VNLP's own `predict` on VNLP's own Keras models over a fixed subset.

Compared, tie-aware and strict (tests/agreement.py): every step's full probability vector (≤ 1e-4) and
decision of
- the fast decoders and the monolithic decoder (`runtime.decoder=fast|monolithic`) teacher-forced with
  the reference's labels, so each step sees the reference's history, against the reference and
  against each other: fast == monolithic on the whole corpus, for every autoregressive model;
- the pipeline's own free-running output (`ours`, tests/conftest.py, fast decoders): the reference's
  labels up to a sentence's first tie.

Deliberate deviations (README, "Deviations from VNLP 0.2.4") are applied to the reference as VNLP with
the same change: deterministic stemmer candidate order, TreeStackDP reading tokens; DP on sentences
over 40 tokens (VNLP raises) is compared chunk by chunk.
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agreement import check_free_running, check_steps
from vnlp_batch.config.schema import RuntimeConfig
from vnlp_batch.featurize.candidates import deterministic_generator
from vnlp_batch.featurize.windows import WINDOW as DP_CHUNK
from vnlp_batch.inference import autoregressive
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models import vnlp_rows as ref
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.vnlp_env import tensorflow, vnlp_module

TOLERANCE = 1e-4
KEPT_ROWS = 8  # input batches kept per model for the Keras cross-check (all of them would be GBs)
AUTOREGRESSIVE = [name for name, spec in MODELS.items() if spec.decoding == "autoregressive"]


class _Recorder(list):
    """Keeps every 7th (inputs, probs) pair, at most KEPT_ROWS, and counts them all."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def keep(self, inputs, probs) -> None:
        if self.calls % 7 == 0 and len(self) < KEPT_ROWS:
            self.append(([np.asarray(a)[:16].copy() for a in inputs], np.asarray(probs)[:16].copy()))
        self.calls += 1


class _Wrapped:
    """Stands in for a VNLP class's Keras model: same call, graph behind it, some rows recorded."""

    def __init__(self, run, recorded: _Recorder, probs_out: list | None = None) -> None:
        self.run, self.recorded, self.probs_out = run, recorded, probs_out

    def __call__(self, x):
        inputs = [np.asarray(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
        probs = np.asarray(self.run(inputs), np.float32)
        self.recorded.keep(inputs, probs)
        if self.probs_out is not None:
            self.probs_out.append(probs)
        return tensorflow().constant(probs)


@pytest.fixture(scope="session")
def reference(exports, corpus, cpu_runtime):
    """Per model: VNLP's labels and probabilities for every sentence it can handle, the sentences the
    autoregressive models read (with upstream inputs), and sample rows.

    Models that do not read each other's output are decoded two at a time, each calling one-thread
    sessions of the exported graphs: onnxruntime releases the GIL, and two one-thread sessions side by
    side get through the monolithic graphs about 1.25x faster than one two-thread session after the
    other, with the same outputs. The stemmer and the TreeStack models that read it are one chain.
    """
    texts, tokens = corpus
    one_thread = dataclasses.replace(cpu_runtime, intra_op_threads=1, lanes=1)
    models = {
        # The stemmer's reference calls its fast graphs (see _stemmer_chain); the others, their
        # monolithic graph only.
        name: LoadedModel.load(m.graphs, one_thread if name == "stemmer" else _monolithic(one_thread))
        for name, m in exports.models.items()
    }
    tasks = [  # longest first (about 110, 70, 70, 15, 5, 2 s on one thread)
        _stemmer_chain,
        _spucontext_dp,
        functools.partial(_spucontext_tagger, "spucontext_ner"),
        functools.partial(_spucontext_tagger, "spucontext_pos"),
        _charner,
        _sentiment,
    ]
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(task, models, texts, tokens) for task in tasks]
        return {name: result for task in done for name, result in task.result().items()}


def _monolithic(runtime: RuntimeConfig) -> RuntimeConfig:
    return dataclasses.replace(runtime, decoder="monolithic")


def _autoregressive(
    name: str, sentences: list[ref.Sentence], model_call: ref.Predict, owners: list[tuple[int, int]]
) -> dict:
    """VNLP's greedy loop over `sentences`; `owners[i]` = (corpus row, first token) of sentence i."""
    spec = MODELS[name]
    recorded = _Recorder()

    def predict(batch):
        p = model_call(batch)
        recorded.keep(batch, p)
        return p

    decoded = ref.decode_autoregressive(spec, predict, sentences)
    return {"decoded": decoded, "rows": recorded, "sentences": sentences, "owners": owners}


def _stemmer_chain(models: dict[str, LoadedModel], texts: list[str], tokens: list[list[str]]) -> dict:
    """The stemmer, then TreeStackPoS on its analyses, then TreeStackDP on both."""
    out: dict[str, dict] = {}
    # Stemmer: VNLP's StemmerAnalyzer.predict, candidates in the deterministic order.
    stemmer_class = vnlp_module("stemmer_morph_analyzer.stemmer_morph_analyzer").StemmerAnalyzer
    stemmer = stemmer_class.__new__(stemmer_class)
    module = vnlp_module(MODELS["stemmer"].module)
    stemmer.tokenizer_char = ref.keras_tokenizer(module.TOKENIZER_CHAR_LOC)
    stemmer.tokenizer_tag = ref.keras_tokenizer(module.TOKENIZER_TAG_LOC)
    stemmer.candidate_generator = deterministic_generator()
    rows, calls = _Recorder(), []
    # The monolithic stemmer runs ~75 tokens/s (80 context words × 15 characters re-encoded per
    # token): over the whole corpus that is minutes, so here VNLP's rows go through the fast graphs
    # composed (verified against Keras at export). test_fidelity_vnlp.py runs VNLP's own Keras stemmer.
    stemmer.model = _Wrapped(models["stemmer"].fast().probs_from_rows, rows, calls)
    analyses, probs = [], []
    for text in texts:
        start = len(calls)
        analyses.append(stemmer.predict(text))
        probs.append(np.concatenate(calls[start:]) if len(calls) > start else np.zeros((0, 10)))
    out["stemmer"] = {"labels": analyses, "probs": probs, "rows": rows}

    plus = [[a.replace("^", "+") for a in sentence] for sentence in analyses]
    tagged = [ref.Sentence(list(t), analyses=a) for t, a in zip(tokens, plus, strict=True)]
    owners = [(row, 0) for row in range(len(tokens))]
    out["treestack_pos"] = _autoregressive("treestack_pos", tagged, models["treestack_pos"], owners)
    vocabulary = models["treestack_pos"].metadata.labels("pos")
    pos = [[vocabulary[g[0]] for g in d.labels] for d in out["treestack_pos"]["decoded"]]
    parse, owners = [], []
    for row, (t, a, p) in enumerate(zip(tokens, plus, pos, strict=True)):
        if "" in p:
            continue  # VNLP's TreeStackDP raises on an empty PoS label (see test_treestack_dp_…)
        for start in range(0, len(t), DP_CHUNK):
            stop = start + DP_CHUNK
            parse.append(ref.Sentence(list(t[start:stop]), analyses=a[start:stop], pos=p[start:stop]))
            owners.append((row, start))
    out["treestack_dp"] = _autoregressive("treestack_dp", parse, models["treestack_dp"], owners)
    return out


def _spucontext_tagger(
    name: str, models: dict[str, LoadedModel], texts: list[str], tokens: list[list[str]]
) -> dict:
    sentences = [ref.Sentence(list(t)) for t in tokens]
    owners = [(row, 0) for row in range(len(tokens))]
    return {name: _autoregressive(name, sentences, models[name], owners)}


def _spucontext_dp(models: dict[str, LoadedModel], texts: list[str], tokens: list[list[str]]) -> dict:
    # VNLP parses sentences of up to 40 tokens; vnlp-batch parses longer ones in chunks of 40, each
    # exactly as VNLP parses a sentence of its own.
    chunks, owners = [], []
    for row, t in enumerate(tokens):
        for start in range(0, len(t), DP_CHUNK):
            chunks.append(ref.Sentence(list(t[start : start + DP_CHUNK])))
            owners.append((row, start))
    return {"spucontext_dp": _autoregressive("spucontext_dp", chunks, models["spucontext_dp"], owners)}


def _charner(models: dict[str, LoadedModel], texts: list[str], tokens: list[list[str]]) -> dict:
    # VNLP's own predict, model call routed to the graph.
    charner_class = vnlp_module("named_entity_recognizer.charner").CharNER
    charner = charner_class.__new__(charner_class)
    module = vnlp_module(MODELS["charner"].module)
    charner.tokenizer_char = ref.keras_tokenizer(module.TOKENIZER_CHAR_LOC)
    charner.tokenizer_label = ref.keras_tokenizer(module.TOKENIZER_LABEL_LOC)
    rows, calls = _Recorder(), []
    charner.model = _Wrapped(models["charner"], rows, calls)
    labels, probs = [], []
    for text in texts:  # VNLP splits a text over 256 characters into leaves, one call each
        start = len(calls)
        labels.append(charner.predict(text))
        probs.append(np.concatenate(calls[start:]))
    return {"charner": {"labels": labels, "rows": rows, "probs": probs}}


def _sentiment(models: dict[str, LoadedModel], texts: list[str], tokens: list[list[str]]) -> dict:
    # VNLP's own predict_proba, model call routed to the graph.
    sentiment_class = vnlp_module("sentiment_analyzer.spu_context_bigru_sentiment").SPUCBiGRUSentimentAnalyzer
    sentiment = sentiment_class.__new__(sentiment_class)
    sentiment.spu_tokenizer_word = vnlp_module(MODELS["sentiment"].module).spu_tokenizer_word
    rows = _Recorder()
    sentiment.model = _Wrapped(models["sentiment"], rows)
    return {"sentiment": {"probs": [float(sentiment.predict_proba(text)) for text in texts], "rows": rows}}


@pytest.fixture(scope="session")
def forced(reference, exports, cpu_runtime):
    """{(model, decoder): Decoded} — our decoders over the reference's sentences of every
    autoregressive model, teacher-forced with the reference's labels (two lanes, as the product runs)."""
    out = {}
    for name in AUTOREGRESSIVE:
        spec = MODELS[name]
        sentences = reference[name]["sentences"]
        labels = [
            np.array(d.labels, np.int64).reshape(-1, len(spec.output_groups))
            for d in reference[name]["decoded"]
        ]
        analyses = [s.analyses for s in sentences] if sentences and sentences[0].analyses else None
        pos = [s.pos for s in sentences] if sentences and sentences[0].pos else None
        for decoder in ("fast", "monolithic"):
            model = LoadedModel.load(
                exports.models[name].graphs, dataclasses.replace(cpu_runtime, decoder=decoder)
            )
            assert model.decoder == decoder
            out[name, decoder] = autoregressive.decode(
                spec,
                model,
                [s.tokens for s in sentences],
                analyses=analyses,
                pos_labels=pos,
                keep_probs=True,
                fast=model.fast(),
                forced=labels,
            )
    return out


def _candidate_slots(tokens: list[str]) -> np.ndarray:
    """(tokens, 10): the stemmer slots that hold a candidate (VNLP masks the others out)."""
    from vnlp_batch.featurize.candidates import sentence_candidates

    levels = np.array([min(len(c), 10) for c in sentence_candidates(tokens)])
    return np.arange(10) < levels[:, None] if len(tokens) else np.zeros((0, 10), bool)


@pytest.fixture(scope="session")
def stemmer_ties(reference, ours, corpus) -> dict[int, list[int]]:
    """Corpus row → the tokens where our stemmer and VNLP's chose differently at a near-tie."""
    spec, (_, tokens) = MODELS["stemmer"], corpus
    mine = ours["default"][1]["stemmer"]
    out = {}
    for row, sentence in enumerate(tokens):
        ties = check_steps(
            spec,
            reference["stemmer"]["probs"][row],
            mine[row],
            comparison="ours vs reference",
            where=f"sentence {row}",
            valid=_candidate_slots(sentence),
        )
        if ties:
            out[row] = ties
    return out


def test_stemmer(ours, reference, stemmer_ties) -> None:
    """Every token's candidate probabilities within 1e-4, and VNLP's analysis but at a near-tie."""
    analyses = ours["default"][0]["morph"]
    for row, expected in enumerate(reference["stemmer"]["labels"]):
        ties = stemmer_ties.get(row, [])
        assert [a for k, a in enumerate(analyses[row]) if k not in ties] == [
            a for k, a in enumerate(expected) if k not in ties
        ], row


def _where(reference, name: str, i: int) -> str:
    row, start = reference[name]["owners"][i]
    return f"sentence {row}" + (f" (chunk from token {start})" if start else "")


@pytest.mark.parametrize("decoder", ["fast", "monolithic"])
@pytest.mark.parametrize("name", AUTOREGRESSIVE)
def test_teacher_forced_steps_match_the_reference(name, decoder, reference, forced) -> None:
    """Every step of our decoder, on the reference's history, gives VNLP's algorithm's output."""
    spec, mine = MODELS[name], forced[name, decoder]
    for i, decoded in enumerate(reference[name]["decoded"]):
        check_steps(
            spec,
            decoded.probs,
            mine.probs[i],
            comparison=f"{decoder} vs reference",
            where=_where(reference, name, i),
        )


@pytest.mark.parametrize("name", AUTOREGRESSIVE)
def test_fast_equals_monolithic_on_the_whole_corpus(name, reference, forced) -> None:
    spec, fast, mono = MODELS[name], forced[name, "fast"], forced[name, "monolithic"]
    for i in range(len(reference[name]["sentences"])):
        check_steps(
            spec,
            mono.probs[i],
            fast.probs[i],
            comparison="fast vs monolithic",
            where=_where(reference, name, i),
        )


def _fast_ties(name: str, reference, forced, i: int) -> list[int]:
    """Steps where the fast decoder and the reference chose differently at a near-tie (already
    counted by test_teacher_forced_steps_match_the_reference)."""
    spec = MODELS[name]
    theirs, mine = reference[name]["decoded"][i].probs, forced[name, "fast"].probs[i]
    return check_steps(spec, theirs, mine, comparison="", where=_where(reference, name, i), record=False)


@pytest.mark.parametrize(
    ("name", "plan", "column"),
    [
        ("spucontext_pos", "default", "pos"),
        ("spucontext_ner", "default", "ner"),
        ("treestack_pos", "alternatives", "pos"),
    ],
)
def test_free_running_taggers(name, plan, column, ours, reference, forced, loaded, stemmer_ties) -> None:
    """The pipeline's own output (free-running, fast) is the reference's up to a sentence's first tie."""
    vocabulary = loaded[name].metadata.labels(MODELS[name].output_groups[0].name)
    labels = ours[plan][0][column]
    for i, decoded in enumerate(reference[name]["decoded"]):
        if MODELS[name].needs and i in stemmer_ties:
            continue  # its input analyses differ at a stemmer tie; the teacher-forced test covers it
        expected = [vocabulary[g[0]] for g in decoded.labels]
        check_free_running(
            labels[i], expected, _fast_ties(name, reference, forced, i), what=f"{name} sentence {i}"
        )


def _head(arc: int, start: int, length: int, chunked: bool) -> int:
    """The row-level head of an arc of a chunk of `length` tokens (README, "Deviations"): 0 stays root,
    k > 0 is the chunk's k-th token, and in a chunked row an arc past the chunk's end is -1."""
    if chunked and arc > length:
        return -1
    return arc + start if arc > 0 else 0


@pytest.mark.parametrize(("name", "plan"), [("spucontext_dp", "default"), ("treestack_dp", "alternatives")])
def test_free_running_parsers(name, plan, ours, reference, forced, loaded, corpus, stemmer_ties) -> None:
    columns, _, errors = ours[plan]
    chunked = ours[plan + "_chunked"]
    relations = loaded[name].metadata.labels("rel")
    parsed = set()
    for i, decoded in enumerate(reference[name]["decoded"]):
        row, start = reference[name]["owners"][i]
        parsed.add(row)
        if MODELS[name].needs and row in stemmer_ties:
            continue  # its inputs differ at a stemmer tie; the teacher-forced test covers it
        n = len(decoded.labels)
        long_row = len(corpus[1][row]) > DP_CHUNK
        expected = [(_head(a, start, n, long_row), relations[r]) for a, r in decoded.labels]
        mine = list(
            zip(
                columns["dep_head"][row][start : start + n],
                columns["dep_rel"][row][start : start + n],
                strict=True,
            )
        )
        check_free_running(
            mine,
            expected,
            _fast_ties(name, reference, forced, i),
            what=f"{name} {_where(reference, name, i)}",
        )
    _, tokens = corpus
    for row in set(range(len(tokens))) - parsed:
        assert errors[row] and name in errors[row]  # VNLP's TreeStackDP cannot parse it either
    long_rows = [row for row, t in enumerate(tokens) if len(t) > DP_CHUNK]
    assert long_rows  # the chunked path was exercised …
    assert all(chunked[row] for row in long_rows)  # … and such rows are marked
    assert not any(chunked[row] for row, t in enumerate(tokens) if len(t) <= DP_CHUNK)


def test_charner(ours, reference) -> None:
    spec = MODELS["charner"]
    columns, probs, _ = ours["alternatives"]
    for row, (expected, theirs) in enumerate(
        zip(reference["charner"]["labels"], reference["charner"]["probs"], strict=True)
    ):
        ties = check_steps(
            spec, theirs, probs["charner"][row], comparison="ours vs reference", where=f"text {row}"
        )
        assert columns["ner_tokens"][row] == [t for t, _ in expected]
        if not ties:  # a tied character can change its token's entity
            assert columns["ner"][row] == [e for _, e in expected], row
    assert any(len(p) > 1 for p in probs["charner"])  # texts over 256 characters were split


def test_sentiment(ours, reference) -> None:
    spec = MODELS["sentiment"]
    mine = np.array(ours["default"][0]["sentiment"], np.float32)[:, None]
    theirs = np.array(reference["sentiment"]["probs"], np.float32)[:, None]
    check_steps(spec, theirs, mine, comparison="ours vs reference", where="the sample's texts")


@pytest.mark.parametrize("name", list(MODELS))
def test_reference_rows_match_keras(name, reference, synthetic_weights, keras_model) -> None:
    """A sample of the reference's own input rows, through VNLP's Keras model: same probabilities."""
    from vnlp_batch.models.keras_build import load_weights

    spec = MODELS[name]
    model = keras_model(name)
    load_weights(spec, model, synthetic_weights.directory)
    recorded = reference[name]["rows"]
    assert len(recorded) >= 2
    for inputs, probs in recorded:
        keras = model.predict_on_batch(
            [x.astype(i.dtype.as_numpy_dtype) for x, i in zip(inputs, model.inputs, strict=True)]
        )
        assert float(np.abs(keras - probs).max()) <= TOLERANCE
