"""Each deliberate deviation from VNLP 0.2.4 (README, "Deviations"), pinned."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from agreement import check_diverging
from vnlp_batch.components.base import AnnotateOptions
from vnlp_batch.config.schema import AppConfig
from vnlp_batch.featurize import treestack
from vnlp_batch.featurize.windows import WINDOW as DP_CHUNK
from vnlp_batch.inference import autoregressive
from vnlp_batch.inference.annotate import Annotator
from vnlp_batch.inference.onnx_model import LoadedModel
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.planning import Plan, upstream_first
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import vnlp_module


def test_treestack_dp_in_vnlp_0_2_4_reads_characters_we_read_tokens() -> None:
    """0.2.4's TreeStackDP.predict passes the sentence string as `whole_words_in_sentence`."""
    with open(vnlp_module("dependency_parser.treestack_dp").__file__, encoding="utf-8") as handle:
        source = handle.read()
    assert "process_single_word_input(\n                t,\n                sentence," in source  # the bug
    m = vnlp_module("dependency_parser.treestack_dp")
    utils = vnlp_module("dependency_parser._treestack_utils")
    sentence = "Bu film harikaydı, çok beğendim."
    tokens = ["Bu", "film", "harikaydı", ",", "çok", "beğendim", "."]
    analyses = [
        "bu+Det",
        "film+Noun+A3sg+Pnon+Nom",
        "harika+Adj+DB+Verb+Zero+Past+A3sg",
        ",+Punc",
        "çok+Adverb",
        "beğen+Verb+Pos+Past+A1sg",
        ".+Punc",
    ]
    pos = ["DET", "NOUN", "VERB", "PUNCT", "ADV", "VERB", "PUNCT"]

    def word_ids(words):
        return [
            int(
                utils.process_single_word_input(
                    t,
                    words,
                    analyses,
                    40,
                    15,
                    m.ARC_LABEL_VECTOR_LEN,
                    m.tokenizer_word,
                    m.tokenizer_tag,
                    m.tokenizer_label,
                    m.tokenizer_pos,
                    [0] * t,
                    [0] * t,
                    pos,
                    m.WORD_FORM,
                )[0][0, 0]
            )
            for t in range(len(tokens))
        ]

    with_string, with_tokens = word_ids(sentence), word_ids(tokens)
    assert with_string != with_tokens  # 0.2.4 feeds the characters 'B', 'u', ' ', … (or their stems)
    static = treestack.treestack_dp_static(tokens, analyses, pos)
    assert static.base.word[:, 0].tolist() == with_tokens  # vnlp-batch feeds the tokens


@pytest.mark.parametrize("seeds", [("0", "1")])
def test_morph_output_does_not_depend_on_pythonhashseed(
    seeds, tmp_path, sample_texts, exports, cache_dir
) -> None:
    """0.2.4's candidate order follows PYTHONHASHSEED; vnlp-batch's whole morph output does not."""
    data = tmp_path / "in.parquet"
    pd.DataFrame({"text": sample_texts[:40]}).to_parquet(data)
    runs = {}  # both seeds at once: each run is mostly one interpreter's start-up
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": seed, "VNLP_BATCH_CACHE": str(cache_dir)}
        runs[seed] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vnlp_batch",
                "stage=infer",
                "task=morph",
                "weights=synthetic",
                "runtime=cpu",
                f"data={data}",
                f"data.output_dir={tmp_path / f'out{seed}'}",
                f"hydra.run.dir={tmp_path}/run{seed}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    outputs = []
    for seed, run in runs.items():
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, f"PYTHONHASHSEED={seed}: {err[-2000:]}"
        table = pq.read_table(tmp_path / f"out{seed}" / "in.parquet")
        outputs.append(table.select(["morph", "lemma"]).to_pylist())
    assert outputs[0] == outputs[1]
    assert sum(len(r["morph"]) for r in outputs[0]) > 300


