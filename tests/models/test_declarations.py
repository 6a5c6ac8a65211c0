"""Each declaration states VNLP's facts; check them against the installed vnlp package itself."""

from __future__ import annotations

import os

import pytest

from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.keras_build import pickled_slots
from vnlp_batch.models.labels import group_labels
from vnlp_batch.vnlp_env import vnlp_module


@pytest.mark.parametrize("name", list(MODELS))
def test_declaration_matches_vnlp(name: str) -> None:
    spec = MODELS[name]
    module = vnlp_module(spec.module)
    assert os.path.basename(module.PROD_WEIGHTS_LOC) == spec.weights_file
    assert module.PROD_WEIGHTS_LINK.endswith("/" + spec.weights_file)
    assert type(getattr(module, spec.vnlp_class)).__name__ == "type"
    if spec.embedding is None:
        assert not hasattr(module, "WORD_EMBEDDING_MATRIX_LOC")
    else:
        assert os.path.basename(module.WORD_EMBEDDING_MATRIX_LOC) == spec.embedding.file
        # VNLP's own loading code says where the matrix goes: model_weights.insert(<index>, …)
        with open(module.__file__, encoding="utf-8") as handle:
            source = handle.read()
        assert f"model_weights.insert({spec.embedding.index}, word_embedding_matrix)" in source


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_model_has_declared_inputs_and_outputs(name: str, keras_model) -> None:
    spec = MODELS[name]
    model = keras_model(name)  # build_keras_model(spec), shared with the other tests of the session
    assert len(model.inputs) == len(spec.inputs)
    assert model.outputs[0].shape[-1] == spec.output_width
    assert model.layers[-1].activation.__name__ == spec.output_activation
    labels = group_labels(spec)
    assert sum(len(v) for v in labels.values()) == spec.output_width
    embedding_count = 0 if spec.embedding is None else 1
    assert len(pickled_slots(spec, model)) == len(model.weights) - embedding_count


def test_label_vocabularies_are_vnlps() -> None:
    assert group_labels(MODELS["spucontext_pos"])["pos"][:4] == ["", "NOUN", "PUNCT", "VERB"]
    assert group_labels(MODELS["spucontext_ner"])["ner"] == ["", "O", "ORG", "PER", "LOC"]
    dp = group_labels(MODELS["spucontext_dp"])
    assert dp["arc"][0] == "0" and len(dp["arc"]) == 41
    assert dp["rel"][1:3] == ["punct", "root"]
