"""Each deliberate deviation from VNLP 0.2.4 (README, "Deviations"), pinned."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from vnlp_batch.featurize import treestack
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
    outputs = []
    for seed in seeds:
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "VNLP_BATCH_CACHE": str(cache_dir)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "vnlp_batch",
                "stage=infer",
                "task=morph",
                "weights=synthetic",
                "runtime=cpu",
                f"data={data}",
                f"data.output_dir={out}",
                f"hydra.run.dir={tmp_path}/run{seed}",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(pq.read_table(out / "in.parquet").select(["morph", "lemma"]).to_pylist())
    assert outputs[0] == outputs[1]
    assert sum(len(r["morph"]) for r in outputs[0]) > 300


def test_vnlp_candidate_order_really_depends_on_the_seed(tmp_path, sample_texts) -> None:
    """The deviation is needed: VNLP's own generator orders candidates differently under other seeds."""
    script = (
        "import json,sys\n"
        "from vnlp.stemmer_morph_analyzer._yildiz_analyzer import TurkishStemSuffixCandidateGenerator as G\n"
        "from vnlp.tokenizer import TreebankWordTokenize as T\n"
        "g = G(case_sensitive=True)\n"
        "texts = json.load(open(sys.argv[1]))\n"
        "print(json.dumps([[a[2] for a in g.get_analysis_candidates(w)] for t in texts for w in T(t)]))\n"
    )
    import json

    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(sample_texts[:60]))
    runs = []
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TF_USE_LEGACY_KERAS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", script, str(texts)], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[0] != runs[1]
    assert np.mean([a == b for a, b in zip(*runs, strict=True)]) < 1.0


def test_dp_head_past_the_end_of_its_chunk_is_minus_one(loaded, sample_texts) -> None:
    """Over 40 tokens, each 40-token chunk is parsed as a sentence of its own; a head past the chunk's
    end is -1, the others are offset by the chunk start (0 stays root). Up to 40 tokens nothing changes,
    not even a head past the sentence end."""
    from vnlp.tokenizer import TreebankWordTokenize

    from vnlp_batch.featurize.windows import WINDOW as DP_CHUNK
    from vnlp_batch.inference.annotate import Annotator
    from vnlp_batch.models.planning import Plan

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
