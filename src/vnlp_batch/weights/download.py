"""Download model files over HTTP: resumable, length- and SHA-256-checked, and atomic.

A download streams into ``<dest>.part``; only once the body is complete (and its SHA-256 matches, when
one is given) is the ``.part`` renamed to ``dest``. A broken connection leaves the ``.part`` in place, and
the next call resumes it with a ``Range`` request.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
import urllib3.exceptions
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from vnlp_batch.files import sha256_digest, sha256_file

__all__ = ["DownloadError", "fetch", "fetch_many"]

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024
_CONTENT_RANGE_RE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", re.IGNORECASE)
# requests wraps errors raised while connecting, but reading response.raw raises urllib3's and the socket's
# own exceptions (urllib3's IncompleteRead for a body shorter than its Content-Length, among others).
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message names the URL, the destination and the problem."""

    def __init__(self, url: str, dest: Path, problem: str) -> None:
        """Record what failed: ``url`` could not be saved to ``dest`` because of ``problem``."""
        super().__init__(f"cannot download {url} to {dest}: {problem}")
        self.url = url
        self.dest = dest
        self.problem = problem

    def __reduce__(self) -> tuple[type[DownloadError], tuple[str, Path, str]]:
        """Pickle by constructor arguments, so the error survives being sent between processes."""
        return (type(self), (self.url, self.dest, self.problem))


def _part_path(dest: Path) -> Path:
    """Return where ``dest`` is downloaded to before it is complete."""
    return dest.with_name(dest.name + ".part")


