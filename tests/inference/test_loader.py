"""The tf.data loader on its own (no model): chunk sizes, batch grouping, order, statuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.featurize.treebank import treebank_word_tokenize
from vnlp_batch.inference.loader import (
    CHUNK_BATCHES,
    RAMP_BATCHES,
    ChunkStore,
    DecoderBatch,
    LoadSettings,
    _dataset,
    chunk_rows,
    length_sorted_batches,
    load,
)


def _write(path: Path, texts: list[str | None], row_group_size: int, dictionary: bool = False) -> Path:
    column = pa.array(texts, pa.string())
    if dictionary:
        column = column.dictionary_encode()
    table = pa.table({"id": pa.array(range(len(texts)), pa.int64()), "text": column})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def _texts(n: int) -> list[str]:
    # Lengths 1..7 tokens in a pattern that is not already sorted.
    return [" ".join(["kelime"] * (1 + (i * 5) % 7)) + f" {i}." for i in range(n)]


def _run(
    path: Path, batch_size: int, max_tokens: int = 2000, unit: str = "sentence"
) -> tuple[list[DecoderBatch], ChunkStore]:
    store = ChunkStore()
    return list(load(path, LoadSettings("text", batch_size, max_tokens, unit), store)), store


def _restore(batches: list[DecoderBatch], store: ChunkStore) -> list[tuple]:
    """Every row back in input order, as the stage does it: chunk by chunk, position by position."""
    rows: dict[int, dict[int, tuple]] = {}
    for b in batches:
        for i, p in enumerate(b.positions):
            rows.setdefault(b.chunk, {})[int(p)] = (b.texts[i], b.tokens[i], b.status[i])
    out = []
    for chunk in sorted(rows):
        chunk_rows_ = rows[chunk]
        record_batch = store.pop(chunk).record_batch
        assert sorted(chunk_rows_) == list(range(record_batch.num_rows))
        ids = record_batch.column("id").to_pylist()
        out += [(ids[p], *chunk_rows_[p]) for p in range(record_batch.num_rows)]
    return out


def test_chunk_rows_ramp_up_then_stay() -> None:
    sizes = chunk_rows(10)
    first = [next(sizes) for _ in range(len(RAMP_BATCHES) + 3)]
    assert first == [10 * b for b in RAMP_BATCHES] + [10 * CHUNK_BATCHES] * 3
    assert first[0] == 10  # the first decoder batch waits for one batch of rows only


def test_length_sorted_batches_cut_a_stable_sort() -> None:
    lengths = [3, 1, 2, 1, 3, 0, 2]
    batches = length_sorted_batches(lengths, 3)
    assert [b.tolist() for b in batches] == [[5, 1, 3], [2, 6, 0], [4]]
    assert all(b.dtype == np.int32 for b in batches)


@pytest.mark.parametrize("row_group_size", [7, 128, 10_000])
def test_chunks_follow_the_ramp_across_row_groups_and_keep_every_row(
    tmp_path: Path, row_group_size: int
) -> None:
    n, batch_size = 300, 16
    texts = _texts(n)
    batches, store = _run(_write(tmp_path / "in.parquet", texts, row_group_size), batch_size)

    rows_per_chunk: dict[int, int] = {}
    for b in batches:
        rows_per_chunk[b.chunk] = rows_per_chunk.get(b.chunk, 0) + len(b.positions)
        assert len(b.positions) <= batch_size
        lengths = [len(t) for t in b.tokens]
        assert lengths == sorted(lengths)
    planned, sizes, left = [], chunk_rows(batch_size), n
    while left:
        planned.append(min(next(sizes), left))
        left -= planned[-1]
    assert [rows_per_chunk[c] for c in sorted(rows_per_chunk)] == planned
    # Chunks arrive in order, and a chunk's batches are consecutive (the stage writes a chunk as soon
    # as all its rows are back).
    order = [b.chunk for b in batches]
    assert order == sorted(order)

    restored = _restore(batches, store)
    assert [r[0] for r in restored] == list(range(n))
    assert [r[1] for r in restored] == texts
    assert [r[2] for r in restored] == [treebank_word_tokenize(t) for t in texts]
    assert all(r[3] is None for r in restored)


def test_statuses_and_dictionary_text_across_chunks(tmp_path: Path) -> None:
    texts: list[str | None] = _texts(40)
    texts[0] = None
    texts[3] = "   "
    texts[17] = " ".join(["uzun"] * 30)
    # Dictionary-encoded text whose row groups carry different dictionaries, so chunks that span row
    # groups must unify them.
    path = _write(tmp_path / "in.parquet", texts, row_group_size=5, dictionary=True)
    restored = _restore(*_run(path, batch_size=4, max_tokens=20))

    assert [r[0] for r in restored] == list(range(40))
    status = {i: r[3] for i, r in enumerate(restored) if r[3] is not None}
    assert status == {0: "empty", 3: "empty", 17: "error:too_long: 30 tokens > data.max_tokens=20"}
    assert restored[17][2] == [] and restored[0][1] == ""
    assert [r[2] for i, r in enumerate(restored) if i not in status] == [
        treebank_word_tokenize(t) for i, t in enumerate(texts) if i not in status
    ]


def test_the_pipeline_runs_without_the_autotuner(tmp_path: Path) -> None:
    # With tf.data's autotuner on, end-of-file sometimes reached the consumer seconds after the
    # generator had finished (loader.py); the pipeline has nothing for it to tune.
    path = _write(tmp_path / "a.parquet", _texts(10), row_group_size=10)
    dataset = _dataset(path, LoadSettings("text", 4, 2000), ChunkStore(), 2, [])
    assert dataset.options().autotune.enabled is False
    assert sum(len(b[1]) for b in dataset.as_numpy_iterator()) == 10


def test_documents_are_cut_into_sentences_batched_across_rows_with_spans(tmp_path: Path) -> None:
    from vnlp_batch.featurize.sentences import split_sentences

    documents: list[str | None] = [
        "Ankara'da yağmur yağdı. İstanbul'da ise güneş vardı!\n\nYarın hava açacak.",
        None,
        "Tek cümle.",
        " ".join(["uzun"] * 30) + ". Kısa cümle.",
    ] * 5
    path = _write(tmp_path / "docs.parquet", documents, row_group_size=7)
    batches, store = _run(path, batch_size=4, max_tokens=20, unit="document")

    units: dict[tuple[int, int], tuple] = {}
    for b in batches:
        assert len(b.positions) <= 4
        for i, position in enumerate(b.positions):
            key = (b.chunk * 1000 + int(position), int(b.sentences[i]))
            assert key not in units
            units[key] = (b.texts[i], b.tokens[i], b.status[i], b.starts[i], b.ends[i])
    rows = sorted({row for row, _ in units})
    assert len(rows) == len(documents)
    for row, text in zip(rows, documents, strict=True):
        mine = [units[key] for key in sorted(units) if key[0] == row]
        if text is None:
            assert [u[2] for u in mine] == ["empty"]
            continue
        sentences = split_sentences(text)
        assert [u[0] for u in mine] == [s.text for s in sentences]
        for (_, tokens, status, starts, ends), sentence in zip(mine, sentences, strict=True):
            if status is not None:  # the 30-word sentence: too long for max_tokens=20, alone
                assert status == "error:too_long: 31 tokens > data.max_tokens=20" and tokens == []
                continue
            assert tokens == treebank_word_tokenize(sentence.text)
            assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == tokens
            assert sentence.start <= starts[0] and ends[-1] <= sentence.end
    # Each chunk knows its units, so the stage can tell when all of a chunk's rows are back.
    chunks = sorted({b.chunk for b in batches})
    assert sum(store.units(c) for c in chunks) == len(units)
    assert len(units) == sum(len(split_sentences(t)) if t else 1 for t in documents)


def test_first_chunk_rows_with_several_sentences_are_counted_in_sentence_unit(tmp_path: Path) -> None:
    texts = ["Bir cümle. İkinci cümle.", "Tek cümle.", "Soru mu? Evet."] * 4
    _, store = _run(_write(tmp_path / "s.parquet", texts, row_group_size=100), batch_size=64)
    assert (store.several_sentences, store.first_rows) == (8, 12)
    _, store = _run(_write(tmp_path / "d.parquet", texts, row_group_size=100), batch_size=64, unit="document")
    assert store.several_sentences is None  # nothing to hint with data.unit=document
