"""VNLP's on-disk weight formats, written exactly and read without trusting the file.

VNLP (``vngrs-nlp``) stores each model's trainable weights as ``<Model>_prod.weights``: a pickle
(protocol 3) of a ``list`` of C-contiguous float32 ``numpy.ndarray`` (``model.get_weights()`` minus the
frozen word embedding). Word embeddings are separate ``*.matrix`` files in ``.npy`` format, written by
``np.save`` into an open file so the name keeps its ``.matrix`` suffix.

Weight files come over the network, so they are untrusted input: ``pickle.load`` would call whatever the
file names. :func:`read_weights_file` uses an unpickler that can only rebuild plain numpy arrays, and
:func:`read_matrix_file` refuses pickled object arrays.
"""

from __future__ import annotations

import os
import pickle
import reprlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from vnlp_batch.files import atomic_open, atomic_write_bytes

__all__ = [
    "WEIGHTS_PICKLE_PROTOCOL",
    "WeightsFileError",
    "check_weight_shapes",
    "read_matrix_file",
    "read_weights_file",
    "write_matrix_file",
    "write_weights_file",
]

WEIGHTS_PICKLE_PROTOCOL = 3
"""The pickle protocol of VNLP's ``*.weights`` files."""

# The GLOBAL opcode (protocols 0-3) naming numpy's array rebuilder, as numpy 2 and numpy 1 write it.
_NUMPY2_RECONSTRUCT = b"cnumpy._core.multiarray\n_reconstruct\n"
_NUMPY1_RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\n"
_NPY_MAGIC_PREFIX = b"\x93NUMPY"
# Short enough that an error message quoting untrusted content stays one readable line.
_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


class WeightsFileError(ValueError):
    """A weights or matrix file is unreadable, malformed, unsafe, or not what the model expects.

    Every message starts with the path of the file concerned.
    """


def _numpy_unpickle_function(protocol: int) -> Callable[..., Any]:
    """Return the function numpy's ndarray pickles of ``protocol`` call to rebuild an array."""
    # Asked of numpy rather than imported by name: numpy 1.x keeps these in numpy.core, numpy 2 in
    # numpy._core, and importing numpy.core on numpy 2 goes through a deprecated shim.
    reduced = np.empty(1, dtype=np.float32).__reduce_ex__(protocol)
    if not isinstance(reduced, tuple) or not callable(reduced[0]):
        raise ImportError(f"cannot find the function numpy uses to unpickle arrays (protocol {protocol})")
    func: Callable[..., Any] = reduced[0]
    return func


def _latin1_encode(text: object, encoding: object = "latin1", errors: object = "strict") -> bytes:
    """Stand in for ``_codecs.encode`` as protocol 2 pickles use it: ``str`` to ``bytes`` via latin-1."""
    # Protocol 2 has no bytes opcode, so Python 3 writes array data as _codecs.encode(text, "latin1").
    # Only that use is let through: the real function would look up any codec the file names.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError("_codecs.encode is only allowed as encode(<str>, 'latin1')")
    return text.encode("latin-1")


def _empty_bytes(*args: object) -> bytes:
    """Stand in for ``bytes`` as protocol 2 pickles use it: ``bytes()`` for an empty array's data."""
    # bytes(n) would allocate n bytes on the file's say-so, so nothing but the no-argument call is allowed.
    if args:
        raise pickle.UnpicklingError("bytes is only allowed with no arguments")
    return b""


_RECONSTRUCT = _numpy_unpickle_function(3)
_FROMBUFFER = _numpy_unpickle_function(5)

