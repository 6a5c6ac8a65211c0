"""Open input files ahead of their turn, on one background thread.

Opening a file — tf.data's pipeline start-up, reading and tokenizing its first chunk — takes
0.1-0.3 s, a quarter of the run over a small file and, over a corpus of many shards, a pause between
every two files. `FileOpener` does it while something else runs: the first file while the models load
and warm up, each next file while the current one decodes. Only the first chunk is read ahead (the
loader's own prefetch then runs a couple of batches further), so memory stays bounded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from vnlp_batch.config.schema import AppConfig
from vnlp_batch.corpus.errors import BadFileError
from vnlp_batch.inference.loader import ChunkStore, DecoderBatch, LoadSettings, load

Opened = tuple[ChunkStore, Iterator[DecoderBatch]]


def next_batch(batches: Iterator[DecoderBatch], file: Path) -> DecoderBatch | None:
    """The next decoder batch of `file`, None at its end; a reading error becomes `BadFileError`."""
    try:
        return next(batches)
    except StopIteration:
        return None
    except BadFileError:
        raise
    except Exception as exc:  # tf.data wraps errors raised in the generator
        raise BadFileError(f"{file}: could not be read: {str(exc).splitlines()[0]}") from exc


def load_settings(cfg: AppConfig) -> LoadSettings:
    data = cfg.data
    return LoadSettings(data.text_column, cfg.batch_size, data.max_tokens, data.unit, data.format)


def open_file(cfg: AppConfig, file: Path) -> Opened:
    """`file`'s chunk store and decoder batches, the first batch already read and tokenized."""
    store = ChunkStore()
    batches = load(file, load_settings(cfg), store)
    first = next_batch(batches, file)
    return store, itertools.chain([] if first is None else [first], batches)


class FileOpener:
    """`ahead(file)` starts opening `file` in the background; `take(file)` waits for it (opening it
    now if it was not asked for) and re-raises its `BadFileError`. A file opened ahead and never
    taken (already done, or the run stopped) is dropped on `close`."""

    def __init__(self, cfg: AppConfig) -> None:
        self._cfg = cfg
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vnlp-open")
        self._opening: dict[Path, Future[Opened]] = {}

    def ahead(self, file: Path) -> None:
        if file not in self._opening:
            self._opening[file] = self._pool.submit(open_file, self._cfg, file)

    def take(self, file: Path) -> Opened:
        self.ahead(file)
        return self._opening.pop(file).result()

    def close(self) -> None:
        self._opening.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FileOpener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
