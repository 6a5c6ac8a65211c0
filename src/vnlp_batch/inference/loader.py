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

What the decoders annotate is a *unit*: with `data.unit=sentence` a row is one unit (VNLP's own
per-string semantics); with `data.unit=document` each sentence of the row (`featurize/sentences.py`,
VNLP's splitter) is one, and the sentences of all the chunk's rows are length-grouped together, so a
sentence is batched and decoded exactly as a sentence row would be. Every unit carries its row's
position, its sentence's index in the row and each token's character span in the row's text
(`featurize/offsets.py`); a row that holds no sentence (empty, unreadable) is one unit with a status.
Files are read through `corpus.formats` (Parquet, JSON Lines, CSV/TSV, text); a row the reader could
not read (`INPUT_ERROR_COLUMN`) is a unit with status `error:input: <reason>`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from vnlp_batch.corpus.formats import iter_record_batches
from vnlp_batch.corpus.reader import decode_texts
from vnlp_batch.corpus.schema import INPUT_ERROR_COLUMN
from vnlp_batch.featurize.offsets import TokenAlignmentError, treebank_token_spans
from vnlp_batch.featurize.sentences import split_sentences
from vnlp_batch.featurize.treebank import treebank_word_tokenize
from vnlp_batch.vnlp_env import tensorflow

log = logging.getLogger(__name__)

CHUNK_BATCHES = 8  # decoder batches per chunk: the window inside which rows are grouped by length
# Decoder batches in the first chunks: the first batch waits for one batch of rows, not CHUNK_BATCHES.
RAMP_BATCHES = (1, 2, 4)
STATUS_INVALID_UTF8 = "error:invalid_utf8"
STATUS_EMPTY = "empty"
UNITS = ("sentence", "document")


@dataclass(frozen=True)
class LoadSettings:
    """What the loader needs of a run's configuration (`data.*` and `batch_size`)."""

    text_column: str = "text"
    batch_size: int = 64
    max_tokens: int = 2000  # per unit: a row (unit=sentence) or a sentence (unit=document)
    unit: str = "sentence"
    format: str | None = None  # None: from the file name


@dataclass
class DecoderBatch:
    """Units of one chunk to decode together (lists aligned)."""

    chunk: int
    positions: np.ndarray  # each unit's row position inside the chunk
    sentences: np.ndarray  # each unit's sentence index in its row (0 with unit=sentence)
    texts: list[str]
    tokens: list[list[str]]
    status: list[str | None]  # "empty", "error:…", or None for units to annotate
    starts: list[list[int]]  # per token: its span in the row's text (Python string indices)
    ends: list[list[int]]


@dataclass
class Chunk:
    index: int
    record_batch: pa.RecordBatch
    rows: int
    units: int = 0  # units of its rows, all batches together
    texts: list[str | None] = field(default_factory=list)  # the rows' texts (None: unreadable)


class ChunkStore:
    """Record batches the loader has read and the writer has not yet taken, by chunk id; and, for the
    first chunk, how many of its rows hold several sentences (`several_sentences`, `first_rows`)."""

    def __init__(self) -> None:
        self._chunks: dict[int, Chunk] = {}
        self._lock = threading.Lock()
        self.several_sentences: int | None = None
        self.first_rows = 0

    def put(self, chunk: Chunk) -> None:
        with self._lock:
            self._chunks[chunk.index] = chunk

    def rows(self, index: int) -> int:
        with self._lock:
            return self._chunks[index].rows

    def units(self, index: int) -> int:
        with self._lock:
            return self._chunks[index].units

    def pop(self, index: int) -> Chunk:
        with self._lock:
            return self._chunks.pop(index)


@dataclass
class _Unit:
    position: int
    sentence: int
    text: str
    tokens: list[str]
    status: str | None
    starts: list[int]
    ends: list[int]


def _too_long(tokens: list[str], max_tokens: int) -> str | None:
    if len(tokens) > max_tokens:
        return f"error:too_long: {len(tokens)} tokens > data.max_tokens={max_tokens}"
    return None


def _tokenize(text: str) -> tuple[list[str], str | None]:
    try:
        return treebank_word_tokenize(text), None
    except Exception as exc:  # a hostile row must not stop the file
        return [], f"error:tokenize: {exc.__class__.__name__}: {exc}"


def _unit(
    position: int, sentence: int, row_text: str, text: str, start: int, end: int, settings: LoadSettings
) -> _Unit:
    tokens, error = _tokenize(text)
    status = error or _too_long(tokens, settings.max_tokens)
    if status is not None:
        return _Unit(position, sentence, text, [], status, [], [])
    try:
        starts, ends = treebank_token_spans(row_text, tokens, start, end)
    except TokenAlignmentError as exc:  # would be a tokenizer rewrite offsets.py does not know
        return _Unit(position, sentence, text, [], f"error:offsets: {exc}", [], [])
    return _Unit(position, sentence, text, tokens, None, starts, ends)


def row_units(position: int, text: str | None, settings: LoadSettings) -> list[_Unit]:
    """The units of one row: itself (unit=sentence) or its sentences (unit=document)."""
    if text is None or not text.strip():
        return [_Unit(position, 0, text or "", [], STATUS_EMPTY, [], [])]
    if settings.unit == "sentence":
        return [_unit(position, 0, text, text, 0, len(text), settings)]
    try:
        sentences = split_sentences(text)
    except Exception as exc:  # a hostile row must not stop the file
        return [_Unit(position, 0, "", [], f"error:split: {exc.__class__.__name__}: {exc}", [], [])]
    return [_unit(position, k, text, s.text, s.start, s.end, settings) for k, s in enumerate(sentences)]


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


def _chunks(file: Path, settings: LoadSettings) -> Iterator[pa.RecordBatch]:
    """`file`'s rows in order, regrouped into record batches of `chunk_rows(batch_size)` rows (the
    last one shorter). Row groups bound the reader's batches, so a chunk may span several of them."""
    sizes = chunk_rows(settings.batch_size)
    target = next(sizes)
    parts: list[pa.RecordBatch] = []
    buffered = 0
    for record_batch in iter_record_batches(
        file,
        settings.batch_size * CHUNK_BATCHES,
        format=settings.format,
        text_column=settings.text_column,
        unit=settings.unit,
    ):
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


def _batches(file: Path, settings: LoadSettings, store: ChunkStore) -> Iterator[tuple]:
    for index, record_batch in enumerate(_chunks(file, settings)):
        texts, invalid = decode_texts(record_batch.column(settings.text_column))
        unreadable = set(invalid)
        input_errors = record_batch.column(INPUT_ERROR_COLUMN).to_pylist()
        units: list[_Unit] = []
        for position, text in enumerate(texts):
            if input_errors[position] is not None:
                units.append(_Unit(position, 0, "", [], f"error:input: {input_errors[position]}", [], []))
            elif position in unreadable:
                units.append(_Unit(position, 0, "", [], STATUS_INVALID_UTF8, [], []))
            else:
                units += row_units(position, text, settings)
        if index == 0 and settings.unit == "sentence":
            _count_several_sentences(texts, store)
        store.put(Chunk(index, record_batch, record_batch.num_rows, len(units), texts))
        for batch in length_sorted_batches([len(u.tokens) for u in units], settings.batch_size):
            chosen = [units[k] for k in batch]
            yield (
                np.int64(index),
                np.array([u.position for u in chosen], np.int32),
                np.array([u.sentence for u in chosen], np.int32),
                [u.text.encode() for u in chosen],
                [[t.encode() for t in u.tokens] for u in chosen],
                [(u.status or "").encode() for u in chosen],
                [u.starts for u in chosen],
                [u.ends for u in chosen],
            )


def _count_several_sentences(texts: Sequence[str | None], store: ChunkStore) -> None:
    """How many rows of the first chunk VNLP's splitter cuts into several sentences (unit=sentence
    only: the stage then says once that the rows look like documents)."""
    several = 0
    for text in texts:
        if text and text.strip():
            try:
                several += len(split_sentences(text)) > 1
            except Exception:  # a row the splitter fails on is not evidence either way
                continue
    store.several_sentences, store.first_rows = several, len(texts)


def _dataset(file: Path, settings: LoadSettings, store: ChunkStore, prefetch: int, failure: list[Exception]):
    """The tf.data pipeline behind `load`; a reading error is appended to `failure`."""
    tf = tensorflow()

    def generator():
        try:
            for chunk, positions, sentences, texts, tokens, status, starts, ends in _batches(
                file, settings, store
            ):
                # Flat tokens + unit lengths: plain arrays, no TF op in the generator thread.
                lengths = np.fromiter((len(row) for row in tokens), np.int32, len(tokens))
                flat = np.array([t for row in tokens for t in row], dtype=object)
                flat_starts = np.fromiter((s for row in starts for s in row), np.int64, int(lengths.sum()))
                flat_ends = np.fromiter((e for row in ends for e in row), np.int64, int(lengths.sum()))
                yield chunk, positions, sentences, texts, flat, lengths, status, flat_starts, flat_ends
        except Exception as exc:  # re-raised below as itself: tf.data would wrap it in its own error
            failure.append(exc)

    dataset = tf.data.Dataset.from_generator(
        generator,
        output_signature=(
            tf.TensorSpec((), tf.int64),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.int64),
            tf.TensorSpec((None,), tf.int64),
        ),
    ).prefetch(prefetch)
    # tf.data's autotuner has nothing to tune here (one generator, a fixed prefetch), and with it on,
    # the end of the file sometimes reached the consumer seconds late: task=all over 2,000 rows waited
    # 3.1-4.5 s for end-of-sequence in 5 of 8 runs, long after the generator had finished; 0 of 8
    # with it off.
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def load(file: Path, settings: LoadSettings, store: ChunkStore, prefetch: int = 2) -> Iterator[DecoderBatch]:
    """Decoder batches of `file`, in chunk order, read and tokenized ahead on tf.data's thread."""
    failure: list[Exception] = []
    dataset = _dataset(file, settings, store, prefetch, failure)
    for (
        chunk,
        positions,
        sentences,
        texts,
        flat,
        lengths,
        status,
        starts,
        ends,
    ) in dataset.as_numpy_iterator():
        words = [t.decode() for t in flat]
        flat_starts, flat_ends = starts.tolist(), ends.tolist()
        spans = [
            slice(end - n, end) for n, end in zip(lengths.tolist(), np.cumsum(lengths).tolist(), strict=True)
        ]
        yield DecoderBatch(
            chunk=int(chunk),
            positions=positions,
            sentences=sentences,
            texts=[t.decode() for t in texts],
            tokens=[words[s] for s in spans],
            status=[s.decode() or None for s in status],
            starts=[flat_starts[s] for s in spans],
            ends=[flat_ends[s] for s in spans],
        )
    if failure:
        raise failure[0]
