"""SPUContextPoS/NER/DP cut into the fast decoder's graphs (the tools: models/decompose.py).

`word_encoder` (a word's SentencePiece pieces → its encoding) runs once per distinct word form;
`left_context` and `right_context` (a stack over the 40 encodings before / after a token, `right_tail`
for a two-layer go_backwards stack) once per token; `step` (the history stack and the MLP) in the
decoding loop.
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

# Context windows of word encodings pad with the encoding of the all-zero pieces row.
PADDING: Padding = {"left_encodings": ("word_encoder", 0), "right_encodings": ("word_encoder", 0)}
ROLES = ("word_encoder", "left_context", "right_context", "right_tail", "step")


def spucontext_graphs(model: Any) -> list[Graph]:
    keras = tensorflow().keras
    (concat,) = layers_of(model, "Concatenate")
    word_stack, left_stack, right_stack, history_stack = inbound(concat)
    word_rnn = layers_of(model, "TimeDistributed")[0].layer  # Sequential[Embedding, GRU stack]
    pieces = model.inputs[0].shape[-1]
    width = word_stack.output_shape[-1]
    history_width = model.inputs[3].shape[-1]

    word = keras.Input((pieces,), name="pieces")
    word_encoder = keras.Model(word, word_rnn(word))
    graphs = [Graph("word_encoder", word_encoder, ("pieces",), ("encoding",))]
    encoders = {"word_encoder": word_encoder}
    for side, stack in (("left", left_stack), ("right", right_stack)):
        name, window = named_input(keras, f"{side}_encodings", (None, width))
        graphs += context_graphs(keras, side, stack, {name: window}, window, encoders, PADDING)

    rows = dict(named_input(keras, n, (width,)) for n in ("word", "left", "right"))
    name, history = named_input(keras, "history", (None, history_width))
    applied = apply_stack(keras, history_stack, history)
    x = through_head(model, concat, [*rows.values(), applied.output])
    graphs.append(make_graph("step", keras, {**rows, name: history}, applied, x, "probs"))
    return graphs
