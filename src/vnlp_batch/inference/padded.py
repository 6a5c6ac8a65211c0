"""Run a GRU stack over 40-row windows without re-running their padding.

VNLP pads every context and history window to 40 rows, and every stack that reads the padding
first (forward stacks over pre-padded windows, `go_backwards` stacks over post-padded ones) does the
same arithmetic on it in every window: after k padding rows, layer i is in a state that depends on k
only. `PaddedStack` computes those states once per model, with the same graph (`state1`, … outputs,
see models/decompose.py), and then runs each window from the state after its padding over its real
rows only. Windows are grouped by their number of real rows; a group runs as windows of its longest
member, the shorter ones starting from an earlier padding state with their remaining padding rows in
front: the same computation as the full window, only with its common prefix taken from the table.
Windows with the same content (the last tokens of sentences ending alike, the first tokens of
sentences starting alike) run once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.inference.distinct import distinct_rows
from vnlp_batch.models.decompose import Padding

_EYE = np.eye(WINDOW, dtype=np.float32)
CHUNK = 1024  # windows per graph call: bounds the gathered (rows, L, width) block
MERGE_RATIO = 0.8  # a group runs windows of at least this fraction of its longest one…
SMALL_GROUP = 64  # …or any shorter ones while it has fewer windows than this

# (rows, cols) → the graph's inputs for those windows, window inputs cut to `cols` of the 40 rows
Inputs = Callable[[np.ndarray, slice], list[np.ndarray]]


def real_rows(is_pad: np.ndarray, backward: bool) -> np.ndarray:
    """Rows of each window after its padding: 40 minus the run of padding rows at the reading start.

    A real row equal to the padding row next to the padding is counted as padding: the same input,
    so the same arithmetic.
    """
    leading = is_pad[:, ::-1] if backward else is_pad
    return is_pad.shape[1] - np.cumprod(leading, axis=1).sum(axis=1)


def groups(real: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(window length L, window indices) for every group; every window has 1 ≤ real ≤ L rows run."""
    length = np.maximum(real, 1)  # a window of padding only runs its last padding row
    order = np.argsort(-length, kind="stable")
    ordered = length[order]
    start = 0
    while start < len(order):
        top = int(ordered[start])
        end = start + 1
        while end < len(order) and (ordered[end] >= MERGE_RATIO * top or end - start < SMALL_GROUP):
            end += 1
        yield top, order[start:end]
        start = end


def zero_row_outputs(graph) -> list[np.ndarray]:
    """An encoder's outputs for VNLP's padding row (all zeros): the padding rows of its windows."""
    zero = np.zeros((1, graph.input_shapes[0][-1]), np.float32)
    return [out[0] for out in graph.run_all([zero])]


class PaddedStack:
    """`graphs[role]`: a graph over windows whose GRU stack starts from input states `h1…`.

    Graphs are OnnxModel-like objects (`input_names`, `input_shapes`, `run_all`); the stack's inputs
    are the caller's inputs followed by the state inputs, its outputs the result followed by
    `state1…`. Inputs with a variable second axis are windows; their padding rows are zeros or, for
    inputs named in the family's `padding` (models/decompose.py), an encoder's output for the zero
    row. A two-layer go_backwards stack has a `*_tail` graph that continues its last layer over the
    skipped padding.
    """

    def __init__(self, graphs: dict, role: str, backward: bool, padding: Padding) -> None:
        self.graph = graphs[role]
        self.tail = graphs.get(role.replace("_context", "_tail")) if role.endswith("_context") else None
        self.backward = backward
        self.states = [n for n in self.graph.input_names if n.startswith("h") and n[1:].isdigit()]
        pad_rows = {
            name: zero_row_outputs(graphs[padding[name][0]])[padding[name][1]]
            for name in self.graph.input_names
            if name in padding
        }
        self._table = self._pad_states(pad_rows)

    def _pad_inputs(self, k: int, pad_rows: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The caller's inputs for one window of k padding rows; per-row inputs are zeros (they do
        not reach the stack's states)."""
        out = []
        for name, shape in zip(self.graph.input_names, self.graph.input_shapes, strict=True):
            if name in self.states:
                continue
            window = not isinstance(shape[1], int)
            row = pad_rows.get(name, np.zeros(shape[2:] if window else shape[1:], np.float32))
            out.append(np.broadcast_to(row, (1, k, *row.shape) if window else (1, *row.shape)).copy())
        return out

    def _pad_states(self, pad_rows: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Per state input: (41, units) — the layer's state after k = 0…40 padding rows."""
        tables: list[list[np.ndarray]] = [[] for _ in self.states]
        for k in range(1, WINDOW + 1):
            zeros = [np.zeros((1, self._units(i)), np.float32) for i in range(len(self.states))]
            outputs = self.graph.run_all([*self._pad_inputs(k, pad_rows), *zeros])
            for i in range(len(self.states)):
                tables[i].append(outputs[1 + i][0])
        return [np.concatenate([np.zeros((1, len(t[0])), np.float32), np.stack(t)]) for t in tables]

    def _units(self, i: int) -> int:
        return self.graph.input_shapes[self.graph.input_names.index(self.states[i])][-1]

    def __call__(self, real: np.ndarray, inputs: Inputs, windows: np.ndarray | None = None) -> np.ndarray:
        """The graph's first output for every window; `real[w]` = real rows of window w (0…40).

        `windows`, if given, identifies each window's content (one integer row per window): windows
        with equal rows have equal inputs, and run once."""
        if windows is not None:
            first, inverse = distinct_rows(windows)
            return self(real[first], lambda rows, cols: inputs(first[rows], cols))[inverse]
        out: np.ndarray | None = None
        for length, members in groups(real):
            skipped = WINDOW - length
            cols = slice(0, length) if self.backward else slice(skipped, WINDOW)
            for s in range(0, len(members), CHUNK):
                rows = members[s : s + CHUNK]
                states = [np.broadcast_to(t[skipped], (len(rows), t.shape[1])) for t in self._table]
                result = self.graph.run_all([*inputs(rows, cols), *states])[0]
                if self.tail is not None and skipped:
                    # One-hot k = 1…skipped: layer 1's outputs after k padding rows (read backwards).
                    pads = np.broadcast_to(_EYE[:skipped], (len(rows), skipped, WINDOW))
                    result = self.tail.run_all([result, pads])[0]
                if out is None:
                    out = np.empty((len(real), *result.shape[1:]), result.dtype)
                out[rows] = result
        if out is None:
            raise ValueError("PaddedStack called with no windows")
        return out