def test_dp_head_past_the_end_of_its_chunk_is_minus_one(loaded, sample_texts) -> None:
    """Over 40 tokens, each 40-token chunk is parsed as a sentence of its own; a head past the chunk's
    end is -1, the others are offset by the chunk start (0 stays root). Up to 40 tokens nothing changes,
    not even a head past the sentence end."""
    from vnlp.tokenizer import TreebankWordTokenize

    words = [t for text in sample_texts[:80] for t in TreebankWordTokenize(text)]
    sentences = [words[7 * k : 7 * k + n] for k, n in enumerate(range(41, 130, 8))]
    chunks = [s[start : start + DP_CHUNK] for s in sentences for start in range(0, len(s), DP_CHUNK)]
    annotator = Annotator(Plan(dep="spucontext_dp"), {"spucontext_dp": loaded["spucontext_dp"]})
    # One call: each chunk as a row of its own is the very window the long rows' chunks decode.
    rows = sentences + chunks
    result = annotator.annotate([" ".join(r) for r in rows], rows)
    heads = result.columns["dep_head"]
    alone = iter(heads[len(sentences) :])

    past_end = 0
    for row, sentence in enumerate(sentences):
        expected: list[int] = []
        for start in range(0, len(sentence), DP_CHUNK):
            size = min(DP_CHUNK, len(sentence) - start)
            chunk_heads = next(alone)
            past_end += sum(a > size for a in chunk_heads)
            expected += [-1 if a > size else a + start if a > 0 else 0 for a in chunk_heads]
        assert heads[row] == expected, row
        assert result.dp_chunked[row]
    assert past_end > 0  # the rule was exercised, and rows of <= 40 tokens kept such heads as they were
    assert not any(result.dp_chunked[len(sentences) :])


# --- dep.heads=in_sentence: every head within its sentence (off by default) ----------------------------

DP_MODELS = ["spucontext_dp", "treestack_dp"]
IN_SENTENCE = "fast vs monolithic (dep.heads=in_sentence)"


@dataclass
class HeadsRun:
    """The whole sample corpus through the Annotator with `heads="in_sentence"`: the DP model's columns
    and per-row probabilities, and each of its `decode` calls (a batch's sentences and chunks)."""

    heads: list[list[int] | None]
    rels: list[list[str] | None]
    probs: list[np.ndarray | None]
    errors: list[str | None]
    chunked: list[bool]
    calls: list[tuple[dict[str, Any], autoregressive.Decoded]] = field(default_factory=list)


def _chunks(sentence: list[str]) -> list[tuple[int, int]]:
    """(start, length) of each chunk the parser decodes alone."""
    return [(start, min(DP_CHUNK, len(sentence) - start)) for start in range(0, len(sentence), DP_CHUNK)]


@pytest.fixture(scope="module")
def in_sentence(loaded, exports, cpu_runtime, corpus) -> Callable[[str, str], HeadsRun]:
    """`(DP model, decoder) -> HeadsRun`, each made once. Upstream models decode fast in both runs, so
    the parser reads the same inputs with either decoder."""
    texts, tokens = corpus
    runs: dict[tuple[str, str], HeadsRun] = {}

    def run(name: str, decoder: str) -> HeadsRun:
        if (name, decoder) in runs:
            return runs[name, decoder]
        models = {n: loaded[n] for n in upstream_first([name])}
        if decoder == "monolithic":
            runtime = dataclasses.replace(cpu_runtime, decoder="monolithic")
            models[name] = LoadedModel.load(exports.models[name].graphs, runtime)
        assert models[name].decoder == decoder
        out = HeadsRun([], [], [], [], [])
        real = autoregressive.decode

        def spy(spec, model, sentences, **kwargs):
            decoded = real(spec, model, sentences, **kwargs)
            if spec.name == name:
                out.calls.append(({"sentences": sentences, **kwargs}, decoded))
            return decoded

        annotator = Annotator(Plan(dep=name), models, keep_probs=True, heads="in_sentence")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(autoregressive, "decode", spy)
            for start in range(0, len(texts), 64):
                result = annotator.annotate(texts[start : start + 64], tokens[start : start + 64])
                out.heads += result.columns["dep_head"]
                out.rels += result.columns["dep_rel"]
                out.probs += result.probs[name]
                out.errors += result.errors
                out.chunked += result.dp_chunked
        assert out.calls and all(kwargs["in_sentence"] for kwargs, _ in out.calls)
        runs[name, decoder] = out
        return out

    return run