# Everything numpy 2.4 emits when pickling plain arrays (checked with pickletools): protocols 3 and 4 name
# only _reconstruct, ndarray and dtype; protocol 2 adds _codecs.encode and __builtin__.bytes; protocol 5
# uses numeric._frombuffer instead of _reconstruct. VNLP's files were written by numpy 1.x, hence the
# numpy.core spellings. numpy.core.multiarray.scalar is deliberately absent: it only appears for numpy
# scalars, never inside arrays of numbers.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
    # An overridden find_class sees the names as written, before Python 2 names are mapped to Python 3.
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and nothing that runs code."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        """Read the pickle from ``file``; ``path`` names it in error messages."""
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed numpy global, refuse everything else."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise WeightsFileError(
                f"{self._path}: refused to load global {module}.{name}: a VNLP weights file only needs "
                "numpy's array classes, so this file is corrupt or malicious"
            ) from None


def _describe(obj: object) -> str:
    """Name the type of ``obj`` and show a short, truncated repr of it."""
    kind = type(obj)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"{name} {_REPR.repr(obj)}"


def write_weights_file(path: Path, arrays: Sequence[np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` in VNLP's ``*.weights`` format, atomically.

    The file is ``pickle.dumps(list_of_arrays, protocol=3)`` of little-endian, C-contiguous float32
    arrays, byte for byte as numpy 1 (which wrote VNLP's files) pickles them. Arrays that are not
    float32 are refused rather than silently cast.
    """
    path = Path(path)
    prepared: list[np.ndarray] = []
    for index, array in enumerate(arrays):
        if not isinstance(array, np.ndarray):
            raise WeightsFileError(f"{path}: item {index} is {_describe(array)}, expected a numpy array")
        if array.dtype.kind != "f" or array.dtype.itemsize != 4:
            raise WeightsFileError(
                f"{path}: array {index} has dtype {array.dtype}; VNLP weights are float32, cast it first"
            )
        # np.asarray returns the array itself when it already fits, so the pickle is byte-for-byte what
        # pickling the caller's list would give.
        prepared.append(np.asarray(array, dtype="<f4", order="C"))
    data = pickle.dumps(prepared, protocol=WEIGHTS_PICKLE_PROTOCOL)
    # numpy 2 names its array rebuilder numpy._core.multiarray._reconstruct where numpy 1, which wrote
    # VNLP's files, wrote numpy.core.multiarray._reconstruct. Every numpy loads both; writing numpy 1's
    # spelling keeps the bytes VNLP's whatever numpy writes them (synthetic files are pinned by sha256).
    data = data.replace(_NUMPY2_RECONSTRUCT, _NUMPY1_RECONSTRUCT)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise WeightsFileError(f"{path}: cannot write weights file: {exc}") from exc


def read_weights_file(path: Path) -> list[np.ndarray]:
    """Read a VNLP ``*.weights`` file without running any code it contains.

    Only pickles of a list or tuple of plain numpy arrays (numpy 1.x or 2.x, any pickle protocol) are
    accepted; anything else raises :class:`WeightsFileError` naming the file.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise WeightsFileError(f"{path}: weights file is empty (0 bytes)")
            obj = _ArrayOnlyUnpickler(f, path).load()
            trailing = f.read(1)
    except WeightsFileError:
        raise
    except OSError as exc:
        raise WeightsFileError(f"{path}: cannot read weights file: {exc}") from exc
    except Exception as exc:
        # Garbage and truncated pickles fail in many ways (UnpicklingError, EOFError, ValueError from
        # numpy's __setstate__, MemoryError for absurd sizes, ...); all mean the same to the caller.
        raise WeightsFileError(
            f"{path}: not a valid VNLP weights pickle ({type(exc).__name__}: {exc})"
        ) from exc
    if trailing:
        raise WeightsFileError(f"{path}: unexpected data after the end of the pickle; file is corrupt")
    if not isinstance(obj, (list, tuple)):
        raise WeightsFileError(f"{path}: expected a list of numpy arrays, found {_describe(obj)}")
    arrays: list[np.ndarray] = []
    for index, item in enumerate(obj):
        if type(item) is not np.ndarray:
            raise WeightsFileError(f"{path}: item {index} is {_describe(item)}, expected a numpy array")
        if item.dtype.hasobject:
            raise WeightsFileError(
                f"{path}: array {index} has dtype {item.dtype}, which holds Python objects, not weights"
            )
        # Protocol 5 arrays can be views of read-only bytes; callers expect arrays they own.
        arrays.append(item if item.flags.writeable else item.copy())
    return arrays


def write_matrix_file(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` in ``.npy`` format, atomically, keeping the ``*.matrix`` name."""
    path = Path(path)
    if not isinstance(array, np.ndarray):
        raise WeightsFileError(f"{path}: expected a numpy array, got {_describe(array)}")
    if array.dtype.hasobject:
        raise WeightsFileError(f"{path}: dtype {array.dtype} holds Python objects and cannot be stored")
    try:
        # np.save appends ".npy" to a file name but not to an open file.
        with atomic_open(path, "wb") as f:
            np.save(f, array, allow_pickle=False)
    except OSError as exc:
        raise WeightsFileError(f"{path}: cannot write matrix file: {exc}") from exc


