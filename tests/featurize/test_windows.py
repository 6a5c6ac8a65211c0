"""The 40-token window, declared once (featurize/windows.py), is VNLP's own in every model that reads
windows; and the windows are VNLP's pre-/post-padded slices."""

from __future__ import annotations

import numpy as np

from vnlp_batch.featurize.windows import WINDOW, context_windows_all, pad_context
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.vnlp_env import vnlp_module


def test_window_is_vnlps_sentence_max_len() -> None:
    modules = {spec.module for spec in MODELS.values() if "SENTENCE_MAX_LEN" in spec.builder_args}
    assert len(modules) == 6  # the stemmer, the three SPUContext and the two TreeStack models
    for module in modules:
        assert vnlp_module(module).SENTENCE_MAX_LEN == WINDOW, module
    # The DP models' arc output: root, then one per token of a sentence of at most WINDOW tokens.
    dp = vnlp_module("dependency_parser.spu_context_dp")
    assert dp.ARC_LABEL_VECTOR_LEN - len(dp.tokenizer_label.word_index) - 1 == WINDOW + 1


def test_windows_are_padded_slices() -> None:
    rows = np.arange(1, 6 * 2 + 1).reshape(6, 2)
    left, right = context_windows_all(rows, width=4)
    assert left.shape == right.shape == (6, 4, 2)
    np.testing.assert_array_equal(left[1], [[0, 0], [0, 0], [0, 0], rows[0]])  # pre-padded
    np.testing.assert_array_equal(right[3], [rows[4], rows[5], [0, 0], [0, 0]])  # post-padded
    assert pad_context(rows).shape == (6 + 2 * WINDOW, 2)
