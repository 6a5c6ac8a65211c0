"""The bundled Turkish sample corpus: its paths, a reader, and the builder of its Parquet copy.

`sample/sample_tr.txt` is the source of truth (one sentence per line, written for this project);
`sample/sample_tr.parquet` is derived from it and shipped so that Parquet readers can be tested and
benchmarked without a download. Rebuild it after editing the text: `python -m vnlp_batch.corpus.sample`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SAMPLE_DIR: Path = Path(__file__).resolve().parent / "sample"
SAMPLE_TEXT: Path = SAMPLE_DIR / "sample_tr.txt"
SAMPLE_PARQUET: Path = SAMPLE_DIR / "sample_tr.parquet"

# Small on purpose: the sample has a few hundred rows, and readers must see several record batches
# (and row groups) to exercise their batching and ordering logic.
ROW_GROUP_SIZE = 128

SCHEMA = pa.schema([("id", pa.int64()), ("text", pa.string())])


def read_sample_sentences() -> list[str]:
    """The sample's sentences in file order: each line stripped, empty lines dropped."""
    with SAMPLE_TEXT.open(encoding="utf-8") as f:
        stripped = (line.strip() for line in f)
        return [line for line in stripped if line]


def build_sample_parquet(out: Path = SAMPLE_PARQUET) -> Path:
    """Write the sample as Parquet (`id` = 0-based line number, `text`) to `out` and return `out`."""
    sentences = read_sample_sentences()
    table = pa.table({"id": pa.array(range(len(sentences)), pa.int64()), "text": sentences}, schema=SCHEMA)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename: a reader (or a crash) never sees a half-written file,
    # and os.replace is atomic only within one filesystem.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_SIZE)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


if __name__ == "__main__":
    path = build_sample_parquet()
    print(f"wrote {len(read_sample_sentences())} sentences to {path}")
