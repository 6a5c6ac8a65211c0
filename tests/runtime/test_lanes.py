"""Lanes: a graph call's rows split into concurrent runs give the rows' outputs, in order."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from vnlp_batch.config.schema import RuntimeConfig
from vnlp_batch.inference.onnx_model import OnnxModel
from vnlp_batch.models.declarations import MODELS
from vnlp_batch.runtime import lanes
from vnlp_batch.runtime.sessions import make_session


@pytest.mark.parametrize(
    ("rows", "n_lanes", "max_rows"),
    [(1, 2, 4096), (31, 2, 4096), (32, 2, 4096), (1000, 2, 256), (999, 3, 100)],
)
def test_pieces_cover_the_rows_in_order_and_feed_every_lane(rows: int, n_lanes: int, max_rows: int) -> None:
    pieces = lanes.row_pieces(rows, n_lanes, max_rows)
    assert [i for p in pieces for i in range(rows)[p]] == list(range(rows))
    assert max(p.stop - p.start for p in pieces) <= max_rows
    if rows >= n_lanes * lanes.MIN_ROWS:
        assert len(pieces) % n_lanes == 0
        sizes = [p.stop - p.start for p in pieces]
        assert max(sizes) - min(sizes) <= 1
    else:
        assert len(pieces) == 1


def test_threads_are_shared_among_the_lanes(monkeypatch) -> None:
    from vnlp_batch.config import schema

    monkeypatch.setattr(schema, "available_cores", lambda: 8)
    assert RuntimeConfig(lanes=2).session_threads() == 4
    assert RuntimeConfig(lanes=2, intra_op_threads=2).session_threads() == 1
    assert RuntimeConfig(lanes=4, intra_op_threads=2).session_threads() == 1
    assert RuntimeConfig(lanes=1).session_threads() == 0  # onnxruntime's default: every core


class _Recording:
    """An InferenceSession that records each run's rows and thread."""

    def __init__(self, session) -> None:
        self.session = session
        self.runs: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def run(self, names, feed):
        out = self.session.run(names, feed)
        with self.lock:
            self.runs.append((len(next(iter(feed.values()))), threading.current_thread().name))
        return out

    def get_providers(self):
        return self.session.get_providers()


W = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)


def _row_model(n_lanes: int, max_rows: int) -> OnnxModel:
    """y = tanh(x @ W): a graph whose rows are independent, on a CPU session."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 5])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Tanh", ["xw"], ["y"])]
    graph = helper.make_graph(nodes, "rows", [x], [y], [numpy_helper.from_array(W, "w")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    cpu = RuntimeConfig(providers=["CPUExecutionProvider"], lanes=n_lanes)
    session = make_session(proto.SerializeToString(), cpu)
    return OnnxModel(
        MODELS["sentiment"], None, session, ["x"], [[None, 8]], max_rows, "", [np.dtype(np.float32)], n_lanes
    )


@pytest.mark.parametrize("n_lanes", [1, 2])
def test_split_runs_give_the_rows_outputs_in_order(n_lanes: int) -> None:
    model = _row_model(n_lanes, max_rows=64)
    recording = _Recording(model.session)
    model.session = recording
    x = np.random.default_rng(1).standard_normal((200, 8)).astype(np.float32)
    (y,) = model.run_all([x])
    np.testing.assert_allclose(y, np.tanh(x @ W), rtol=1e-5, atol=1e-6)
    sizes = sorted(rows for rows, _ in recording.runs)
    assert sum(sizes) == 200 and max(sizes) <= 64
    threads = {name for _, name in recording.runs}
    if n_lanes == 1:
        assert threads == {threading.current_thread().name}
    else:
        assert len(sizes) == 4  # 200 rows at most 64 a run: 4 pieces, a multiple of the lanes
        assert all(name.startswith("vnlp-lane") for name in threads)

    recording.runs.clear()
    model.run_all([x[:10]])  # too few rows to split
    assert recording.runs == [(10, threading.current_thread().name)]
