"""StemmerAnalyzer cut into the fast decoder's graphs (the tools: models/decompose.py).

`surface_encoder` (a surface token's characters → its left- and right-context encodings) runs once
per distinct token, `candidates` (one candidate analysis → its encoding) once per distinct analysis,
`left_context` and `right_context` (a GRU over the 40 surface encodings before / after a token) once
per token, and `score` (the candidates against the contexts, then the MLP) once per token.
"""

from __future__ import annotations

from typing import Any

from vnlp_batch.models.decompose import (
    Graph,
    Padding,
    context_graphs,
    inbound,
    layers_of,
    named_input,
    through_head,
)
from vnlp_batch.vnlp_env import tensorflow

# Surface windows pad with the encodings of the all-zero character row (left and right differ).
PADDING: Padding = {"left_surface": ("surface_encoder", 0), "right_surface": ("surface_encoder", 1)}
ROLES = ("surface_encoder", "candidates", "left_context", "right_context", "score")


def stemmer_graphs(model: Any) -> list[Graph]:
    keras = tensorflow().keras
    char_embedding, tag_embedding = layers_of(model, "Embedding")
    left_context, right_context = layers_of(model, "GRU")
    left_surface = inbound(left_context)[0]
    right_surface = inbound(right_context)[0]
    (add_candidates, add_context) = layers_of(model, "Add")
    stem_td, tag_td = inbound(add_candidates)
    candidate_activation, context_activation = layers_of(model, "Activation")
    (dot,) = layers_of(model, "Dot")
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
    encoders = {"surface_encoder": surface_encoder}
    for side, gru in (("left", left_context), ("right", right_context)):
        name, window = named_input(keras, f"{side}_surface", (None, width))
        graphs += context_graphs(keras, side, gru, {name: window}, window, encoders, PADDING)

    left = keras.Input((left_context.units,), name="left")
    right = keras.Input((right_context.units,), name="right")
    encoded = keras.Input((analyses, candidate_activation.get_output_shape_at(0)[-1]), name="candidates")
    x = through_head(model, dot, [encoded, context_activation(add_context([left, right]))])
    graphs.append(
        Graph("score", keras.Model([left, right, encoded], x), ("left", "right", "candidates"), ("probs",))
    )
    return graphs
