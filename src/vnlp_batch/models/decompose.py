"""Fast-decoder graphs: VNLP's Keras model cut at the points where work can be shared, layers reused.

Each graph is a Keras functional model built from the *same layer objects* (so the same weights) as
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
  table with the same graphs.
- In a two-layer `go_backwards` stack the second layer reads the padding *last*, so it still runs all
  40 steps. The context graph runs it over the real rows; a `*_tail` graph continues it over the
  skipped padding. Its input there is one of 40 fixed vectors (the first layer's output after k
  padding rows), so the tail graph holds their products with the layer's kernel, computed once at
  export, and takes one-hot rows: each tail step costs the recurrent product only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vnlp_batch.featurize.windows import WINDOW
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import tensorflow

# The padding row of each window input that carries encodings: VNLP pads windows with all-zero rows,
# which reach the stack as the encoder's output for the zero row — (encoder role, output index).
# Other window inputs (word and PoS ids, history one-hots) pad with zeros.
PADDING: dict[str, tuple[str, int]] = {
    "left_encodings": ("word_encoder", 0),
    "right_encodings": ("word_encoder", 0),
    "left_tag_encodings": ("tag_encoder", 0),
    "right_tag_encodings": ("tag_encoder", 0),
    "left_surface": ("surface_encoder", 0),
    "right_surface": ("surface_encoder", 1),
}


@dataclass(frozen=True)
class Graph:
    """One exported graph of a fast decoder: a Keras model and the names of its inputs and outputs."""

    role: str
    model: Any
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _layers_of(model: Any, kind: str) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ == kind]


def _inbound(layer: Any) -> list[Any]:
    node = layer._inbound_nodes[0]
    inbound = node.inbound_layers
    return list(inbound) if isinstance(inbound, (list, tuple)) else [inbound]


def _head_after(model: Any, start: Any) -> list[Any]:
    """The layers after `start` up to the output, in order (Dense/Dropout chain of VNLP's MLPs)."""
    chain, current = [], start
    while current is not model.layers[-1]:
        (current,) = [layer for layer in model.layers if current in _inbound(layer)]
        chain.append(current)
    return chain


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


def _padding_row(keras: Any, window: dict[str, Any], x: Any, encoders: dict[str, Any]) -> np.ndarray:
    """The stack input `x` for one padding row of `window` (see PADDING), computed by Keras."""
    feeds = []
    for name, tensor in window.items():
        if name in PADDING:
            role, index = PADDING[name]
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


def _apply_stack(keras: Any, stack: Any, x: Any, pad_row: Callable[[], np.ndarray] | None = None) -> _Stack:
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


def _graph(
    role: str, keras: Any, inputs: dict[str, Any], applied: _Stack | None, output: Any, output_name: str
) -> Graph:
    """A graph of `inputs` (then the stack's state inputs) → `output` (then the stack's final states)."""
    state_inputs = applied.state_inputs if applied else []
    states = applied.states if applied else []
    model = keras.Model([*inputs.values(), *state_inputs], [output, *states])
    names = (*inputs, *(applied.state_names if applied else []))
    return Graph(role, model, names, (output_name, *(f"state{i + 1}" for i in range(len(states)))))


def _context_graphs(
    keras: Any, side: str, stack: Any, window: dict[str, Any], x: Any, encoders: dict[str, Any]
) -> list[Graph]:
    """`{side}_context`: `stack` over the window `x` of `window` inputs; and `{side}_tail` if it has one."""
    applied = _apply_stack(keras, stack, x, lambda: _padding_row(keras, window, x, encoders))
    graphs = [_graph(f"{side}_context", keras, window, applied, applied.output, side)]
    if applied.tail is not None:
        graphs.append(Graph(f"{side}_tail", applied.tail, ("state", "pads"), (side,)))
    return graphs


def _input(keras: Any, name: str, shape: tuple[Any, ...], dtype: str = "float32") -> tuple[str, Any]:
    return name, keras.Input(shape, name=name, dtype=dtype)


def spucontext_graphs(model: Any) -> list[Graph]:
    keras = tensorflow().keras
    (concat,) = _layers_of(model, "Concatenate")
    word_stack, left_stack, right_stack, history_stack = _inbound(concat)
    word_rnn = _layers_of(model, "TimeDistributed")[0].layer  # Sequential[Embedding, GRU stack]
    pieces = model.inputs[0].shape[-1]
    width = word_stack.output_shape[-1]
    history_width = model.inputs[3].shape[-1]

    word = keras.Input((pieces,), name="pieces")
    word_encoder = keras.Model(word, word_rnn(word))
    graphs = [Graph("word_encoder", word_encoder, ("pieces",), ("encoding",))]
    for side, stack in (("left", left_stack), ("right", right_stack)):
        name, window = _input(keras, f"{side}_encodings", (None, width))
        graphs += _context_graphs(keras, side, stack, {name: window}, window, {"word_encoder": word_encoder})

    rows = dict(_input(keras, n, (width,)) for n in ("word", "left", "right"))
    name, history = _input(keras, "history", (None, history_width))
    applied = _apply_stack(keras, history_stack, history)
    x = concat([*rows.values(), applied.output])
    for layer in _head_after(model, concat):
        x = layer(x)
    graphs.append(_graph("step", keras, {**rows, name: history}, applied, x, "probs"))
    return graphs


def stemmer_graphs(model: Any) -> list[Graph]:
    keras = tensorflow().keras
    char_embedding, tag_embedding = _layers_of(model, "Embedding")
    left_context, right_context = _layers_of(model, "GRU")
    left_surface = _inbound(left_context)[0]
    right_surface = _inbound(right_context)[0]
    (add_candidates, add_context) = _layers_of(model, "Add")
    stem_td, tag_td = _inbound(add_candidates)
    candidate_activation, context_activation = _layers_of(model, "Activation")
    (dot,) = _layers_of(model, "Dot")
    surface_len = model.inputs[2].shape[-1]
    analyses, stem_len, tag_len = model.inputs[0].shape[1], model.inputs[0].shape[2], model.inputs[1].shape[2]

    chars = keras.Input((surface_len,), name="chars", dtype="int32")
    embedded = char_embedding(chars)
    surface_encoder = keras.Model(chars, [left_surface.layer(embedded), right_surface.layer(embedded)])

    # One candidate analysis (stem characters, tags) per row: the TimeDistributed encoders' inner
    # models, so each distinct analysis is encoded once, not once per slot of every token.
    stems = keras.Input((stem_len,), name="stems", dtype="int32")
    tags = keras.Input((tag_len,), name="tags", dtype="int32")
    encoded_candidates = add_candidates(
        [stem_td.layer(char_embedding(stems)), tag_td.layer(tag_embedding(tags))]
    )
    candidates = keras.Model([stems, tags], candidate_activation(encoded_candidates))
    graphs = [
        Graph("surface_encoder", surface_encoder, ("chars",), ("left", "right")),
        Graph("candidates", candidates, ("stems", "tags"), ("encoding",)),
    ]

    width = left_surface.output_shape[-1]
    for side, gru in (("left", left_context), ("right", right_context)):
        name, window = _input(keras, f"{side}_surface", (None, width))
        graphs += _context_graphs(
            keras, side, gru, {name: window}, window, {"surface_encoder": surface_encoder}
        )

    left = keras.Input((left_context.units,), name="left")
    right = keras.Input((right_context.units,), name="right")
    encoded = keras.Input((analyses, candidate_activation.get_output_shape_at(0)[-1]), name="candidates")
    x = dot([encoded, context_activation(add_context([left, right]))])
    for layer in _head_after(model, dot):
        x = layer(x)
    graphs.append(
        Graph("score", keras.Model([left, right, encoded], x), ("left", "right", "candidates"), ("probs",))
    )
    return graphs


def _treestack_parts(model: Any):
    """TreeStack's shared pieces: word/tag(/PoS) embeddings, the tag encoder and the final concat."""
    embeddings = _layers_of(model, "Embedding")
    distributed = _layers_of(model, "TimeDistributed")
    tag_rnn = distributed[0].layer  # the GRU stack shared by the current word and both contexts
    tag_embedding = _inbound(distributed[0])[0]
    word_embedding = next(e for e in embeddings if e.input_dim > 1000)
    final = model.layers[-1]
    while type(final).__name__ != "Concatenate":
        final = _inbound(final)[0]
    return word_embedding, tag_embedding, tag_rnn, embeddings, final


def _tag_encoder(keras: Any, tag_embedding: Any, tag_rnn: Any, tag_len: int) -> Graph:
    tags = keras.Input((tag_len,), name="tags")
    return Graph("tag_encoder", keras.Model(tags, tag_rnn(tag_embedding(tags))), ("tags",), ("encoding",))


def _embedded_word(keras: Any, embedding: Any, ids: Any) -> Any:
    return keras.layers.Reshape((embedding.output_dim,))(embedding(ids))


def treestack_pos_graphs(model: Any) -> list[Graph]:
    """TreeStackPoS: tag_rnn (75 % of the work) once per distinct tag sequence, the right context once
    per token, and in the loop the left-context stack (it reads the PoS history) and the MLP."""
    keras = tensorflow().keras
    word_embedding, tag_embedding, tag_rnn, _, final = _treestack_parts(model)
    current_concat, left_stack, right_stack = _inbound(final)
    right_concat = _inbound(right_stack)[0]
    left_concat = _inbound(left_stack)[0]
    width = tag_rnn.output_shape[-1]
    graphs = [_tag_encoder(keras, tag_embedding, tag_rnn, model.inputs[1].shape[-1])]
    encoders = {"tag_encoder": graphs[0].model}

    right_in = dict(
        [_input(keras, "right_words", (None,)), _input(keras, "right_tag_encodings", (None, width))]
    )
    words, tags = right_in.values()
    x = right_concat([word_embedding(words), tags])
    graphs += _context_graphs(keras, "right", right_stack, right_in, x, encoders)

    rows = dict(
        [
            _input(keras, "word", (1,)),
            _input(keras, "tag_encoding", (width,)),
            _input(keras, "right", (right_stack.output_shape[-1],)),
        ]
    )
    left_in = dict(
        [
            _input(keras, "left_words", (None,)),
            _input(keras, "left_tag_encodings", (None, width)),
            _input(keras, "history", (None, model.inputs[4].shape[-1])),
        ]
    )
    words, tags, history = left_in.values()
    applied = _apply_stack(keras, left_stack, left_concat([word_embedding(words), tags, history]))
    word, tag, right = rows.values()
    current = current_concat([_embedded_word(keras, word_embedding, word), tag])
    x = final([current, applied.output, right])
    for layer in _head_after(model, final):
        x = layer(x)
    graphs.append(_graph("step", keras, {**rows, **left_in}, applied, x, "probs"))
    return graphs


def treestack_dp_graphs(model: Any) -> list[Graph]:
    """TreeStackDP: tag_rnn once per distinct tag sequence; both word-context stacks once per token
    (they read PoS tags, not the parser's own output); in the loop the arc-label stack and the MLP."""
    keras = tensorflow().keras
    word_embedding, tag_embedding, tag_rnn, embeddings, final = _treestack_parts(model)
    pos_embedding = next(e for e in embeddings if e.input_dim < 100 and e is not tag_embedding)
    current_concat, left_stack, history_stack, right_stack = _inbound(final)
    width = tag_rnn.output_shape[-1]
    graphs = [_tag_encoder(keras, tag_embedding, tag_rnn, model.inputs[1].shape[-1])]
    encoders = {"tag_encoder": graphs[0].model}
    for side, stack in (("left", left_stack), ("right", right_stack)):
        window = dict(
            [
                _input(keras, f"{side}_words", (None,)),
                _input(keras, f"{side}_tag_encodings", (None, width)),
                _input(keras, f"{side}_pos", (None,)),
            ]
        )
        words, tags, pos = window.values()
        x = _inbound(stack)[0]([word_embedding(words), tags, pos_embedding(pos)])
        graphs += _context_graphs(keras, side, stack, window, x, encoders)

    rows = dict(
        [
            _input(keras, "word", (1,)),
            _input(keras, "tag_encoding", (width,)),
            _input(keras, "pos", (1,)),
            _input(keras, "left", (left_stack.output_shape[-1],)),
            _input(keras, "right", (right_stack.output_shape[-1],)),
        ]
    )
    name, history = _input(keras, "history", (None, model.inputs[6].shape[-1]))
    applied = _apply_stack(keras, history_stack, history)
    word, tag, pos, left, right = rows.values()
    current = current_concat(
        [
            _embedded_word(keras, word_embedding, word),
            tag,
            _embedded_word(keras, pos_embedding, pos),
        ]
    )
    x = final([current, left, applied.output, right])
    for layer in _head_after(model, final):
        x = layer(x)
    graphs.append(_graph("step", keras, {**rows, name: history}, applied, x, "probs"))
    return graphs


DECOMPOSITIONS: dict[str, Callable[[Any], list[Graph]]] = {
    "spucontext": spucontext_graphs,
    "stemmer": stemmer_graphs,
    "treestack_pos": treestack_pos_graphs,
    "treestack_dp": treestack_dp_graphs,
}


def fast_graphs(spec: ModelSpec, model: Any) -> list[Graph]:
    """The fast decoder's graphs for `spec`, or [] when it has none (it then runs its monolithic graph)."""
    decompose = DECOMPOSITIONS.get(spec.family)
    return decompose(model) if decompose else []
