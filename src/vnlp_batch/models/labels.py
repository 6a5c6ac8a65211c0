"""Label vocabularies, read from VNLP's own label tokenizers."""

from __future__ import annotations

import json
from functools import cache

from vnlp_batch.models.resources import vnlp_resource
from vnlp_batch.models.spec import ModelSpec


@cache
def _tokenizer_vocabulary(resource: str) -> tuple[str, ...]:
    # VNLP's Keras tokenizer JSON: index 0 is reserved and decodes to ''.
    config = json.loads(vnlp_resource(resource).read_text())["config"]
    index_word = json.loads(config["index_word"])
    return ("", *(index_word[str(i)] for i in range(1, len(index_word) + 1)))


def group_labels(spec: ModelSpec) -> dict[str, list[str]]:
    """For each output group, the label of every output index in that group."""
    out: dict[str, list[str]] = {}
    for group in spec.output_groups:
        width = group.stop - group.start
        if spec.name.endswith("_dp") and group.name == "arc":
            out[group.name] = [str(i) for i in range(width)]  # 0 = root, k = the k-th token
        elif spec.label_tokenizer is not None:
            vocabulary = _tokenizer_vocabulary(spec.label_tokenizer)
            if len(vocabulary) != width:
                raise ValueError(
                    f"{spec.name}: {spec.label_tokenizer} has {len(vocabulary)} labels, output {width}"
                )
            out[group.name] = list(vocabulary)
        elif group.name == "positive":
            out[group.name] = ["positive"]
        else:
            out[group.name] = [f"candidate_{i}" for i in range(width)]
    return out
