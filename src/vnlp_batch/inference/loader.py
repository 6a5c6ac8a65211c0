"""The tf.data loader: Parquet record batches → chunks → tokenization → length-grouped batches → prefetch.

Rows travel in chunks, cut from the file's record batches (several of them when row groups are small)
so that a chunk holds a planned number of rows: one decoder batch first, then two, four, and from
then on CHUNK_BATCHES. The first batch is thus ready after one batch of rows is tokenized, and the
decoders start while the rest is still being read; later chunks are large enough to group sentences
of similar length. Within a chunk, rows are sorted by token count and cut into decoder batches of
`batch_size`; each batch carries the chunk id and the rows' positions in it, so the consumer can put
every row back in input order before writing. `prefetch` runs reading and tokenization on a
background thread while the decoders (onnxruntime, which releases the GIL) work on the previous batch.
Tokens are VNLP's `TreebankWordTokenize`, computed by the exact cached equivalent in
`featurize/treebank.py`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from vnlp_batch.corpus.reader import decode_texts, iter_record_batches
from vnlp_batch.featurize.treebank import treebank_word_tokenize
from vnlp_batch.vnlp_env import tensorflow

CHUNK_BATCHES = 8  # decoder batches per chunk: the window inside which rows are grouped by length
# Decoder batches in the first chunks: the first batch waits for one batch of rows, not CHUNK_BATCHES.
RAMP_BATCHES = (1, 2, 4)
STATUS_INVALID_UTF8 = "error:invalid_utf8"


@dataclass
class DecoderBatch:
    chunk: int
    positions: np.ndarray  # row positions inside the chunk
    texts: list[str]
    tokens: list[list[str]]
    status: list[str | None]  # "empty", "error:…", or None for rows to annotate


@dataclass
class Chunk:
    index: int
    record_batch: pa.RecordBatch
    rows: int


class ChunkStore:
    """Record batches the loader has read and the writer has not yet taken, by chunk id."""

    def __init__(self) -> None:
        self._chunks: dict[int, Chunk] = {}
        self._lock = threading.Lock()

    def put(self, chunk: Chunk) -> None:
        with self._lock:
            self._chunks[chunk.index] = chunk

    def rows(self, index: int) -> int:
        with self._lock:
            return self._chunks[index].rows

    def pop(self, index: int) -> Chunk:
        with self._lock:
            return self._chunks.pop(index)


def _row_status(text: object, tokens: list[str], max_tokens: int) -> str | None:
    if text is None or not str(text).strip():
        return "empty"
    if len(tokens) > max_tokens:
        return f"error:too_long: {len(tokens)} tokens > data.max_tokens={max_tokens}"
    return None


def _tokenize(text: object) -> tuple[list[str], str | None]:
    if text is None or not str(text).strip():
        return [], None
    try:
        return treebank_word_tokenize(str(text)), None
    except Exception as exc:  # a hostile row must not stop the file
        return [], f"error:tokenize: {exc.__class__.__name__}: {exc}"


def chunk_rows(batch_size: int) -> Iterator[int]:
    """Rows of chunk 0, 1, 2, …: the ramp (RAMP_BATCHES batches), then CHUNK_BATCHES batches each."""
    for batches in itertools.chain(RAMP_BATCHES, itertools.repeat(CHUNK_BATCHES)):
        yield batches * batch_size


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """A chunk's row positions, sorted by token count (stably) and cut into decoder batches."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable").astype(np.int32)
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _concat(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(parts) == 1:
        return parts[0]
    # combine_chunks unifies dictionary-encoded columns whose batches carry different dictionaries.
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


def _chunks(file: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    """`file`'s rows in order, regrouped into record batches of `chunk_rows(batch_size)` rows (the
    last one shorter). Row groups bound the reader's batches, so a chunk may span several of them."""
    sizes = chunk_rows(batch_size)
    target = next(sizes)
    parts: list[pa.RecordBatch] = []
    buffered = 0
    for record_batch in iter_record_batches(file, batch_size * CHUNK_BATCHES):
        parts.append(record_batch)
        buffered += record_batch.num_rows
        while buffered >= target:
            # Slices are zero-copy; only a chunk spanning several record batches is copied.
            take, rest, need = [], [], target
            for part in parts:
                if need >= part.num_rows:
                    take.append(part)
                    need -= part.num_rows
                elif need > 0:
                    take.append(part.slice(0, need))
                    rest.append(part.slice(need))
                    need = 0
                else:
                    rest.append(part)
            yield _concat(take)
            parts, buffered = rest, buffered - target
            target = next(sizes)
    if buffered:
        yield _concat(parts)


def _batches(
    file: Path, text_column: str, batch_size: int, max_tokens: int, store: ChunkStore
) -> Iterator[tuple]:
    for index, record_batch in enumerate(_chunks(file, batch_size)):
        store.put(Chunk(index, record_batch, record_batch.num_rows))
        texts, invalid = decode_texts(record_batch.column(text_column))
        tokens, status = [], []
        for text in texts:
            toks, error = _tokenize(text)
            state = error or _row_status(text, toks, max_tokens)
            tokens.append(toks if state is None else [])
            status.append(state or "")
        for position in invalid:  # None in `texts`, so already without tokens
            status[position] = STATUS_INVALID_UTF8
        for positions in length_sorted_batches([len(t) for t in tokens], batch_size):
            yield (
                np.int64(index),
                positions,
                [("" if texts[p] is None else str(texts[p])).encode() for p in positions],
                [[t.encode() for t in tokens[p]] for p in positions],
                [status[p].encode() for p in positions],
            )


def _dataset(
    file: Path,
    text_column: str,
    batch_size: int,
    max_tokens: int,
    store: ChunkStore,
    prefetch: int,
    failure: list[Exception],
):
    """The tf.data pipeline behind `load`; a reading error is appended to `failure`."""
    tf = tensorflow()

    def generator():
        try:
            for chunk, positions, texts, tokens, status in _batches(
                file, text_column, batch_size, max_tokens, store
            ):
                # Flat tokens + row lengths: plain arrays, no TF op in the generator thread.
                lengths = np.fromiter((len(row) for row in tokens), np.int32, len(tokens))
                flat = np.array([t for row in tokens for t in row], dtype=object)
                yield chunk, positions, texts, flat, lengths, status
        except Exception as exc:  # re-raised below as itself: tf.data would wrap it in its own error
            failure.append(exc)

    dataset = tf.data.Dataset.from_generator(
        generator,
        output_signature=(
            tf.TensorSpec((), tf.int64),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.string),
        ),
    ).prefetch(prefetch)
    # tf.data's autotuner has nothing to tune here (one generator, a fixed prefetch), and with it on,
    # the end of the file sometimes reached the consumer seconds late: task=all over 2,000 rows waited
    # 3.1-4.5 s for end-of-sequence in 5 of 8 runs, long after the generator had finished; 0 of 8
    # with it off.
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def load(
    file: Path, text_column: str, batch_size: int, max_tokens: int, store: ChunkStore, prefetch: int = 2
) -> Iterator[DecoderBatch]:
    """Decoder batches of `file`, in chunk order, read and tokenized ahead on tf.data's thread."""
    failure: list[Exception] = []
    dataset = _dataset(file, text_column, batch_size, max_tokens, store, prefetch, failure)
    for chunk, positions, texts, flat, lengths, status in dataset.as_numpy_iterator():
        words = [t.decode() for t in flat]
        ends = np.cumsum(lengths)
        yield DecoderBatch(
            chunk=int(chunk),
            positions=positions,
            texts=[t.decode() for t in texts],
            tokens=[words[end - n : end] for n, end in zip(lengths, ends, strict=True)],
            status=[s.decode() or None for s in status],
        )
    if failure:
        raise failure[0]
