"""PaddedStack: running only a window's real rows from cached padding states equals the full window.

A small numpy GRU stack stands in for an exported graph (same inputs and outputs as the graphs of
models/decompose.py); the exported graphs themselves are checked against Keras at export and against
VNLP's algorithm in test_fidelity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from vnlp_batch.components.spucontext.graphs import PADDING
from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.padded import PaddedStack, groups, real_rows

WIDTH, UNITS = 6, 5


def _gru(x: np.ndarray, h: np.ndarray, w: tuple[np.ndarray, np.ndarray], backward: bool) -> np.ndarray:
    """States after each step, in reading order: (rows, steps, units)."""
    kernel, recurrent = w
    steps = x[:, ::-1] if backward else x
    out = []
    for t in range(steps.shape[1]):
        zr = 1 / (1 + np.exp(-(steps[:, t] @ kernel[:, : 2 * UNITS] + h @ recurrent[:, : 2 * UNITS])))
        z, r = zr[:, :UNITS], zr[:, UNITS:]
        n = np.tanh(steps[:, t] @ kernel[:, 2 * UNITS :] + r * (h @ recurrent[:, 2 * UNITS :]))
        h = (1 - z) * n + z * h
        out.append(h)
    return np.stack(out, axis=1)


class FakeEncoder:
    """An encoder whose output for the zero row is `pad` (the window's padding row)."""

    def __init__(self, pad: np.ndarray) -> None:
        self.pad = pad
        self.input_shapes = [["n", 3]]

    def run_all(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        assert not inputs[0].any()
        return [self.pad[None]]


class FakeStack:
    """Two GRU layers over a window, graphs as models/decompose.py cuts them. Forward: both layers
    from inputs h1, h2. Backward: layer 1 from h1, layer 2 from zero over layer 1's outputs on the
    given rows; the tail graph continues layer 2 over one-hot rows selecting layer 1's output after
    k = 1…40 padding rows (projected through layer 2's kernel, as the exported tail holds them)."""

    def __init__(self, backward: bool, pad: np.ndarray, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.backward = backward
        self.pad = pad
        self.layers = [
            (rng.normal(0, 0.5, (i, 3 * UNITS)), rng.normal(0, 0.5, (UNITS, 3 * UNITS)))
            for i in (WIDTH, UNITS)
        ]
        side = "right" if backward else "left"
        self.role = f"{side}_context"
        self.input_names = [f"{side}_encodings", "h1"] if backward else [f"{side}_encodings", "h1", "h2"]
        self.input_shapes = [["n", "L", WIDTH], ["n", UNITS], ["n", UNITS]][: len(self.input_names)]

    def run_all(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        x = inputs[0]
        first = _gru(x, inputs[1], self.layers[0], self.backward)
        if self.backward:
            second = _gru(first, np.zeros((len(x), UNITS)), self.layers[1], True)
            return [second[:, -1], first[:, -1]]
        second = _gru(first, inputs[2], self.layers[1], False)
        return [second[:, -1], first[:, -1], second[:, -1]]

    def tail(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        state, pads = inputs
        pad_window = np.broadcast_to(self.pad, (1, WINDOW, WIDTH))
        after_k = _gru(pad_window, np.zeros((1, UNITS)), self.layers[0], True)[0]  # k = 1…40
        kernel, recurrent = self.layers[1]
        return [_gru(pads, state, (after_k @ kernel, recurrent), True)[:, -1]]

    def graphs(self) -> dict:
        tail = type("Tail", (), {"run_all": staticmethod(self.tail)})()
        graphs = {self.role: self, "word_encoder": FakeEncoder(self.pad)}
        return {**graphs, "right_tail": tail} if self.backward else graphs

    def full(self, windows: np.ndarray) -> np.ndarray:
        """The stack over whole 40-row windows from zero states: what VNLP computes."""
        zeros = np.zeros((len(windows), UNITS))
        first = _gru(windows, zeros, self.layers[0], self.backward)
        return _gru(first, zeros, self.layers[1], self.backward)[:, -1]


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "go_backwards"])
def test_real_rows_only_equals_the_full_window(backward: bool) -> None:
    rng = np.random.default_rng(1)
    pad = rng.normal(size=WIDTH)
    real = np.concatenate([[0, 1, 2, 39, 40], rng.integers(0, 41, 300)])
    windows = np.broadcast_to(pad, (len(real), WINDOW, WIDTH)).copy()
    for w, r in enumerate(real):
        rows = slice(0, r) if backward else slice(WINDOW - r, WINDOW)
        windows[w, rows] = rng.normal(size=(r, WIDTH))
    stack = FakeStack(backward, pad)
    padded = PaddedStack(stack.graphs(), stack.role, backward, PADDING)
    is_pad = (windows == pad).all(axis=2)
    np.testing.assert_array_equal(real_rows(is_pad, backward), real)
    got = padded(real, lambda rows, cols: [windows[rows, cols]])
    np.testing.assert_allclose(got, stack.full(windows), atol=1e-6)


def test_equal_windows_run_once_and_get_equal_results() -> None:
    rng = np.random.default_rng(3)
    pad = rng.normal(size=WIDTH)
    distinct = np.broadcast_to(pad, (4, WINDOW, WIDTH)).copy()
    for w, r in enumerate([0, 1, 5, 40]):
        distinct[w, :r] = rng.normal(size=(r, WIDTH))
    ids = rng.integers(0, 4, 50)
    windows = distinct[ids]
    stack = FakeStack(True, pad)
    padded = PaddedStack(stack.graphs(), stack.role, True, PADDING)
    real = real_rows((windows == pad).all(axis=2), True)
    seen: list[np.ndarray] = []

    def inputs(rows: np.ndarray, cols: slice) -> list[np.ndarray]:
        seen.append(rows)
        return [windows[rows, cols]]

    got = padded(real, inputs, ids[:, None])
    np.testing.assert_allclose(got, stack.full(windows), atol=1e-6)
    assert sorted(len(np.unique(ids[r])) for r in seen) == sorted(len(r) for r in seen)  # no repeats
    assert sum(len(r) for r in seen) == 4


def test_real_rows_counts_only_the_padding_run_at_the_reading_start() -> None:
    is_pad = np.zeros((3, WINDOW), bool)
    is_pad[0, :5] = True  # five pads, then real rows
    is_pad[1, [0, 2]] = True  # a pad-like row after a real one is a real row
    is_pad[2, -3:] = True
    assert real_rows(is_pad, backward=False).tolist() == [35, 39, 40]
    assert real_rows(is_pad, backward=True).tolist() == [40, 40, 37]


def test_groups_cover_every_window_once_and_run_at_least_its_real_rows() -> None:
    real = np.random.default_rng(2).integers(0, 41, 1000)
    seen = np.zeros(len(real), int)
    for length, members in groups(real):
        assert 1 <= length <= WINDOW and (real[members] <= length).all()
        seen[members] += 1
    assert (seen == 1).all()
