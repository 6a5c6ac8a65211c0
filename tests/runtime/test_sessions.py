"""Sessions: CUDA is asked for only where it can run, the provider a session gets is the one expected, logged
and recorded; thread spin-waiting is off by default."""

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
    monkeypatch.setattr(sessions, "_warned", set())


DEFAULT = RuntimeConfig(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])


def test_missing_cuda_is_not_asked_for_one_warning_says_why(tiny_model, caplog, monkeypatch) -> None:
    import onnxruntime as ort

    if sessions.cuda_problem() is None:
        pytest.skip("this machine has CUDA")
    asked: list[list[str]] = []
    real_session = ort.InferenceSession

    def session(model, options, providers):
        asked.append(list(providers))
        return real_session(model, options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", session)
    with caplog.at_level(logging.INFO, logger=sessions.log.name):
        first = sessions.make_session(tiny_model, DEFAULT)
        second = sessions.make_session(tiny_model, DEFAULT)
    out = first.run(None, {"x": np.array([[-1.0, 2.0]], np.float32)})[0]
    np.testing.assert_array_equal(out, [[0.0, 2.0]])
    # onnxruntime never tries CUDA, so it has no error of its own to print.
    assert asked == [["CPUExecutionProvider"]] * 2
    assert first.get_providers() == second.get_providers() == ["CPUExecutionProvider"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"runtime.providers asks for CUDAExecutionProvider, but CUDA cannot run here "
        f"({sessions.cuda_problem()}); running on CPUExecutionProvider (runtime=cpu asks for the CPU only)"
    ]
    assert "onnxruntime: running on CPUExecutionProvider" in caplog.text


@pytest.mark.parametrize(
    "providers", [["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]]
)
def test_the_expected_provider_is_the_one_a_session_gets(tiny_model, providers: list[str]) -> None:
    # The resume key holds it: an all-done rerun is recognised from session_providers alone.
    runtime = RuntimeConfig(providers=providers)
    expected = sessions.session_providers(runtime)[0]
    assert sessions.make_session(tiny_model, runtime).get_providers()[0] == expected


def test_cuda_probe_reports_what_is_missing_without_onnxruntime_or_its_errors() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; from vnlp_batch.runtime import sessions; print(sessions.cuda_problem()); "
        "print('onnxruntime' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    problem, imported = done.stdout.splitlines()
    assert imported == "False"
    assert done.stderr == ""
    assert problem == str(sessions.cuda_problem())
    if problem != "None":
        assert "\n" not in problem and "libcublas" not in problem


@pytest.mark.parametrize("spin_wait", [False, True])
def test_spin_waiting_follows_the_setting(tiny_model, spin_wait: bool) -> None:
    session = sessions.make_session(
        tiny_model, RuntimeConfig(providers=["CPUExecutionProvider"], spin_wait=spin_wait)
    )
    entry = session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
    assert entry == ("1" if spin_wait else "0")


def test_a_provider_that_failed_is_not_asked_for_again(tiny_model, monkeypatch) -> None:
    import onnxruntime as ort

    # As on a machine where the probe found CUDA but a session could not get it.
    monkeypatch.setattr(sessions, "cuda_problem", lambda: None)
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
