"""`weights=vnlp` end to end: VNLP's own file list, served from a local object store, through the CLI.

The names and URLs come from the installed VNLP package (each module's `PROD_WEIGHTS_LOC`,
`WORD_EMBEDDING_MATRIX_LOC` and their `*_LINK` download URLs); the bytes are the session's synthetic
weights, so every cached export of the session matches them and the run reuses it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from vnlp_batch.__main__ import CONF_DIR
from vnlp_batch.config.schema import ConfigError, WeightsConfig, register_configs
from vnlp_batch.models.declarations import MODELS, VNLP_BASE_URL
from vnlp_batch.models.planning import models_for
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import vnlp_module

if TYPE_CHECKING:
    from conftest import FileServer


def vnlp_links(specs: Iterable[ModelSpec] = MODELS.values()) -> dict[str, str]:
    """VNLP's prod weight and embedding files of `specs`: file name -> download URL, from VNLP's modules."""
    links = {}
    for spec in specs:
        module = vnlp_module(spec.module)
        for loc, link in (
            ("PROD_WEIGHTS_LOC", "PROD_WEIGHTS_LINK"),
            ("WORD_EMBEDDING_MATRIX_LOC", "WORD_EMBEDDING_MATRIX_LINK"),
        ):
            if hasattr(module, loc):
                links[os.path.basename(getattr(module, loc))] = getattr(module, link)
    return links


def test_vnlp_downloads_from_the_default_base_url() -> None:
    links = vnlp_links()
    assert len(links) == 10  # eight models' weights, two embedding matrices
    for name, link in links.items():
        assert link == VNLP_BASE_URL + name, name
    assert WeightsConfig().base_url == VNLP_BASE_URL
    register_configs()  # the composed CLI config: conf/weights/vnlp.yaml leaves the default in place
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composed = compose(config_name="config", overrides=["weights=vnlp"])
    assert composed.weights.base_url == VNLP_BASE_URL


def test_sha256_pins_from_the_command_line_are_keyed_by_file_name() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    pin = "+weights.sha256.PoS_SPUContext_prod.weights="
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        good = compose(config_name="config", overrides=["weights=vnlp", pin + digest])
        bad = compose(config_name="config", overrides=["weights=vnlp", pin + "abc"])
    assert OmegaConf.to_object(good).weights.sha256 == {"PoS_SPUContext_prod.weights": digest}
    with pytest.raises(ConfigError, match=r"^weights.sha256.PoS_SPUContext_prod.weights: not a sha256"):
        OmegaConf.to_object(bad)


def run_cli(cache_dir: Path, run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VNLP_BATCH_CACHE": str(cache_dir)}
    command = [sys.executable, "-m", "vnlp_batch", *args, f"hydra.run.dir={run_dir}"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def test_task_all_with_weights_vnlp_from_a_local_object_store(
    file_server: FileServer,
    synthetic_weights: Any,
    exports: Any,
    cache_dir: Path,
    sample_texts: list[str],
    tmp_path: Path,
) -> None:
    served = vnlp_links()  # every VNLP model's files, at the paths of VNLP's own URLs
    links = vnlp_links(models_for("all", "auto"))  # what task=all needs
    for name, link in served.items():
        path = urllib.parse.urlparse(link).path.lstrip("/")
        file_server.files[path] = (synthetic_weights.directory / name).read_bytes()
    digests = {name: hashlib.sha256(file_server.files[name]).hexdigest() for name in links}
    # A fresh weights cache; the session's exports are shared (they are keyed by the weights' sha256).
    fresh = tmp_path / "cache"
    fresh.mkdir()
    (fresh / "onnx").symlink_to(cache_dir / "onnx", target_is_directory=True)
    downloaded = fresh / "weights" / "vnlp"
    # An interrupted earlier download of one file: it is resumed with a Range request.
    partial = "SPUTokenized_word_embedding_16k.matrix"
    downloaded.mkdir(parents=True)
    (downloaded / f"{partial}.part").write_bytes(file_server.files[partial][:1000])
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"text": sample_texts[:5]}), data)
    common = ["task=all", "weights=vnlp", f"weights.base_url={file_server.base_url}", "runtime=cpu"]
    pinned = "NER_SPUContext_prod.weights"

    wrong = "ab" * 32
    refused = run_cli(
        fresh, tmp_path / "refused", *common, f"data={data}", f"+weights.sha256.{pinned}={wrong}"
    )
    assert refused.returncode != 0
    assert f"SHA-256 mismatch: expected {wrong}, got {digests[pinned]}" in refused.stderr
    assert not (downloaded / pinned).exists() and not (downloaded / f"{pinned}.part").exists()

    done = run_cli(
        fresh,
        tmp_path / "run",
        *common,
        f"data={data}",
        f"data.output_dir={tmp_path / 'out'}",
        f"+weights.sha256.{pinned}={digests[pinned]}",
        f"+weights.sha256.{partial}={digests[partial]}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {name: hashlib.sha256((downloaded / name).read_bytes()).hexdigest() for name in links} == digests
    assert sorted(p.name for p in downloaded.iterdir()) == sorted(links)  # no .part left
    # Each file fetched once over both runs (the refused one twice), the partial one resumed.
    assert Counter(r.path.lstrip("/") for r in file_server.seen) == {**dict.fromkeys(links, 1), pinned: 2}
    assert [r.range for r in file_server.seen if r.path == f"/{partial}"] == ["bytes=1000-"]
    for spec in models_for("all", "auto"):
        assert f"{spec.name}: reusing cached export" in done.stderr
    table = pq.read_table(tmp_path / "out" / "rows.parquet")
    assert table.column("vnlp_status").to_pylist() == ["ok"] * 5
    for column in ("morph", "lemma", "pos", "ner", "dep_head", "dep_rel"):
        assert [len(v) for v in table.column(column).to_pylist()] == [
            len(t) for t in table.column("tokens").to_pylist()
        ]
    provenance = table.schema.metadata[b"vnlp_batch.weights"].decode()
    assert file_server.base_url in provenance and '"synthetic": false' in provenance
