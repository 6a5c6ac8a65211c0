"""Loading weights into VNLP's architecture: untrusted files are checked before set_weights."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest

from vnlp_batch.config.schema import WeightsConfig
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.models.keras_build import build_keras_model, load_weights
from vnlp_batch.weights.sources import resolve_weights
from vnlp_batch.weights.vnlp_format import WeightsFileError, read_weights_file, write_weights_file

SPEC = MODELS["spucontext_pos"]
# The refusal tests load into the session's shared model (`keras_model`): a refused file must never
# reach set_weights, so what the model held before does not matter to them.


@pytest.fixture
def user_dir(tmp_path, synthetic_weights):
    """A `weights=path` directory: a copy of the synthetic files the test can damage."""
    for name in (SPEC.weights_file, SPEC.embedding.file):
        shutil.copy(synthetic_weights.directory / name, tmp_path / name)
    return tmp_path


def test_good_files_load(user_dir) -> None:
    model = build_keras_model(SPEC)  # fresh: a shared model could already hold these weights
    load_weights(SPEC, model, user_dir)
    assert np.array_equal(model.get_weights()[-1], read_weights_file(user_dir / SPEC.weights_file)[-1])


def test_wrong_shape_names_file_index_and_shapes(user_dir, keras_model) -> None:
    arrays = read_weights_file(user_dir / SPEC.weights_file)
    arrays[3] = np.ascontiguousarray(arrays[3].T)  # (128, 384) -> (384, 128)
    write_weights_file(user_dir / SPEC.weights_file, arrays)
    with pytest.raises(WeightsFileError) as error:
        load_weights(SPEC, keras_model(SPEC.name), user_dir)
    message = str(error.value)
    assert SPEC.weights_file in message and "array 3" in message
    assert "(128, 384)" in message and "(384, 128)" in message


def test_wrong_count_is_refused(user_dir, keras_model) -> None:
    arrays = read_weights_file(user_dir / SPEC.weights_file)
    write_weights_file(user_dir / SPEC.weights_file, arrays[:-1])
    with pytest.raises(WeightsFileError, match=SPEC.weights_file):
        load_weights(SPEC, keras_model(SPEC.name), user_dir)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_malicious_pickle_in_a_user_directory_runs_nothing(
    user_dir, tmp_path_factory, sample_texts, keras_model
) -> None:
    marker = tmp_path_factory.mktemp("attack") / "pwned"
    with open(user_dir / SPEC.weights_file, "wb") as handle:
        pickle.dump([np.zeros(3, np.float32), _Payload(marker)], handle, protocol=3)
    weights = resolve_weights(WeightsConfig(source="path", dir=str(user_dir)), user_dir, [SPEC], sample_texts)
    with pytest.raises(WeightsFileError) as error:
        load_weights(SPEC, keras_model(SPEC.name), weights.directory)
    assert SPEC.weights_file in str(error.value)
    assert not marker.exists()


def test_path_source_lists_missing_files(tmp_path, sample_texts) -> None:
    with pytest.raises(FileNotFoundError, match=r"PoS_SPUContext_prod\.weights"):
        resolve_weights(WeightsConfig(source="path", dir=str(tmp_path)), tmp_path, [SPEC], sample_texts)