def _within_sentence(spec: ModelSpec, probs: np.ndarray, n: int) -> np.ndarray:
    """`probs` with every arc past a sentence of `n` tokens at -1: the tie-aware comparison's argmax and
    top-2 margin are then those among the root and the sentence's tokens, the decoder's choices."""
    probs = probs.copy()
    for group in spec.output_groups:
        if group.token_pointer:
            probs[:, group.start + n + 1 : group.stop] = -1.0
    return probs


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["fast", "monolithic"])
@pytest.mark.parametrize("name", DP_MODELS)
def test_in_sentence_heads_stay_within_their_sentence(name, decoder, in_sentence, corpus) -> None:
    """Every head of every sentence of the sample corpus is the root or a token of its own sentence (of
    its own 40-token chunk, over 40 tokens): no head past the end, no -1."""
    run, (_, tokens) = in_sentence(name, decoder), corpus
    parsed = 0
    for row, sentence in enumerate(tokens):
        if run.heads[row] is None:
            assert run.errors[row] and name in run.errors[row]  # TreeStackDP on an empty PoS label
            continue
        assert len(run.heads[row]) == len(sentence) and run.chunked[row] == (len(sentence) > DP_CHUNK)
        for start, size in _chunks(sentence):
            for head in run.heads[row][start : start + size]:
                assert head == 0 or start < head <= start + size, (row, start, head)
        parsed += len(sentence)
    assert parsed > 5000 and any(run.chunked)
    # The mask was exercised: VNLP's argmax points past the end at many of these very steps.
    arc = MODELS[name].output_groups[0]
    past = sum(
        int((p[:, arc.start : arc.stop].argmax(axis=1) > len(s)).sum())
        for kwargs, decoded in run.calls
        for s, p in zip(kwargs["sentences"], decoded.probs, strict=True)
    )
    assert past > parsed // 10


@pytest.mark.slow
@pytest.mark.parametrize("name", DP_MODELS)
def test_in_sentence_heads_fast_equals_monolithic(name, in_sentence, corpus) -> None:
    """Both decoders choose the same in-sentence heads, up to a chunk's first near-tie (agreement.py)."""
    spec, (_, tokens) = MODELS[name], corpus
    fast, mono = in_sentence(name, "fast"), in_sentence(name, "monolithic")
    assert fast.errors == mono.errors and fast.chunked == mono.chunked
    tied: set[int] = set()
    for row, sentence in enumerate(tokens):
        if fast.probs[row] is None:
            continue
        for start, size in _chunks(sentence):
            a, b = (_within_sentence(spec, r.probs[row][start : start + size], size) for r in (mono, fast))
            where = f"sentence {row}" + (f" (chunk from token {start})" if start else "")
            if check_diverging(spec, a, b, comparison=IN_SENTENCE, where=where) is not None:
                tied.add(row)
    for row in range(len(tokens)):
        if row not in tied:
            assert (fast.heads[row], fast.rels[row]) == (mono.heads[row], mono.rels[row]), row


@pytest.mark.slow
@pytest.mark.parametrize("name", DP_MODELS)
def test_in_sentence_heads_are_vnlp_argmax_masked_to_the_sentence(name, in_sentence, loaded) -> None:
    """Teacher-forced with the in-sentence labels, the `vnlp` decoder sees the same history and the same
    probabilities at every step; where its argmax is within 0..n the in-sentence head is that argmax,
    where it is past the end the in-sentence head is the argmax over 0..n. Relations are untouched."""
    spec, model = MODELS[name], loaded[name]
    arc = spec.output_groups[0]
    inside = past = 0
    for kwargs, chosen in in_sentence(name, "fast").calls:
        sentences = kwargs["sentences"]
        vnlp = autoregressive.decode(
            spec,
            model,
            sentences,
            analyses=kwargs["analyses"],
            pos_labels=kwargs["pos_labels"],
            keep_probs=True,
            fast=model.fast(),
            forced=chosen.labels,
        )
        for s, mine, theirs, p, q in zip(
            sentences, chosen.labels, vnlp.labels, chosen.probs, vnlp.probs, strict=True
        ):
            np.testing.assert_array_equal(q, p)  # the same history: the same steps
            n = len(s)
            within = theirs[:, 0] <= n
            np.testing.assert_array_equal(mine[within, 0], theirs[within, 0])
            np.testing.assert_array_equal(
                mine[~within, 0], p[~within, arc.start : arc.start + n + 1].argmax(1)
            )
            np.testing.assert_array_equal(mine[:, 1], theirs[:, 1])
            inside, past = inside + int(within.sum()), past + int((~within).sum())
    assert inside > 0 and past > 0


def test_vnlp_heads_are_the_default() -> None:
    assert AppConfig().dep.heads == "vnlp" and AnnotateOptions().heads == "vnlp"
    assert Annotator(Plan(dep="spucontext_dp"), {}).options.heads == "vnlp"