def read_matrix_file(path: Path) -> np.ndarray:
    """Read a ``*.matrix`` (``.npy`` format) file, refusing pickled object arrays."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(len(_NPY_MAGIC_PREFIX))
            # Checked here because np.load would otherwise also open .npz archives or try pickles.
            if magic != _NPY_MAGIC_PREFIX:
                raise WeightsFileError(f"{path}: not a .npy-format matrix file (starts with {magic!r})")
            f.seek(0)
            array = np.load(f, allow_pickle=False)
    except WeightsFileError:
        raise
    except OSError as exc:
        raise WeightsFileError(f"{path}: cannot read matrix file: {exc}") from exc
    except Exception as exc:
        # ValueError for object arrays or short data, MemoryError for absurd headers, ...
        raise WeightsFileError(f"{path}: not a valid matrix file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(array, np.ndarray):
        raise WeightsFileError(f"{path}: expected a numpy array, found {_describe(array)}")
    return array


def check_weight_shapes(
    path: Path,
    arrays: Sequence[np.ndarray],
    expected: Sequence[tuple[tuple[int, ...], np.dtype[Any] | str]],
    *,
    allow_cast_from: Iterable[np.dtype[Any] | str] = (),
) -> list[np.ndarray]:
    """Check ``arrays``, read from ``path``, against the ``(shape, dtype)`` pairs the model expects.

    An array whose dtype is listed in ``allow_cast_from`` is cast to the expected dtype instead of being
    refused (for embedding matrices whose stored dtype is unknown); a cast that would overflow is refused.
    Returns the arrays, cast where allowed. Raises :class:`WeightsFileError` naming the file and every
    mismatching array's index, expected and actual shape and dtype.
    """
    path = Path(path)
    if len(arrays) != len(expected):
        raise WeightsFileError(f"{path}: expected {len(expected)} weight arrays, found {len(arrays)}")
    castable = {np.dtype(d) for d in allow_cast_from}
    problems: list[str] = []
    checked: list[np.ndarray] = []
    for index, (array, (shape, dtype)) in enumerate(zip(arrays, expected, strict=True)):
        want_shape = tuple(int(n) for n in shape)
        want_dtype = np.dtype(dtype)
        mismatch = (
            f"array {index}: expected shape {want_shape} dtype {want_dtype}, "
            f"found shape {array.shape} dtype {array.dtype}"
        )
        if array.shape != want_shape:
            problems.append(mismatch)
        elif array.dtype == want_dtype:
            checked.append(array)
        elif array.dtype not in castable:
            problems.append(mismatch)
        elif not np.can_cast(array.dtype, want_dtype, casting="same_kind"):
            problems.append(f"{mismatch}, and {array.dtype} cannot be cast to {want_dtype}")
        else:
            # Overflow is reported below as a mismatch, so numpy's own warning would only be noise.
            with np.errstate(over="ignore", invalid="ignore"):
                cast = array.astype(want_dtype)
            if want_dtype.kind == "f" and array.dtype.kind == "f":
                overflowed = int(np.count_nonzero(np.isinf(cast) & np.isfinite(array)))
                if overflowed:
                    problems.append(
                        f"{mismatch}, and casting to {want_dtype} overflows {overflowed} value(s)"
                    )
                    continue
            checked.append(cast)
    if problems:
        raise WeightsFileError(
            f"{path}: {len(problems)} weight array(s) do not match the model: " + "; ".join(problems)
        )
    return checked
