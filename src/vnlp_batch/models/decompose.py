"""Fast-decoder graphs: VNLP's Keras model cut at the points where work can be shared, layers reused.

Each graph is a Keras functional model built from the *same layer objects* (so the same weights) as
VNLP's model, exported and verified like the monolithic graph. Composed, they compute what the
monolithic model computes for every row, only without repeating work:

- spucontext (PoS, NER, DP): `word_encoder` runs WORD_RNN once per distinct word form in a batch
  (the monolithic graph re-encodes the word and its 80 context words for every token: 84–86 % of its
  work); `context` runs the left and right context GRU stacks over the gathered encodings once per
  token, before decoding; `step` holds what depends on earlier predictions — the history GRU stack and
  the MLP — and is the only graph inside the decoding loop.
- stemmer: `surface_encoder` runs the left and right surface BiGRUs once per distinct token (87 % of
  the work), `candidates` encodes a token's candidate stems and tags once per distinct token, and
  `score` runs the two context GRUs and the scoring head once per token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import tensorflow


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


def spucontext_graphs(model: Any) -> list[Graph]:
    tf = tensorflow()
    keras = tf.keras
    (concat,) = _layers_of(model, "Concatenate")
    word_stack, left_stack, right_stack, history_stack = _inbound(concat)
    word_rnn = _layers_of(model, "TimeDistributed")[0].layer  # Sequential[Embedding, GRU stack]
    pieces = model.inputs[0].shape[-1]
    width = word_stack.output_shape[-1]
    window = model.inputs[1].shape[1]
    history_width = model.inputs[3].shape[-1]

    word = keras.Input((pieces,), name="pieces")
    word_encoder = keras.Model(word, word_rnn(word))

    left_in = keras.Input((window, width), name="left_encodings")
    right_in = keras.Input((window, width), name="right_encodings")
    context = keras.Model([left_in, right_in], [left_stack(left_in), right_stack(right_in)])

    inputs = [keras.Input((width,), name=n) for n in ("word", "left", "right")]
    history = keras.Input((window, history_width), name="history")
    x = concat([*inputs, history_stack(history)])
    for layer in _head_after(model, concat):
        x = layer(x)
    step = keras.Model([*inputs, history], x)
    return [
        Graph("word_encoder", word_encoder, ("pieces",), ("encoding",)),
        Graph("context", context, ("left_encodings", "right_encodings"), ("left", "right")),
        Graph("step", step, ("word", "left", "right", "history"), ("probs",)),
    ]


def stemmer_graphs(model: Any) -> list[Graph]:
    tf = tensorflow()
    keras = tf.keras
    char_embedding, tag_embedding = _layers_of(model, "Embedding")
    left_context, right_context = _layers_of(model, "GRU")
    left_surface = _inbound(left_context)[0]
    right_surface = _inbound(right_context)[0]
    (add_candidates, add_context) = _layers_of(model, "Add")
    stem_td, tag_td = _inbound(add_candidates)
    candidate_activation, context_activation = _layers_of(model, "Activation")
    (dot,) = _layers_of(model, "Dot")
    surface_len = model.inputs[2].shape[-1]
    window = model.inputs[2].shape[1]
    analyses, stem_len, tag_len = model.inputs[0].shape[1], model.inputs[0].shape[2], model.inputs[1].shape[2]

    chars = keras.Input((surface_len,), name="chars", dtype="int32")
    embedded = char_embedding(chars)
    surface_encoder = keras.Model(chars, [left_surface.layer(embedded), right_surface.layer(embedded)])

    stems = keras.Input((analyses, stem_len), name="stems", dtype="int32")
    tags = keras.Input((analyses, tag_len), name="tags", dtype="int32")
    encoded_candidates = add_candidates([stem_td(char_embedding(stems)), tag_td(tag_embedding(tags))])
    candidates = keras.Model([stems, tags], candidate_activation(encoded_candidates))

    width = left_surface.output_shape[-1]
    left = keras.Input((window, width), name="left_surface")
    right = keras.Input((window, width), name="right_surface")
    encoded = keras.Input((analyses, candidate_activation.output_shape[-1]), name="candidates")
    x = dot([encoded, context_activation(add_context([left_context(left), right_context(right)]))])
    for layer in _head_after(model, dot):
        x = layer(x)
    score = keras.Model([left, right, encoded], x)
    return [
        Graph("surface_encoder", surface_encoder, ("chars",), ("left", "right")),
        Graph("candidates", candidates, ("stems", "tags"), ("encoding",)),
        Graph("score", score, ("left_surface", "right_surface", "candidates"), ("probs",)),
    ]


DECOMPOSITIONS: dict[str, Callable[[Any], list[Graph]]] = {
    "spucontext": spucontext_graphs,
    "stemmer": stemmer_graphs,
}


def fast_graphs(spec: ModelSpec, model: Any) -> list[Graph]:
    """The fast decoder's graphs for `spec`, or [] when it has none (it then runs its monolithic graph)."""
    decompose = DECOMPOSITIONS.get(spec.family)
    return decompose(model) if decompose else []
