"""TreeStackPoS and TreeStackDP cut into the fast decoders' graphs (the tools: models/decompose.py).

`tag_encoder` (a token's 15 morphological tag ids → their encoding) runs once per distinct tag
sequence; the context stacks that do not read the model's own predictions once per token; `step`
(the stack that does, and the MLP) in the decoding loop.
"""

from __future__ import annotations

from typing import Any

from vnlp_batch.models.decompose import (
    Graph,
    Padding,
    apply_stack,
    context_graphs,
    inbound,
    layers_of,
    make_graph,
    named_input,
    through_head,
)
from vnlp_batch.vnlp_env import tensorflow

# Windows of tag encodings pad with the encoding of the all-zero tag row.
PADDING: Padding = {"left_tag_encodings": ("tag_encoder", 0), "right_tag_encodings": ("tag_encoder", 0)}
TAGGER_ROLES = ("tag_encoder", "right_context", "right_tail", "step")
PARSER_ROLES = ("tag_encoder", "left_context", "right_context", "right_tail", "step")


def _treestack_parts(model: Any):
    """TreeStack's shared pieces: word/tag(/PoS) embeddings, the tag encoder and the final concat."""
    embeddings = layers_of(model, "Embedding")
    distributed = layers_of(model, "TimeDistributed")
    tag_rnn = distributed[0].layer  # the GRU stack shared by the current word and both contexts
    tag_embedding = inbound(distributed[0])[0]
    word_embedding = next(e for e in embeddings if e.input_dim > 1000)
    final = model.layers[-1]
    while type(final).__name__ != "Concatenate":
        final = inbound(final)[0]
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
    current_concat, left_stack, right_stack = inbound(final)
    right_concat = inbound(right_stack)[0]
    left_concat = inbound(left_stack)[0]
    width = tag_rnn.output_shape[-1]
    graphs = [_tag_encoder(keras, tag_embedding, tag_rnn, model.inputs[1].shape[-1])]
    encoders = {"tag_encoder": graphs[0].model}

    right_in = dict(
        [named_input(keras, "right_words", (None,)), named_input(keras, "right_tag_encodings", (None, width))]
    )
    words, tags = right_in.values()
    x = right_concat([word_embedding(words), tags])
    graphs += context_graphs(keras, "right", right_stack, right_in, x, encoders, PADDING)

    rows = dict(
        [
            named_input(keras, "word", (1,)),
            named_input(keras, "tag_encoding", (width,)),
            named_input(keras, "right", (right_stack.output_shape[-1],)),
        ]
    )
    left_in = dict(
        [
            named_input(keras, "left_words", (None,)),
            named_input(keras, "left_tag_encodings", (None, width)),
            named_input(keras, "history", (None, model.inputs[4].shape[-1])),
        ]
    )
    words, tags, history = left_in.values()
    applied = apply_stack(keras, left_stack, left_concat([word_embedding(words), tags, history]))
    word, tag, right = rows.values()
    current = current_concat([_embedded_word(keras, word_embedding, word), tag])
    x = through_head(model, final, [current, applied.output, right])
    graphs.append(make_graph("step", keras, {**rows, **left_in}, applied, x, "probs"))
    return graphs


def treestack_dp_graphs(model: Any) -> list[Graph]:
    """TreeStackDP: tag_rnn once per distinct tag sequence; both word-context stacks once per token
    (they read PoS tags, not the parser's own output); in the loop the arc-label stack and the MLP."""
    keras = tensorflow().keras
    word_embedding, tag_embedding, tag_rnn, embeddings, final = _treestack_parts(model)
    pos_embedding = next(e for e in embeddings if e.input_dim < 100 and e is not tag_embedding)
    current_concat, left_stack, history_stack, right_stack = inbound(final)
    width = tag_rnn.output_shape[-1]
    graphs = [_tag_encoder(keras, tag_embedding, tag_rnn, model.inputs[1].shape[-1])]
    encoders = {"tag_encoder": graphs[0].model}
    for side, stack in (("left", left_stack), ("right", right_stack)):
        window = dict(
            [
                named_input(keras, f"{side}_words", (None,)),
                named_input(keras, f"{side}_tag_encodings", (None, width)),
                named_input(keras, f"{side}_pos", (None,)),
            ]
        )
        words, tags, pos = window.values()
        x = inbound(stack)[0]([word_embedding(words), tags, pos_embedding(pos)])
        graphs += context_graphs(keras, side, stack, window, x, encoders, PADDING)

    rows = dict(
        [
            named_input(keras, "word", (1,)),
            named_input(keras, "tag_encoding", (width,)),
            named_input(keras, "pos", (1,)),
            named_input(keras, "left", (left_stack.output_shape[-1],)),
            named_input(keras, "right", (right_stack.output_shape[-1],)),
        ]
    )
    name, history = named_input(keras, "history", (None, model.inputs[6].shape[-1]))
    applied = apply_stack(keras, history_stack, history)
    word, tag, pos, left, right = rows.values()
    current = current_concat(
        [
            _embedded_word(keras, word_embedding, word),
            tag,
            _embedded_word(keras, pos_embedding, pos),
        ]
    )
    x = through_head(model, final, [current, left, applied.output, right])
    graphs.append(make_graph("step", keras, {**rows, name: history}, applied, x, "probs"))
    return graphs
