"""Cutting VNLP's Keras models into fast-decoder graphs: the tools every family's cut is made with.

Each model family cuts its model in its own component (`components/<family>/graphs.py`) with these
tools. Each graph is a Keras functional model built from the *same layer objects* (so the same weights) as
VNLP's model, exported and verified like the monolithic graph. Composed, they compute what the
monolithic model computes for every row, only without repeating work:

- Per-word encoders (SPUContext `word_encoder`, the stemmer's `surface_encoder` and `candidates`,
  TreeStack `tag_encoder`) run once per distinct word form in a batch instead of 81 times per token.
- Context stacks that do not read the model's own predictions (`left_context`, `right_context`) run
  once per token before decoding; `step` holds what does — a history stack and the MLP — and is the
  only graph inside the decoding loop (the stemmer's `score` is its head, run once per token).
- Every GRU stack that reads its window's padding first (forward stacks over pre-padded windows,
  and `go_backwards` stacks over post-padded ones) takes each layer's initial state as an input
  (`h1`, `h2`, …) and a window of any length: the decoder feeds only the window's real rows and the
  state each layer has after the padding rows it skips, computed once per model
  (`inference/padded.py`). The graphs output those states (`state1`, …) so the decoder can build that
  table with the same graphs. A family's `PADDING` names the window inputs whose padding row is an
  encoder's output rather than zeros.
- In a two-layer `go_backwards` stack the second layer reads the padding *last*, so it still runs all
  40 steps. The context graph runs it over the real rows; a `*_tail` graph continues it over the
  skipped padding. Its input there is one of 40 fixed vectors (the first layer's output after k
  padding rows), so the tail graph holds their products with the layer's kernel, computed once at
  export, and takes one-hot rows: each tail step costs the recurrent product only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vnlp_batch.featurize.windows import WINDOW

# A family's padding rows: window input -> (encoder graph role, output index). VNLP pads windows with
# all-zero rows, which reach a stack as the encoder's output for the zero row; window inputs not named
# (word and PoS ids, history one-hots) pad with zeros.
Padding = Mapping[str, tuple[str, int]]


@dataclass(frozen=True)
class Graph:
    """One exported graph of a fast decoder: a Keras model and the names of its inputs and outputs."""

    role: str
    model: Any
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def layers_of(model: Any, kind: str) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ == kind]


def inbound(layer: Any) -> list[Any]:
    layers = layer._inbound_nodes[0].inbound_layers
    return list(layers) if isinstance(layers, (list, tuple)) else [layers]


def head_after(model: Any, start: Any) -> list[Any]:
    """The layers after `start` up to the output, in order (Dense/Dropout chain of VNLP's MLPs)."""
    chain, current = [], start
    while current is not model.layers[-1]:
        (current,) = [layer for layer in model.layers if current in inbound(layer)]
        chain.append(current)
    return chain


def through_head(model: Any, start: Any, inputs: Any) -> Any:
    """`start` applied to `inputs`, then every layer after it up to the model's output."""
    x = start(inputs)
    for layer in head_after(model, start):
        x = layer(x)
    return x


def _grus(stack: Any) -> list[Any]:
    """The GRU layers of a VNLP stack: a Sequential of GRUs (and Dropouts), or a single GRU layer."""
    layers = stack.layers if hasattr(stack, "layers") else [stack]
    kinds = {type(layer).__name__ for layer in layers}
    assert kinds <= {"GRU", "Dropout"}, f"{stack.name}: unexpected layers {kinds}"
    # Dropout is the identity at inference: the stack is its GRUs.
    return [layer for layer in layers if type(layer).__name__ == "GRU"]


@dataclass
class _Stack:
    """A GRU stack applied from given initial states: its Keras inputs and outputs."""

    state_inputs: list[Any]  # h1.. Keras inputs, in graph input order
    state_names: list[str]
    output: Any  # the stack's output (final state of its last layer; before the tail, if any)
    states: list[Any]  # state1.. outputs: final state of each layer that takes an initial state
    tail: Any = None  # Keras model (state, pads) -> the last layer's state after the padding


def _padding_row(
    keras: Any, window: dict[str, Any], x: Any, encoders: dict[str, Any], padding: Padding
) -> np.ndarray:
    """The stack input `x` for one padding row of `window` (see `Padding`), computed by Keras."""
    feeds = []
    for name, tensor in window.items():
        if name in padding:
            role, index = padding[name]
            encoder = encoders[role]
            zero = np.zeros((1, *encoder.input_shape[1:]), encoder.inputs[0].dtype.as_numpy_dtype)
            outputs = encoder(zero)
            row = np.asarray(outputs[index] if isinstance(outputs, (list, tuple)) else outputs)[0]
        else:
            row = np.zeros(tensor.shape[2:], tensor.dtype.as_numpy_dtype)
        feeds.append(row[None, None])
    return np.asarray(keras.Model(list(window.values()), x)(feeds))[0, 0]


def _tail(keras: Any, first: Any, second: Any, pad_row: np.ndarray) -> Any:
    """Layer 2 of a two-layer go_backwards stack over the padding it reads last, as a model of (its
    state after the real rows, one-hot rows selecting k = 1…40): the input projection of layer 1's
    output after k padding rows is row k-1 of the tail's kernel."""
    pad_outputs = np.asarray(first(np.broadcast_to(pad_row, (1, WINDOW, len(pad_row)))))[0]
    kernel, recurrent, bias = second.get_weights()
    config = {**second.get_config(), "name": f"{second.name}_tail", "return_sequences": False}
    gru = type(second).from_config(config)
    gru.build((None, None, WINDOW))
    gru.set_weights([(pad_outputs @ kernel).astype(np.float32), recurrent, bias])
    state = keras.Input((second.units,), name="state")
    pads = keras.Input((None, WINDOW), name="pads")
    return keras.Model([state, pads], gru(pads, initial_state=state))


def apply_stack(keras: Any, stack: Any, x: Any, pad_row: Callable[[], np.ndarray] | None = None) -> _Stack:
    """`stack` over window `x` (any length), each padding-first layer starting from an input state.

    `pad_row` gives `x` for a padding row; only two-layer go_backwards stacks (which get a tail)
    need it."""
    grus = _grus(stack)
    backward = grus[0].go_backwards
    assert all(g.go_backwards == backward for g in grus), f"{stack.name}: mixed directions"

    def final(layer: Any, sequence: Any) -> Any:
        # A distinct tensor even when it is also the stack's output: graph outputs must not alias.
        last = sequence[:, -1] if layer.return_sequences else sequence
        return keras.layers.Activation("linear")(last)

    # Forward stacks read the padding first in every layer; go_backwards stacks only in layer 1.
    starting = grus if not backward else grus[:1]
    inputs = [keras.Input((g.units,), name=f"h{i + 1}") for i, g in enumerate(starting)]
    names = [f"h{i + 1}" for i in range(len(starting))]
    states, s = [], x
    for layer, h in zip(starting, inputs, strict=True):
        s = layer(s, initial_state=h)
        states.append(final(layer, s))
    tail = None
    if backward and len(grus) > 1:
        first, second = grus
        assert not second.return_sequences and pad_row is not None, f"{stack.name}: unexpected stack"
        tail = _tail(keras, first, second, pad_row())
        s = second(s)
    return _Stack(inputs, names, s, states, tail)


def make_graph(
    role: str, keras: Any, inputs: dict[str, Any], applied: _Stack | None, output: Any, output_name: str
) -> Graph:
    """A graph of `inputs` (then the stack's state inputs) → `output` (then the stack's final states)."""
    state_inputs = applied.state_inputs if applied else []
    states = applied.states if applied else []
    model = keras.Model([*inputs.values(), *state_inputs], [output, *states])
    names = (*inputs, *(applied.state_names if applied else []))
    return Graph(role, model, names, (output_name, *(f"state{i + 1}" for i in range(len(states)))))


def context_graphs(
    keras: Any,
    side: str,
    stack: Any,
    window: dict[str, Any],
    x: Any,
    encoders: dict[str, Any],
    padding: Padding,
) -> list[Graph]:
    """`{side}_context`: `stack` over the window `x` of `window` inputs; and `{side}_tail` if it has one.

    `encoders`: the Keras encoder models `padding` names, by role."""
    applied = apply_stack(keras, stack, x, lambda: _padding_row(keras, window, x, encoders, padding))
    graphs = [make_graph(f"{side}_context", keras, window, applied, applied.output, side)]
    if applied.tail is not None:
        graphs.append(Graph(f"{side}_tail", applied.tail, ("state", "pads"), (side,)))
    return graphs


def named_input(keras: Any, name: str, shape: tuple[Any, ...], dtype: str = "float32") -> tuple[str, Any]:
    return name, keras.Input(shape, name=name, dtype=dtype)