def _stderr_is_terminal() -> bool:
    """Tell whether a progress bar on stderr would be seen by a person."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def _content_length(response: requests.Response) -> int | None:
    """Return the response's Content-Length, or None if it has none (or an unusable one)."""
    value = response.headers.get("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _content_range(response: requests.Response) -> tuple[int | None, int | None]:
    """Return (first byte, total size) from the response's Content-Range; None where it is unknown."""
    match = _CONTENT_RANGE_RE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None:
        return None, None
    first, _last, total = match.groups()
    return (
        int(first) if first is not None else None,
        int(total) if total is not None and total != "*" else None,
    )


@contextmanager
def _progress_bar(
    label: str, total: int | None, completed: int, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """Yield a function that reports received bytes to a rich progress bar, or does nothing."""
    if not enabled:
        yield lambda _n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total, completed=completed)
        yield lambda n: bar.advance(task, n)


def _stream_body(
    response: requests.Response,
    url: str,
    dest: Path,
    part: Path,
    *,
    offset: int,
    total: int | None,
    show_bar: bool,
) -> None:
    """Write the response body to ``part`` after its first ``offset`` bytes and check it is complete."""
    body_length = _content_length(response)
    if total is None and body_length is not None:
        total = offset + body_length
    received = 0
    failure: BaseException | None = None
    # "ab" after a 206 keeps the bytes we already have; "wb" after a 200 starts the file over.
    with (
        part.open("ab" if offset else "wb") as f,
        _progress_bar(dest.name, total, offset, show_bar) as advance,
    ):
        try:
            # decode_content=False: the bytes on disk are exactly the bytes Content-Length counts.
            for chunk in response.raw.stream(_CHUNK, decode_content=False):
                f.write(chunk)
                received += len(chunk)
                advance(len(chunk))
        except _NETWORK_ERRORS as exc:
            failure = exc
    have = offset + received
    if total is not None and have < total:
        raise DownloadError(
            url,
            dest,
            f"truncated: expected {total} bytes, got {have}; the partial file {part} is kept so that the "
            "next attempt resumes it",
        ) from failure
    if failure is not None:
        raise DownloadError(
            url, dest, f"connection failed after {have} bytes ({failure}); {part} is kept for a resume"
        ) from failure
    if total is not None and have > total:
        part.unlink(missing_ok=True)
        raise DownloadError(url, dest, f"server sent {have} bytes, more than the {total} it announced")


def _download_to_part(
    session: requests.Session, url: str, dest: Path, part: Path, *, timeout: float, show_bar: bool
) -> None:
    """Make ``part`` hold the complete body of ``url``, resuming what is already in it."""
    # Two rounds: a .part the server's answer shows to be unusable is discarded once and fetched afresh.
    for _round in range(2):
        offset = part.stat().st_size if part.is_file() else 0
        # identity: Content-Length and Range must count the file's own bytes, not a compressed form.
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            log.info("resuming %s at byte %d", url, offset)
        try:
            response = session.get(url, headers=headers, stream=True, timeout=timeout)
        except _NETWORK_ERRORS as exc:
            raise DownloadError(url, dest, f"connection failed: {exc}") from exc
        with response:
            status = response.status_code
            if offset and status == 416:
                _first, size = _content_range(response)
                if size == offset:
                    return  # the .part already holds the whole file
                log.warning("%s is not a prefix of %s (server size %s); starting over", part, url, size)
                part.unlink(missing_ok=True)
                continue
            if status not in (200, 206):
                raise DownloadError(url, dest, f"HTTP {status} {response.reason}")
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise DownloadError(url, dest, f"server sent Content-Encoding {encoding!r}, not the raw file")
            total: int | None = None
            if status == 206:
                first, total = _content_range(response)
                if first != offset:
                    log.warning(
                        "%s answered a range from byte %s, asked for %d; starting over", url, first, offset
                    )
                    part.unlink(missing_ok=True)
                    continue
            else:
                offset = 0  # the server ignored the Range header (or none was sent): start over
            _stream_body(response, url, dest, part, offset=offset, total=total, show_bar=show_bar)
            return
    raise DownloadError(url, dest, "the server's range answers do not match the partial file")


def fetch(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    timeout: float = 60.0,
    progress: bool = True,
    session: requests.Session | None = None,
) -> Path:
    """Download ``url`` to ``dest`` unless it is already there, and return ``dest``.

    An existing ``dest`` is returned without network access (after checking ``sha256``, when given; a
    mismatching file is downloaded again). Otherwise the body streams into ``<dest>.part``, resuming a
    ``.part`` left by an earlier attempt, and is renamed to ``dest`` once its length (and ``sha256``)
    check out. ``timeout`` applies to connecting and to each read, not to the whole download. A progress
    bar is drawn on stderr when ``progress`` is true and stderr is a terminal; otherwise the start and end
    are logged. Raises :class:`DownloadError` for HTTP and connection errors, truncated bodies and
    checksum mismatches; ``dest`` is never left incomplete.
    """
    dest = Path(dest)
    want = None if sha256 is None else sha256_digest(sha256.strip())
    if dest.is_file():
        if want is None:
            return dest
        have = sha256_file(dest)
        if have == want:
            return dest
        log.warning("%s has SHA-256 %s, expected %s; downloading it again", dest, have, want)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    show_bar = progress and _stderr_is_terminal()
    if not show_bar:
        log.info("downloading %s to %s", url, dest)
    with ExitStack() as stack:
        if session is None:
            session = stack.enter_context(requests.Session())
        _download_to_part(session, url, dest, part, timeout=timeout, show_bar=show_bar)
    if want is not None:
        have = sha256_file(part)
        if have != want:
            part.unlink(missing_ok=True)
            raise DownloadError(
                url, dest, f"SHA-256 mismatch: expected {want}, got {have}; the download was deleted"
            )
    os.replace(part, dest)
    if not show_bar:
        log.info("downloaded %s to %s (%d bytes)", url, dest, dest.stat().st_size)
    return dest


def _check_file_name(name: str) -> None:
    """Refuse a name that is not a plain file name, so it cannot point outside the destination folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"not a plain file name: {name!r}")


def fetch_many(
    base_url: str,
    names: Sequence[str],
    dest_dir: Path,
    sha256: Mapping[str, str] | None = None,
    *,
    timeout: float = 60.0,
    progress: bool = True,
    session: requests.Session | None = None,
) -> dict[str, Path]:
    """Fetch each of ``names`` from ``base_url`` into ``dest_dir``; return each name's local path.

    ``base_url`` and the name are joined with exactly one slash. ``sha256`` maps names to expected
    digests (names without one are not checked). Files are fetched in order over one shared session;
    the first failure raises :class:`DownloadError`, keeping the files already fetched.
    """
    dest_dir = Path(dest_dir)
    base = base_url.rstrip("/") + "/"
    digests: Mapping[str, str] = sha256 or {}
    for name in names:
        _check_file_name(name)
    paths: dict[str, Path] = {}
    with ExitStack() as stack:
        if session is None:
            session = stack.enter_context(requests.Session())
        for name in names:
            paths[name] = fetch(
                base + urllib.parse.quote(name),
                dest_dir / name,
                sha256=digests.get(name),
                timeout=timeout,
                progress=progress,
                session=session,
            )
    return paths
