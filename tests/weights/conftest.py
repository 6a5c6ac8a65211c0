"""A local HTTP file server for the download tests, with the failure modes a real server can show."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

import pytest

_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)")


class SeenRequest(NamedTuple):
    """One request the server received: its path and its Range header, if any."""

    path: str
    range: str | None


@dataclass
class FileServer:
    """What the tests control and observe: the files served and the requests received.

    Paths: ``/files/<name>`` and ``/<name>`` (a base URL laid out like VNLP's object store) serve
    ``files[name]`` and honour ``Range``; ``/norange/<name>`` ignores
    ``Range`` and always answers 200 with the whole file; ``/truncated/<name>`` announces the whole
    file's ``Content-Length``, sends half of it and closes the connection; anything else is a 404.
    """

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this server."""
        return self.base_url + path.lstrip("/")


def _make_handler(server_state: list[FileServer]) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class bound to the state the fixture will create."""

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 so that requests keeps connections alive, as it would with S3.
        protocol_version = "HTTP/1.1"
        # An idle kept-alive connection must not keep a handler thread past the test.
        timeout = 5

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

        def do_GET(self) -> None:
            """Serve one of the special paths described on FileServer."""
            state = server_state[0]
            state.seen.append(SeenRequest(self.path, self.headers.get("Range")))
            path = self.path.lstrip("/")
            kind, _, name = path.partition("/") if "/" in path else ("files", "", path)
            body = state.files.get(name)
            if body is None or kind not in ("files", "norange", "truncated"):
                self.send_error(404, "Not Found")
                return
            if kind == "truncated":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            match = _RANGE_RE.fullmatch(self.headers.get("Range", ""))
            if kind == "files" and match is not None:
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else len(body) - 1
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                end = min(end, len(body) - 1)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                self.wfile.write(body[start : end + 1])
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """Run a FileServer on 127.0.0.1 with an ephemeral port for the duration of one test."""
    state: list[FileServer] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    host, port = httpd.server_address[:2]
    state.append(FileServer(base_url=f"http://{host!s}:{port}/"))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
