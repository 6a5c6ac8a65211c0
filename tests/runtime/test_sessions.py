"""Sessions: the provider really used is logged and recorded; thread spin-waiting is off by default."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from onnx import TensorProto, helper

from vnlp_batch.config.schema import RuntimeConfig
from vnlp_batch.runtime import sessions


@pytest.fixture(scope="module")
def tiny_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny", [x], [y])
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8
    ).SerializeToString()


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch) -> None:
    """Each test starts as a new process: nothing reported yet, no provider known to have failed."""
    monkeypatch.setattr(sessions, "_reported", set())
    monkeypatch.setattr(sessions, "_failed", set())


def test_missing_cuda_falls_back_to_cpu_and_says_so(tiny_model, caplog) -> None:
    with caplog.at_level(logging.INFO, logger=sessions.log.name):
        session = sessions.make_session(
            tiny_model, RuntimeConfig(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        )
    out = session.run(None, {"x": np.array([[-1.0, 2.0]], np.float32)})[0]
    np.testing.assert_array_equal(out, [[0.0, 2.0]])
    if "CUDAExecutionProvider" in session.get_providers():
        pytest.skip("this machine has CUDA")
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert (
        "asked for CUDAExecutionProvider, CPUExecutionProvider, running on CPUExecutionProvider"
        in caplog.text
    )


@pytest.mark.parametrize("spin_wait", [False, True])
def test_spin_waiting_follows_the_setting(tiny_model, spin_wait: bool) -> None:
    session = sessions.make_session(
        tiny_model, RuntimeConfig(providers=["CPUExecutionProvider"], spin_wait=spin_wait)
    )
    entry = session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
    assert entry == ("1" if spin_wait else "0")


def test_a_provider_that_failed_is_not_asked_for_again(tiny_model, monkeypatch) -> None:
    import onnxruntime as ort

    # As on a machine with the GPU wheel and no CUDA libraries: listed as available, never obtained.
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    asked: list[list[str]] = []
    real_session = ort.InferenceSession

    def session(model, options, providers):
        asked.append(list(providers))
        return real_session(model, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "InferenceSession", session)
    runtime = RuntimeConfig(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    first = sessions.make_session(tiny_model, runtime)
    second = sessions.make_session(tiny_model, runtime)

    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]]
    assert first.get_providers() == second.get_providers() == ["CPUExecutionProvider"]
