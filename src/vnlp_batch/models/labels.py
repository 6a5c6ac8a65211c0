"""Label vocabularies, read from VNLP's own label tokenizers."""

from __future__ import annotations

import json
from functools import cache

from vnlp_batch.models.resources import vnlp_resource
from vnlp_batch.models.spec import ModelSpec


@cache
def tokenizer_vocabulary(resource: str) -> tuple[str, ...]:
    """The labels of a VNLP Keras tokenizer JSON, by index: index 0 is reserved and decodes to ''."""
    config = json.loads(vnlp_resource(resource).read_text())["config"]
    index_word = json.loads(config["index_word"])
    return ("", *(index_word[str(i)] for i in range(1, len(index_word) + 1)))


def group_labels(spec: ModelSpec) -> dict[str, list[str]]:
    """For each output group, the label of every output index in that group (its component's)."""
    return spec.component.labels(spec)
