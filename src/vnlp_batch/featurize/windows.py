"""VNLP's 40-token windows: the one window length, and every token's left and right window at once.

Every VNLP 0.2.4 model that reads context does so through windows of `WINDOW` tokens (its modules'
`SENTENCE_MAX_LEN`): the 40 tokens before a token, pre-padded with zero rows, and the 40 after it,
post-padded; the history windows of the autoregressive models hold the last 40 predictions; the
dependency parsers read sentences of at most 40 tokens (longer ones are parsed in chunks of 40).
tests/featurize/test_windows.py checks the value against VNLP's own constants.
"""

from __future__ import annotations

import numpy as np

WINDOW = 40


def pad_context(rows: np.ndarray, width: int = WINDOW) -> np.ndarray:
    """`rows` with `width` zero rows before and after: shape (n + 2·width, …).

    Then the left window of token t (the `width` rows before it, pre-padded) is `padded[t : t+width]`
    and its right window (the `width` rows after it, post-padded) is `padded[t+width+1 : t+2·width+1]`.
    """
    padded = np.zeros((rows.shape[0] + 2 * width, *rows.shape[1:]), rows.dtype)
    padded[width : width + rows.shape[0]] = rows
    return padded


def context_windows_all(rows: np.ndarray, width: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Left and right windows of every token at once: two arrays of shape (n, width, …)."""
    padded = pad_context(rows, width)
    starts = np.arange(rows.shape[0])[:, None] + np.arange(width)[None, :]
    return padded[starts], padded[starts + width + 1]
