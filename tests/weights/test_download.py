"""Tests for downloading model files against a local HTTP server (see conftest.FileServer)."""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import random
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from rich.console import Console

from vnlp_batch.weights import download
from vnlp_batch.weights.download import DownloadError, fetch, fetch_many

if TYPE_CHECKING:
    # Only for annotations: test modules should not import conftest at run time.
    from conftest import FileServer

# Larger than the download chunk size, so a body arrives in several pieces; odd, so halves are uneven.
_SIZE = 600_001


def _content(seed: int = 0, size: int = _SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def test_fetch_downloads_then_reuses_the_file(
    file_server: FileServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _content()
    file_server.files["NER_CharNER_prod.weights"] = data
    dest = tmp_path / "models" / "NER_CharNER_prod.weights"  # parent does not exist yet
    url = file_server.url("files/NER_CharNER_prod.weights")

    with caplog.at_level(logging.INFO, logger=download.__name__):
        assert fetch(url, dest) == dest

    assert dest.read_bytes() == data
    assert not _part(dest).exists()
    assert file_server.seen == [("/files/NER_CharNER_prod.weights", None)]
    # stderr is not a terminal under pytest, so the start and the end are logged instead of a bar.
    assert any("downloading" in r.getMessage() and url in r.getMessage() for r in caplog.records)
    assert any(f"({len(data)} bytes)" in r.getMessage() for r in caplog.records)

    assert fetch(url, dest) == dest
    assert fetch(url, dest, sha256=hashlib.sha256(data).hexdigest()) == dest
    assert len(file_server.seen) == 1  # neither call reached the server


def test_fetch_http_404(file_server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "missing.weights"
    url = file_server.url("files/missing.weights")

    with pytest.raises(DownloadError) as info:
        fetch(url, dest)

    message = str(info.value)
    assert "404" in message
    assert url in message
    assert str(dest) in message
    assert info.value.url == url
    assert not dest.exists()
    assert not _part(dest).exists()


def test_truncated_body_is_kept_and_resumed(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["DP_TreeStack_prod.weights"] = data
    dest = tmp_path / "DP_TreeStack_prod.weights"
    half = len(data) // 2

    with pytest.raises(DownloadError) as info:
        fetch(file_server.url("truncated/DP_TreeStack_prod.weights"), dest)

    message = str(info.value)
    assert "truncated" in message
    assert f"expected {len(data)} bytes, got {half}" in message
    assert not dest.exists()
    assert _part(dest).read_bytes() == data[:half]

    fetch(file_server.url("files/DP_TreeStack_prod.weights"), dest, sha256=hashlib.sha256(data).hexdigest())

    assert dest.read_bytes() == data
    assert not _part(dest).exists()
    assert file_server.seen[-1] == ("/files/DP_TreeStack_prod.weights", f"bytes={half}-")


def test_server_ignoring_range_starts_over(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    dest = tmp_path / "x.weights"
    _part(dest).write_bytes(b"not a prefix of the file")

    fetch(file_server.url("norange/x.weights"), dest)

    assert file_server.seen[-1].range == "bytes=24-"
    assert dest.read_bytes() == data  # the stale prefix was overwritten, not appended to


def test_complete_part_is_finished_without_a_body(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    dest = tmp_path / "x.weights"
    _part(dest).write_bytes(data)

    fetch(file_server.url("files/x.weights"), dest)

    assert file_server.seen == [("/files/x.weights", f"bytes={len(data)}-")]  # a 416 answer
    assert dest.read_bytes() == data
    assert not _part(dest).exists()


def test_part_longer_than_the_file_starts_over(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    dest = tmp_path / "x.weights"
    _part(dest).write_bytes(data + b"extra")

    fetch(file_server.url("files/x.weights"), dest)

    assert [r.range for r in file_server.seen] == [f"bytes={len(data) + 5}-", None]
    assert dest.read_bytes() == data


def test_sha256_mismatch(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    dest = tmp_path / "x.weights"
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(DownloadError, match="SHA-256 mismatch") as info:
        fetch(file_server.url("files/x.weights"), dest, sha256=wrong)

    assert wrong in str(info.value)
    assert hashlib.sha256(data).hexdigest() in str(info.value)
    assert not dest.exists()
    assert not _part(dest).exists()


def test_existing_file_with_wrong_sha256_is_downloaded_again(file_server: FileServer, tmp_path: Path) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    dest = tmp_path / "x.weights"
    dest.write_bytes(b"stale")

    fetch(file_server.url("files/x.weights"), dest, sha256=hashlib.sha256(data).hexdigest().upper())

    assert dest.read_bytes() == data
    assert len(file_server.seen) == 1


def test_malformed_sha256_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        fetch("http://127.0.0.1:9/x", tmp_path / "x", sha256="abc")


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.weights"
    dest = tmp_path / "x.weights"

    with pytest.raises(DownloadError, match="connection failed") as info:
        fetch(url, dest, timeout=2)

    assert url in str(info.value)
    assert not dest.exists()


def test_progress_bar_on_a_terminal(
    file_server: FileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _content()
    file_server.files["x.weights"] = data
    monkeypatch.setattr(download, "_stderr_is_terminal", lambda: True)
    screen = io.StringIO()  # what a terminal on stderr would show
    monkeypatch.setattr(
        download, "Console", lambda stderr: Console(file=screen, force_terminal=True, width=100)
    )

    with caplog.at_level(logging.INFO, logger=download.__name__):
        dest = fetch(file_server.url("files/x.weights"), tmp_path / "x.weights")

    assert dest.read_bytes() == data
    drawn = screen.getvalue()
    assert "x.weights" in drawn and "━" in drawn  # the file's bar
    assert f"{len(data) / 1000:.1f}/{len(data) / 1000:.1f} kB" in drawn  # complete, in bytes received
    assert caplog.records == []  # the bar replaces the start and end log lines

    screen.truncate(0)
    fetch(file_server.url("files/x.weights"), tmp_path / "y.weights", progress=False)
    assert screen.getvalue() == ""  # progress=False: no bar even on a terminal


@pytest.mark.parametrize("slash", ["", "/", "//"])
def test_fetch_many_joins_with_one_slash(file_server: FileServer, tmp_path: Path, slash: str) -> None:
    files = {"a.weights": _content(1, 1000), "b.matrix": _content(2, 2000)}
    file_server.files.update(files)
    base = file_server.url("files").rstrip("/") + slash
    digests = {"a.weights": hashlib.sha256(files["a.weights"]).hexdigest()}

    with requests.Session() as session:
        paths = fetch_many(base, list(files), tmp_path / "out", digests, session=session, progress=False)

    assert paths == {name: tmp_path / "out" / name for name in files}
    assert {name: path.read_bytes() for name, path in paths.items()} == files
    assert [r.path for r in file_server.seen] == ["/files/a.weights", "/files/b.matrix"]


def test_fetch_many_refuses_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        fetch_many("http://127.0.0.1:9/", ["ok.weights", "../escape.weights"], tmp_path)


def test_download_error_survives_pickling(tmp_path: Path) -> None:
    error = DownloadError("http://h/x", tmp_path / "x", "HTTP 500 Internal Server Error")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert (copy.url, copy.dest, copy.problem) == (error.url, error.dest, error.problem)
