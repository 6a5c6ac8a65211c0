"""Costs of the document building blocks (issue #13): sentence splitting, token offsets, input readers.

    .venv/bin/python bench/documents.py                 # ~1 min on the project's 2-core machine
    .venv/bin/python bench/documents.py --rows 50000    # smaller reader files

- Splitting: `featurize.sentences.split_sentences` (VNLP's rules, precompiled, with spans) against
  VNLP's own `SentenceSplitter.split_sentences` per paragraph, over the document corpus repeated;
  sentences/s and tokens/s (Treebank tokens of the split sentences), and the share of a `task=pos`
  run's time each would take at the given PoS speeds (`--pos-tokens-per-s`).
- Offsets: `featurize.offsets.treebank_token_spans` per sentence, tokens given (tokens/s), next to
  the cached Treebank tokenizer's own speed on the same sentences.
- Readers: every input format (and gzip/zstd) over a generated file of `--rows` rows, each read in a
  child process: rows/s, MB/s of text, the largest batch, and the child's RSS after its imports and
  at its highest while reading (sampled after every batch; `ru_maxrss` would report the parent's
  peak, which a forked child inherits).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPEAT = 60  # document corpus copies: ~50,000 tokens


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_splitting(pos_rates: list[float]) -> dict:
    from vnlp_batch.corpus.sample import read_sample_documents
    from vnlp_batch.featurize.offsets import treebank_token_spans
    from vnlp_batch.featurize.sentences import split_sentences, vnlp_sentence_splitter
    from vnlp_batch.featurize.treebank import cache_clear, treebank_word_tokenize

    texts = [d["text"] for d in read_sample_documents()] * REPEAT
    sentences = [s for t in texts for s in split_sentences(t)]
    tokens = [treebank_word_tokenize(s.text) for s in sentences]
    n_tokens = sum(map(len, tokens))
    vnlp = vnlp_sentence_splitter().split_sentences

    ours = best_of(lambda: [split_sentences(t) for t in texts])
    theirs = best_of(lambda: [vnlp(p) for t in texts for p in t.split("\n")])
    by_text = [(t, s) for t in texts for s in split_sentences(t)]
    offsets = best_of(
        lambda: [
            treebank_token_spans(t, k, s.start, s.end) for (t, s), k in zip(by_text, tokens, strict=True)
        ]
    )

    def tokenize_cold() -> None:
        cache_clear()
        [treebank_word_tokenize(s.text) for s in sentences]

    tokenize = best_of(tokenize_cold)
    result = {
        "documents": len(texts),
        "sentences": len(sentences),
        "tokens": n_tokens,
        "split_sentences": {"sentences_per_s": len(sentences) / ours, "tokens_per_s": n_tokens / ours},
        "vnlp_split_sentences": {
            "sentences_per_s": len(sentences) / theirs,
            "tokens_per_s": n_tokens / theirs,
        },
        "treebank_token_spans": {"tokens_per_s": n_tokens / offsets},
        "treebank_word_tokenize_cold_cache": {"tokens_per_s": n_tokens / tokenize},
    }
    result["share_of_pos_run"] = {
        f"{rate:.0f}": {
            "split_sentences": rate / result["split_sentences"]["tokens_per_s"],
            "vnlp_split_sentences": rate / result["vnlp_split_sentences"]["tokens_per_s"],
            "treebank_token_spans": rate / result["treebank_token_spans"]["tokens_per_s"],
        }
        for rate in pos_rates
    }
    return result


def write_inputs(directory: Path, rows: int) -> dict[str, Path]:
    """The same rows (a sample sentence, cycled, with its row number) in every input format."""
    from vnlp_batch.corpus.sample import read_sample_sentences

    sentences = read_sample_sentences()
    texts = [f"{i}. {sentences[i % len(sentences)]}" for i in range(rows)]
    files = {}
    jsonl = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    csv_lines = ["id,text\n"] + [f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(texts)]
    tsv_lines = ["id\ttext\n"] + [f"{i}\t{t}\n" for i, t in enumerate(texts)]
    contents = {
        "jsonl": jsonl,
        "csv": "".join(csv_lines),
        "tsv": "".join(tsv_lines),
        "txt": "\n".join(texts) + "\n",
    }
    for name, content in contents.items():
        data = content.encode()
        files[name] = directory / f"rows.{name}"
        files[name].write_bytes(data)
    files["jsonl.gz"] = directory / "rows.jsonl.gz"
    files["jsonl.gz"].write_bytes(gzip.compress(contents["jsonl"].encode(), compresslevel=6))
    import pyarrow as pa
    import pyarrow.parquet as pq

    files["jsonl.zst"] = directory / "rows.jsonl.zst"
    with pa.output_stream(str(files["jsonl.zst"]), compression="zstd") as f:
        f.write(contents["jsonl"].encode())
    files["parquet"] = directory / "rows.parquet"
    pq.write_table(pa.table({"id": list(range(rows)), "text": texts}), files["parquet"], row_group_size=8192)
    return files


def read_one(path: str, batch_rows: int) -> dict:
    """Run in a child process: read `path` through corpus.formats, report speed and peak RSS."""
    import psutil

    from vnlp_batch.corpus.formats import iter_record_batches

    process = psutil.Process()
    rss_before = peak = process.memory_info().rss
    start = time.perf_counter()
    rows = chars = largest = 0
    for batch in iter_record_batches(Path(path), batch_rows):
        rows += batch.num_rows
        largest = max(largest, batch.num_rows)
        chars += sum(len(t) for t in batch.column("text").to_pylist() if t)
        peak = max(peak, process.memory_info().rss)
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "text_mb_per_s": chars / seconds / 1e6,
        "largest_batch": largest,
        "rss_after_imports_mb": rss_before / 2**20,
        "peak_rss_mb": peak / 2**20,
    }


def bench_readers(rows: int, batch_rows: int) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in write_inputs(Path(tmp), rows).items():
            out = subprocess.run(
                [sys.executable, __file__, "--read-one", str(path), "--batch-rows", str(batch_rows)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[name] = {"file_mb": path.stat().st_size / 1e6, **json.loads(out.stdout)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows of each generated reader input")
    parser.add_argument("--batch-rows", type=int, default=4096)
    parser.add_argument("--pos-tokens-per-s", type=float, nargs="+", default=[6000.0, 10000.0])
    parser.add_argument("--read-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_one:
        print(json.dumps(read_one(args.read_one, args.batch_rows)))
        return

    splitting = bench_splitting(args.pos_tokens_per_s)
    print(f"document corpus x{REPEAT}: {splitting['sentences']:,} sentences, {splitting['tokens']:,} tokens")
    for key in (
        "split_sentences",
        "vnlp_split_sentences",
        "treebank_token_spans",
        "treebank_word_tokenize_cold_cache",
    ):
        rates = splitting[key]
        shown = ", ".join(f"{v:,.0f} {k.replace('_per_s', '/s')}" for k, v in rates.items())
        print(f"  {key:<36} {shown}")
    for rate, shares in splitting["share_of_pos_run"].items():
        shown = ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
        print(f"  share of a task=pos run at {rate} tokens/s: {shown}")

    readers = bench_readers(args.rows, args.batch_rows)
    print(f"readers, {args.rows:,} rows, batch_rows={args.batch_rows}:")
    header = ("format", "file MB", "rows/s", "text MB/s", "largest batch", "RSS MB: start", "peak")
    print(
        f"  {header[0]:<10} {header[1]:>8} {header[2]:>10} {header[3]:>10} {header[4]:>14} {header[5]:>14}"
        f" {header[6]:>6}"
    )
    for name, r in readers.items():
        print(
            f"  {name:<10} {r['file_mb']:>8.1f} {r['rows_per_s']:>10,.0f} {r['text_mb_per_s']:>10.1f} "
            f"{r['largest_batch']:>14,} {r['rss_after_imports_mb']:>14.0f} {r['peak_rss_mb']:>6.0f}"
        )
    print(json.dumps({"splitting": splitting, "readers": readers}, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
