"""Session-wide fixtures: synthetic weights and the ONNX exports are built once and shared.

Set VNLP_BATCH_TEST_CACHE to a directory to keep them between runs (CI starts empty). On a cold cache
they are built by two worker processes first (`prebuilt`, cache_workers.py).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from vnlp_batch.config.schema import ExportConfig, RuntimeConfig, WeightsConfig
from vnlp_batch.models.declarations import MODELS

CPU = RuntimeConfig(providers=["CPUExecutionProvider"])


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """`(name, size="64k", read_only=False) -> a fresh tmpfs mounted at tmp_path/name`, unmounted after
    the test. A real full disk or read-only directory, which chmod cannot give root; the test is skipped
    where mounting is not allowed (not root, no CAP_SYS_ADMIN)."""
    mounted: list[Path] = []

    def mount(name: str, size: str = "64k", read_only: bool = False) -> Path:
        point = tmp_path / name
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        if shutil.which("mount") is None:
            pytest.skip("no mount command")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        # -l: a file the failed test still holds open must not fail the teardown
        subprocess.run(["umount", "-l", str(point)], check=True)


def fill(directory: Path) -> None:
    """Write a file in `directory` until its filesystem is full."""
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


@pytest.fixture
def full_disk(tmpfs: Callable[..., Path]) -> Path:
    """A directory on a filesystem with no space left (a filled 64 KiB tmpfs)."""
    directory = tmpfs("full")
    fill(directory)
    return directory


@pytest.fixture(scope="session")
def cpu_runtime() -> RuntimeConfig:
    return CPU


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = os.environ.get("VNLP_BATCH_TEST_CACHE")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("vnlp_batch_cache")


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    from vnlp_batch.corpus.sample import read_sample_sentences

    return read_sample_sentences()


@pytest.fixture(scope="session")
def prebuilt(cache_dir: Path, sample_texts: list[str]) -> None:
    """Fill a cold cache in parallel worker processes, one model per task (see cache_workers.py).

    Only a head start: `synthetic_weights` and `exports` below still resolve and export every model
    with the library itself, and do serially whatever a worker left undone.
    """
    from cache_workers import missing, prepare

    if (os.cpu_count() or 1) < 2:
        return
    todo = missing(cache_dir, sample_texts)
    if len(todo) < 2:
        return
    # Two workers: a worker peaks near 8 GB (as the session did when it built the cache itself), and
    # TensorFlow and onnxruntime already spread their heavy calls over every core.
    # spawn: TensorFlow is already imported here, and a forked TensorFlow can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        for _ in pool.map(prepare, todo, repeat(str(cache_dir)), repeat(sample_texts)):
            pass  # re-raises a worker's exception (an export that failed verification, say)


@pytest.fixture(scope="session")
def synthetic_weights(cache_dir: Path, sample_texts: list[str], prebuilt: None):
    """WeightSet of synthetic seed-0 files for all eight models."""
    from vnlp_batch.weights.sources import resolve_weights

    return resolve_weights(
        WeightsConfig(source="synthetic", seed=0), cache_dir, MODELS.values(), sample_texts
    )


@pytest.fixture(scope="session")
def exports(cache_dir: Path, sample_texts: list[str], synthetic_weights):
    """All eight models exported at opset 13 and verified against Keras (the export stage itself)."""
    from vnlp_batch.export.stage import export_models

    return export_models(MODELS.values(), synthetic_weights, ExportConfig(), CPU, cache_dir, sample_texts)


@pytest.fixture(scope="session")
def onnx_sessions(loaded):
    """A CPU onnxruntime session per model on its monolithic graph, from the shared exports (the one
    `loaded` made: the same file and session options as make_session(path, CPU))."""
    return {name: model.graphs["monolithic"].session for name, model in loaded.items()}


@pytest.fixture(scope="session")
def loaded(exports, cpu_runtime):
    """Every exported model loaded for fast decoding on CPU."""
    import dataclasses

    from vnlp_batch.inference.onnx_model import LoadedModel

    runtime = dataclasses.replace(cpu_runtime, decoder="fast")
    return {name: LoadedModel.load(m.graphs, runtime) for name, m in exports.models.items()}


@pytest.fixture(scope="session")
def keras_model() -> Callable[[str], Any]:
    """`name -> VNLP's Keras model for it`, each built once per session (a build traces every GRU, for
    seconds). The model is shared: a test that needs weights in it loads them itself."""
    from vnlp_batch.models.keras_build import build_keras_model

    built: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in built:
            built[name] = build_keras_model(MODELS[name])
        return built[name]

    return get


@pytest.fixture(scope="session")
def corpus(sample_texts):
    """The sample corpus with VNLP's Treebank tokens."""
    from vnlp.tokenizer import TreebankWordTokenize

    return sample_texts, [TreebankWordTokenize(t) for t in sample_texts]


@pytest.fixture(scope="session")
def ours(loaded, corpus):
    """vnlp-batch's annotations and probabilities for the whole corpus (fast decoders, batches of 64):
    {plan: (columns, probs, errors)} and {plan + "_chunked": dp_chunked flags}, see annotated.py."""
    from annotated import annotate_corpus

    return annotate_corpus(loaded, *corpus)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Every tie-aware comparison of the session (tests/agreement.py): steps compared and near-ties
    accepted, per model and comparison, each tie with the reference's margin."""
    from agreement import LEDGER

    lines = LEDGER.lines()
    if lines:
        terminalreporter.section(
            "tie-aware comparisons: ties accepted per model (bound: reference margin < 1e-5)"
        )
        for line in lines:
            terminalreporter.write_line(line)


# Tests write under tmp_path, never into the checkout (a relative output_dir once left an annotated
# corpus at the repository root, and it was committed). New untracked files fail the session.
CHECKOUT = Path(__file__).resolve().parents[1]
UNTRACKED_AT_START = pytest.StashKey[set[str] | None]()


def untracked_files() -> set[str] | None:
    """Files git would show as untracked in the checkout, or None outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard"],
            cwd=CHECKOUT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return set(listed.stdout.splitlines())


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[UNTRACKED_AT_START] = untracked_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(UNTRACKED_AT_START, None)
    after = untracked_files()
    if before is None or after is None:
        return
    added = sorted(after - before)
    if added:
        listed = ", ".join(added[:10])
        session.config.get_terminal_writer().line(
            f"tests left {len(added)} new file(s) in the checkout {CHECKOUT}: {listed}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
