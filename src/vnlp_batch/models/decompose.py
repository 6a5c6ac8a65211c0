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


def _treestack_parts(model: Any):
    """TreeStack's shared pieces: word/tag(/PoS) embeddings, the tag encoder and the concatenations."""
    embeddings = _layers_of(model, "Embedding")
    distributed = _layers_of(model, "TimeDistributed")
    tag_rnn = distributed[0].layer  # the GRU stack shared by the current word and both contexts
    tag_embedding = _inbound(distributed[0])[0]
    word_embedding = next(e for e in embeddings if e.input_dim > 1000)
    concats = {layer.name: layer for layer in _layers_of(model, "Concatenate")}
    return word_embedding, tag_embedding, tag_rnn, embeddings, concats


def treestack_pos_graphs(model: Any) -> list[Graph]:
    """TreeStackPoS: tag_rnn (75 % of the work) once per distinct tag sequence, the right context once
    per token, and in the loop the left-context stack (it reads the PoS history) and the MLP."""
    keras = tensorflow().keras
    word_embedding, tag_embedding, tag_rnn, _, _ = _treestack_parts(model)
    final = model.layers[-1]
    while type(final).__name__ != "Concatenate":
        final = _inbound(final)[0]
    current_concat, left_stack, right_stack = _inbound(final)
    right_concat = _inbound(right_stack)[0]
    left_concat = _inbound(left_stack)[0]
    window = model.inputs[2].shape[1]
    tag_len = model.inputs[1].shape[-1]
    width = tag_rnn.output_shape[-1]
    embed = word_embedding.output_dim

    tags = keras.Input((tag_len,), name="tags")
    tag_encoder = keras.Model(tags, tag_rnn(tag_embedding(tags)))

    rc_words = keras.Input((window,), name="right_words")
    rc_tags = keras.Input((window, width), name="right_tag_encodings")
    right = keras.Model([rc_words, rc_tags], right_stack(right_concat([word_embedding(rc_words), rc_tags])))

    word = keras.Input((1,), name="word")
    tag = keras.Input((width,), name="tag_encoding")
    lc_words = keras.Input((window,), name="left_words")
    lc_tags = keras.Input((window, width), name="left_tag_encodings")
    lc_pos = keras.Input((window, model.inputs[4].shape[-1]), name="left_pos")
    right_h = keras.Input((right_stack.output_shape[-1],), name="right")
    current = current_concat([keras.layers.Reshape((embed,))(word_embedding(word)), tag])
    left = left_stack(left_concat([word_embedding(lc_words), lc_tags, lc_pos]))
    x = final([current, left, right_h])
    for layer in _head_after(model, final):
        x = layer(x)
    step = keras.Model([word, tag, lc_words, lc_tags, lc_pos, right_h], x)
    return [
        Graph("tag_encoder", tag_encoder, ("tags",), ("encoding",)),
        Graph("context", right, ("right_words", "right_tag_encodings"), ("right",)),
        Graph(
            "step",
            step,
            ("word", "tag_encoding", "left_words", "left_tag_encodings", "left_pos", "right"),
            ("probs",),
        ),
    ]


def treestack_dp_graphs(model: Any) -> list[Graph]:
    """TreeStackDP: tag_rnn once per distinct tag sequence; both word-context stacks once per token
    (they read PoS tags, not the parser's own output); in the loop the arc-label stack and the MLP."""
    keras = tensorflow().keras
    word_embedding, tag_embedding, tag_rnn, embeddings, _ = _treestack_parts(model)
    pos_embedding = next(e for e in embeddings if e.input_dim < 100 and e is not tag_embedding)
    final = model.layers[-1]
    while type(final).__name__ != "Concatenate":
        final = _inbound(final)[0]
    current_concat, left_stack, history_stack, right_stack = _inbound(final)
    left_concat, right_concat = _inbound(left_stack)[0], _inbound(right_stack)[0]
    window = model.inputs[3].shape[1]
    tag_len = model.inputs[1].shape[-1]
    width = tag_rnn.output_shape[-1]

    tags = keras.Input((tag_len,), name="tags")
    tag_encoder = keras.Model(tags, tag_rnn(tag_embedding(tags)))

    side = {}
    for name in ("left", "right"):
        side[name] = (
            keras.Input((window,), name=f"{name}_words"),
            keras.Input((window, width), name=f"{name}_tag_encodings"),
            keras.Input((window,), name=f"{name}_pos"),
        )
    outputs = [
        stack(concat([word_embedding(w), t, pos_embedding(p)]))
        for (w, t, p), stack, concat in (
            (side["left"], left_stack, left_concat),
            (side["right"], right_stack, right_concat),
        )
    ]
    context = keras.Model([*side["left"], *side["right"]], outputs)

    word = keras.Input((1,), name="word")
    tag = keras.Input((width,), name="tag_encoding")
    pos = keras.Input((1,), name="pos")
    left_h = keras.Input((left_stack.output_shape[-1],), name="left")
    right_h = keras.Input((right_stack.output_shape[-1],), name="right")
    history = keras.Input((window, model.inputs[6].shape[-1]), name="history")
    current = current_concat(
        [
            keras.layers.Reshape((word_embedding.output_dim,))(word_embedding(word)),
            tag,
            keras.layers.Reshape((pos_embedding.output_dim,))(pos_embedding(pos)),
        ]
    )
    x = final([current, left_h, history_stack(history), right_h])
    for layer in _head_after(model, final):
        x = layer(x)
    step = keras.Model([word, tag, pos, left_h, right_h, history], x)
    context_inputs = tuple(f"{s}_{k}" for s in ("left", "right") for k in ("words", "tag_encodings", "pos"))
    return [
        Graph("tag_encoder", tag_encoder, ("tags",), ("encoding",)),
        Graph("context", context, context_inputs, ("left", "right")),
        Graph("step", step, ("word", "tag_encoding", "pos", "left", "right", "history"), ("probs",)),
    ]


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
