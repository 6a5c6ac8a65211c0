"""The bundled Turkish sample corpora: their paths, readers, and the builders of their derived copies.

`sample/sample_tr.txt` is the source of truth for the sentence corpus (one sentence per line, written
for this project); `sample/sample_tr.parquet` is derived from it and shipped so that Parquet readers can
be tested and benchmarked without a download.

`sample/documents_tr.jsonl` is the source of truth for the document corpus (news-like documents
written for this project, fields `id`, `title`, `text`; paragraphs separated by single newlines).
`sample/documents_tr.txt` holds the same texts as plain text, one document per blank-line-separated
block, and `sample/sentences_tr.csv` the first sample sentences as CSV (`id`, `text`), for the input
format readers.

Rebuild the derived files after editing a source: `python -m vnlp_batch.corpus.sample`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vnlp_batch.files import atomic_open, atomic_write_bytes

SAMPLE_DIR: Path = Path(__file__).resolve().parent / "sample"
SAMPLE_TEXT: Path = SAMPLE_DIR / "sample_tr.txt"
SAMPLE_PARQUET: Path = SAMPLE_DIR / "sample_tr.parquet"
SAMPLE_DOCUMENTS_JSONL: Path = SAMPLE_DIR / "documents_tr.jsonl"
SAMPLE_DOCUMENTS_TXT: Path = SAMPLE_DIR / "documents_tr.txt"
SAMPLE_SENTENCES_CSV: Path = SAMPLE_DIR / "sentences_tr.csv"
CSV_SENTENCES = 60  # rows of sentences_tr.csv: enough for several record batches in the reader tests

# Small on purpose: the sample has a few hundred rows, and readers must see several record batches
# (and row groups) to exercise their batching and ordering logic.
ROW_GROUP_SIZE = 128

SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.string())])


def read_sample_sentences() -> list[str]:
    """The sample's sentences in file order: each line stripped, empty lines dropped."""
    with SAMPLE_TEXT.open(encoding="utf-8") as f:
        stripped = (line.strip() for line in f)
        return [line for line in stripped if line]


def read_sample_documents() -> list[dict[str, str]]:
    """The document corpus in file order: one dict per document with `id`, `title` and `text`."""
    with SAMPLE_DOCUMENTS_JSONL.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_sample_documents_txt(out: Path = SAMPLE_DOCUMENTS_TXT) -> Path:
    """Write the documents' texts as plain text, separated by one blank line, to `out`."""
    texts = [document["text"] for document in read_sample_documents()]
    atomic_write_bytes(Path(out), ("\n\n".join(texts) + "\n").encode())
    return Path(out)


def build_sample_sentences_csv(out: Path = SAMPLE_SENTENCES_CSV) -> Path:
    """Write the first `CSV_SENTENCES` sample sentences as CSV (`id`, `text`, quoted where needed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "text"])
    writer.writerows(enumerate(read_sample_sentences()[:CSV_SENTENCES]))
    atomic_write_bytes(Path(out), buffer.getvalue().encode())
    return Path(out)


def build_sample_parquet(out: Path = SAMPLE_PARQUET) -> Path:
    """Write the sample as Parquet (`id` = 0-based line number, `text`) to `out` and return `out`."""
    sentences = read_sample_sentences()
    table = pa.table({"id": pa.array(range(len(sentences)), pa.int64()), "text": sentences}, schema=SCHEMA)
    out = Path(out)
    with atomic_open(out, "wb") as f:
        pq.write_table(table, f, compression="zstd", row_group_size=ROW_GROUP_SIZE)
    return out


if __name__ == "__main__":
    path = build_sample_parquet()
    print(f"wrote {len(read_sample_sentences())} sentences to {path}")
    print(f"wrote {len(read_sample_documents())} documents to {build_sample_documents_txt()}")
    print(f"wrote {CSV_SENTENCES} sentences to {build_sample_sentences_csv()}")
