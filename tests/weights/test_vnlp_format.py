"""Tests for reading and writing VNLP's weight and matrix files."""

from __future__ import annotations

import codecs
import io
import os
import pathlib
import pickle
import random
import shlex
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnlp_batch.weights import vnlp_format
from vnlp_batch.weights.vnlp_format import (
    WeightsFileError,
    check_weight_shapes,
    read_matrix_file,
    read_weights_file,
    write_matrix_file,
    write_weights_file,
)


def _sample_arrays() -> list[np.ndarray]:
    """Float32 arrays of the shapes a Keras model's weights come in, including odd ones."""
    rng = np.random.default_rng(0)
    shapes: list[tuple[int, ...]] = [(3, 4), (7,), (2, 3, 5), (), (0, 4), (16, 48)]
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def _numpy1_dumps(arrays: list[np.ndarray]) -> bytes:
    """`pickle.dumps(arrays, protocol=3)` as numpy 1 writes it (test_writes_the_bytes_numpy_1_writes)."""
    return pickle.dumps(arrays, protocol=3).replace(
        b"cnumpy._core.multiarray\n_reconstruct\n", b"cnumpy.core.multiarray\n_reconstruct\n"
    )


def _assert_same_arrays(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert type(got) is np.ndarray
        assert got.dtype == np.float32
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


class _Reduce:
    """An object that unpickles as ``func(*args)``: what a malicious weights file would contain."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.func, self.args


# Each builds a payload that would create the file at the given path when unpickled normally.
_PAYLOADS: dict[str, Callable[[Path], object]] = {
    "path_touch": lambda marker: _Reduce(pathlib.Path.touch, (marker,)),
    "os_system": lambda marker: _Reduce(os.system, (f"touch {shlex.quote(str(marker))}",)),
    "builtins_open": lambda marker: _Reduce(open, (str(marker), "w")),
}


# --- writing and reading the exact format -----------------------------------------------------------


# What numpy 1.26.4 (numpy 1 wrote VNLP's files) writes for `pickle.dumps(NUMPY1_ARRAYS, protocol=3)`,
# made with `pip install numpy==1.26.4` in a separate venv: VNLP's exact format, byte for byte.
NUMPY1_PICKLE = bytes.fromhex(
    "80035d710028636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7101636e756d"
    "70790a6e6461727261790a71024b008571034301627104877105527106284b014b024b03867107636e756d70790a6474"
    "7970650a7108580200000066347109898887710a52710b284b0358010000003c710c4e4e4e4affffffff4affffffff4b"
    "0074710d62894318000000000000803f0000004000004040000080400000a040710e74710f62680168024b0085711068"
    "04877111527112284b014b034b04867113680b894330000000000000803f0000004000004040000080400000a0400000"
    "c0400000e04000000041000010410000204100003041711474711562680168024b008571166804877117527118284b01"
    "4b00857119680b894300711a74711b62680168024b0085711c680487711d52711e284b014b0185711f680b8943040000"
    "c03f712074712162652e"
)


def _numpy1_arrays() -> list[np.ndarray]:
    return [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),  # written C-contiguous
        np.zeros(0, np.float32),
        np.full(1, 1.5, np.float32),
    ]


def test_writes_the_bytes_numpy_1_writes(tmp_path: Path) -> None:
    arrays = _numpy1_arrays()
    path = tmp_path / "NER_SPUContext_prod.weights"

    write_weights_file(path, arrays)

    assert path.read_bytes() == NUMPY1_PICKLE  # whichever numpy writes it
    _assert_same_arrays(read_weights_file(path), [np.ascontiguousarray(a) for a in arrays])
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind
    (loaded,) = read_weights_file(path)[1:2]
    assert loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, arrays[1])


def test_round_trip_is_vnlp_exact_format(tmp_path: Path) -> None:
    arrays = _sample_arrays()
    path = tmp_path / "NER_SPUContext_prod.weights"

    write_weights_file(path, arrays)

    assert path.read_bytes() == _numpy1_dumps(arrays)
    _assert_same_arrays(pickle.loads(path.read_bytes()), arrays)  # VNLP's plain pickle.load reads it
    _assert_same_arrays(read_weights_file(path), arrays)


def test_write_refuses_non_float32(tmp_path: Path) -> None:
    path = tmp_path / "x.weights"
    with pytest.raises(WeightsFileError, match="float64") as info:
        write_weights_file(path, [np.zeros(3, np.float32), np.zeros(3, np.float64)])
    assert str(path) in str(info.value)
    with pytest.raises(WeightsFileError, match="item 0"):
        write_weights_file(path, [[1.0, 2.0]])  # type: ignore[list-item]
    assert not path.exists()


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.weights"
    write_weights_file(path, [np.ones(3, np.float32)])
    before = path.read_bytes()

    real_fsync = os.fsync

    def broken_fsync(fd: int) -> None:  # the bytes are in the temporary when the disk fills
        real_fsync(fd)
        raise OSError("disk full")

    monkeypatch.setattr(vnlp_format.os, "fsync", broken_fsync)
    with pytest.raises(WeightsFileError, match="disk full") as info:
        write_weights_file(path, [np.zeros(5, np.float32)])

    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_reads_plain_pickles_of_any_protocol(tmp_path: Path, protocol: int) -> None:
    arrays = _sample_arrays()
    path = tmp_path / "x.weights"
    with path.open("wb") as f:
        pickle.dump(arrays, f, protocol=protocol)

    _assert_same_arrays(read_weights_file(path), arrays)


def test_read_only_protocol5_arrays_come_back_writable(tmp_path: Path) -> None:
    # Protocol 5 stores a read-only array's data as bytes, which numpy would view without copying.
    array = np.arange(6, dtype=np.float32)
    array.setflags(write=False)
    path = tmp_path / "x.weights"
    path.write_bytes(pickle.dumps([array], protocol=5))

    (loaded,) = read_weights_file(path)

    assert loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


def test_reads_a_tuple_of_arrays(tmp_path: Path) -> None:
    arrays = _sample_arrays()
    path = tmp_path / "x.weights"
    path.write_bytes(pickle.dumps(tuple(arrays), protocol=3))

    _assert_same_arrays(read_weights_file(path), arrays)


@pytest.mark.parametrize("protocol", [2, 3])
def test_reads_numpy_1x_pickles_without_warnings(tmp_path: Path, protocol: int) -> None:
    # numpy 1.x (which wrote VNLP's files) names numpy.core.multiarray where numpy 2 names numpy._core.
    arrays = _sample_arrays()
    data = pickle.dumps(arrays, protocol=protocol)
    assert b"numpy._core.multiarray\n_reconstruct" in data
    path = tmp_path / "x.weights"
    path.write_bytes(data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same_arrays(read_weights_file(path), arrays)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        hnp.arrays(
            np.float32,
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
            elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
        ),
        max_size=5,
    )
)
def test_round_trip_property(arrays: list[np.ndarray]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.weights"
        write_weights_file(path, arrays)
        assert path.read_bytes() == _numpy1_dumps(arrays)
        loaded = read_weights_file(path)
    assert [a.shape for a in loaded] == [a.shape for a in arrays]
    for got, want in zip(loaded, arrays, strict=True):
        assert got.tobytes() == want.tobytes()


# --- refusing what is not a plain list of arrays ----------------------------------------------------


@pytest.mark.parametrize("payload", sorted(_PAYLOADS))
def test_payloads_really_run_under_plain_pickle(tmp_path: Path, payload: str) -> None:
    # Proves the next test's payloads are live: the default unpickler does create the marker.
    marker = tmp_path / "pwned"
    (result,) = pickle.loads(pickle.dumps([_PAYLOADS[payload](marker)], protocol=3))
    if hasattr(result, "close"):  # the open() payload returns a file object
        result.close()
    assert marker.exists()


@pytest.mark.parametrize("payload", sorted(_PAYLOADS))
@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_malicious_pickle_is_refused(tmp_path: Path, payload: str, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.weights"
    path.write_bytes(pickle.dumps([np.zeros(2, np.float32), _PAYLOADS[payload](marker)], protocol=protocol))

    with pytest.raises(WeightsFileError) as info:
        read_weights_file(path)

    message = str(info.value)
    assert str(path) in message
    assert "refused to load global" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "obj"),
    [
        ("codecs_rot13", _Reduce(codecs.encode, ("abc", "rot13"))),
        ("codecs_not_str", _Reduce(codecs.encode, (b"abc", "latin1"))),
        ("bytes_with_size", _Reduce(bytes, (10,))),
    ],
)
def test_protocol2_helpers_only_allow_their_own_use(tmp_path: Path, name: str, obj: object) -> None:
    path = tmp_path / f"{name}.weights"
    path.write_bytes(pickle.dumps([obj], protocol=2))

    with pytest.raises(WeightsFileError) as info:
        read_weights_file(path)
    assert str(path) in str(info.value)


def _valid_pickle() -> bytes:
    return pickle.dumps(_sample_arrays(), protocol=3)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("dict", pickle.dumps({"w": np.zeros(2, np.float32)}, protocol=3), "found dict"),
        ("str_in_list", pickle.dumps([np.zeros(2, np.float32), "hello"], protocol=3), "item 1 is str"),
        ("bare_array", pickle.dumps(np.zeros(2, np.float32), protocol=3), "found numpy.ndarray"),
        ("object_array", pickle.dumps([np.array([1, "a"], dtype=object)], protocol=3), "Python objects"),
        ("truncated", _valid_pickle()[: len(_valid_pickle()) // 2], "not a valid VNLP weights pickle"),
        ("empty", b"", "empty"),
        ("random", random.Random(1).randbytes(4096), "not a valid VNLP weights pickle (UnpicklingError"),
        ("trailing", _valid_pickle() + b"\x00junk", "after the end of the pickle"),
        ("npy_data", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', ...}", "not a valid VNLP weights pickle"),
    ],
)
def test_bad_weights_files_are_refused(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    path = tmp_path / f"{name}.weights"
    path.write_bytes(data)

    with pytest.raises(WeightsFileError) as info:
        read_weights_file(path)

    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_weights_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.weights"
    with pytest.raises(WeightsFileError, match="cannot read") as info:
        read_weights_file(path)
    assert str(path) in str(info.value)


# --- checking shapes and dtypes ---------------------------------------------------------------------


def _expected_of(arrays: list[np.ndarray]) -> list[tuple[tuple[int, ...], str]]:
    return [(a.shape, "float32") for a in arrays]


def test_check_weight_shapes_accepts_matching_arrays(tmp_path: Path) -> None:
    arrays = _sample_arrays()
    checked = check_weight_shapes(tmp_path / "x.weights", arrays, _expected_of(arrays))
    assert all(got is want for got, want in zip(checked, arrays, strict=True))


def test_check_weight_shapes_count_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "DP_TreeStack_prod.weights"
    arrays = _sample_arrays()
    with pytest.raises(WeightsFileError) as info:
        check_weight_shapes(path, arrays[:2], _expected_of(arrays))
    message = str(info.value)
    assert str(path) in message
    assert f"expected {len(arrays)} weight arrays, found 2" in message


def test_check_weight_shapes_wrong_shape_at_index_3(tmp_path: Path) -> None:
    path = tmp_path / "Stemmer_Shen_prod.weights"
    arrays = [np.zeros((2, 2), np.float32) for _ in range(5)]
    arrays[3] = np.zeros((5, 4), np.float32)
    expected = [((2, 2), "float32")] * 5
    expected[3] = ((4, 5), "float32")

    with pytest.raises(WeightsFileError) as info:
        check_weight_shapes(path, arrays, expected)

    message = str(info.value)
    assert path.name in message
    assert "array 3:" in message
    assert "expected shape (4, 5)" in message
    assert "found shape (5, 4)" in message
    assert "array 0" not in message  # only the mismatching array is reported


def test_check_weight_shapes_wrong_dtype(tmp_path: Path) -> None:
    path = tmp_path / "x.weights"
    arrays = [np.zeros((2, 3), np.float32), np.zeros((4,), np.float64)]

    with pytest.raises(WeightsFileError) as info:
        check_weight_shapes(path, arrays, [((2, 3), "float32"), ((4,), np.dtype(np.float32))])

    message = str(info.value)
    assert str(path) in message
    assert "array 1:" in message
    assert "dtype float32" in message
    assert "found shape (4,) dtype float64" in message


def test_check_weight_shapes_casts_when_allowed(tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).standard_normal((10, 4))
    (checked,) = check_weight_shapes(
        tmp_path / "x.matrix", [matrix], [((10, 4), "float32")], allow_cast_from=("float64",)
    )
    assert checked.dtype == np.float32
    np.testing.assert_array_equal(checked, matrix.astype(np.float32))


def test_check_weight_shapes_refuses_overflowing_cast(tmp_path: Path) -> None:
    matrix = np.array([1.0, 1e300])
    with pytest.raises(WeightsFileError, match="overflows 1 value"):
        check_weight_shapes(
            tmp_path / "x.matrix", [matrix], [((2,), "float32")], allow_cast_from=("float64",)
        )


def test_check_weight_shapes_cast_does_not_hide_shape_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsFileError, match=r"found shape \(3,\)"):
        check_weight_shapes(
            tmp_path / "x.matrix", [np.zeros(3)], [((2,), "float32")], allow_cast_from=("float64",)
        )


# --- embedding matrices -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_round_trip(tmp_path: Path, dtype: str) -> None:
    matrix = np.random.default_rng(0).standard_normal((50, 8)).astype(dtype)
    path = tmp_path / "SPUTokenized_word_embedding_16k.matrix"

    write_matrix_file(path, matrix)

    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no ".npy" added, no temp file left
    buffer = io.BytesIO()
    np.save(buffer, matrix)
    assert path.read_bytes() == buffer.getvalue()
    loaded = read_matrix_file(path)
    assert loaded.dtype == matrix.dtype
    np.testing.assert_array_equal(loaded, matrix)


def test_matrix_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.matrix"
    with path.open("wb") as f:
        np.save(f, np.array([_Reduce(pathlib.Path.touch, (marker,))], dtype=object), allow_pickle=True)

    with pytest.raises(WeightsFileError) as info:
        read_matrix_file(path)

    assert str(path) in str(info.value)
    assert "allow_pickle" in str(info.value)
    assert not marker.exists()


def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.zeros(3))
    return buffer.getvalue()


def _truncated_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ones((100, 10), np.float32))
    return buffer.getvalue()[:300]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("pickle", pickle.dumps([np.zeros(3, np.float32)], protocol=3), "not a .npy-format matrix file"),
        ("npz", _npz_bytes(), "not a .npy-format matrix file (starts with b'PK"),
        ("truncated", _truncated_npy(), "not a valid matrix file"),
        ("empty", b"", "not a .npy-format matrix file (starts with b'')"),
    ],
)
def test_bad_matrix_files_are_refused(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    path = tmp_path / f"{name}.matrix"
    path.write_bytes(data)
    with pytest.raises(WeightsFileError) as info:
        read_matrix_file(path)
    assert str(info.value).startswith(f"{path}: {expected}")


def test_write_matrix_refuses_object_arrays(tmp_path: Path) -> None:
    path = tmp_path / "x.matrix"
    with pytest.raises(WeightsFileError, match="Python objects") as info:
        write_matrix_file(path, np.array([1, "a"], dtype=object))
    assert str(path) in str(info.value)
    assert not path.exists()
