"""Costs of documents (issue #13): the building blocks (sentence splitting, token offsets, input
readers), and a document corpus end to end against the same sentences one per row.

    .venv/bin/python bench/documents.py                 # building blocks, ~1 min on 2 cores
    .venv/bin/python bench/documents.py --rows 50000    # smaller reader files
    VNLP_BATCH_CACHE=/tmp/cache .venv/bin/python bench/documents.py --end-to-end --json e2e.json
                                                        # end to end: ~8 min on 2 cores (3 repeats),
                                                        # 12 min with --repeats 5

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
- End to end (`--end-to-end`): each corpus of `--corpora` written as JSON Lines (one document a
  row), and its texts cut by `split_sentences` written as Parquet (one sentence a row). `documents`:
  the document corpus repeated `--factor` times (default 20: 220 documents, 2,100 sentences, 28,700
  tokens; every sentence 20 times, which lets the fast decoders reuse work within a batch); `zipf`:
  as many documents of as many sentences, of fresh Zipf sentences (bench/zipf_corpus.py). The stage
  runs in this process (`run_inference`, as `app._infer` and the tests' `stage_runner` call it): the
  models loaded once (CPU, fast decoders, synthetic weights seed 0, exports from the cache), every
  run into a fresh output directory with the featurizer and tokenizer caches cleared first. For each
  task of `--tasks`, after one untimed run of each unit over the corpus ×1 (the process's first
  tf.data pipeline, the sessions' first batches): documents (`data.unit=document`) and sentences
  (`data.unit=sentence`) alternating, the first of the pair swapped each repeat, `--repeats` each.
  Reported: the medians of the stage's clock (`metrics.json` `wall_s`, from after warm-up: read,
  split, tokenize, decode, write) and of the whole `run_inference` call, tokens/s (both sides must
  count the same tokens: checked), the ratio documents / sentences, and the splitting share: the time
  spent in the loader's `split_sentences` (wrapped with a timer; it runs on tf.data's thread, so the
  wrapper adds under a lock) over the document run's time, wall and CPU (the splitter's thread CPU
  time over the process's). With task=all the document side also runs sentiment on each whole row
  (the row's `sentiment`, beside each sentence's), work the sentence side does not have.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
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


class SplitTimer:
    """Wraps `split_sentences` and adds up its wall and thread CPU time, from any thread."""

    def __init__(self, split) -> None:
        self.split = split
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.calls, self.wall_s, self.cpu_s = 0, 0.0, 0.0

    def __call__(self, text: str):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.split(text)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            with self.lock:
                self.calls += 1
                self.wall_s += wall
                self.cpu_s += cpu


def corpus_texts(name: str, factor: int) -> list[str]:
    """The documents of corpus `name`: `documents` is the document corpus ×`factor`; `zipf` has as
    many documents, each of as many sentences as its counterpart, of fresh Zipf sentences
    (bench/zipf_corpus.py: no sentence repeats, so no batch holds copies of a sentence)."""
    from vnlp_batch.corpus.sample import read_sample_documents
    from vnlp_batch.featurize.sentences import split_sentences

    texts = [d["text"] for d in read_sample_documents()] * factor
    if name == "documents":
        return texts
    import zipf_corpus

    counts = [len(split_sentences(t)) for t in texts]
    zipf = zipf_corpus.ZipfCorpus(zipf_corpus.build_vocabulary(100_000)).sentences(sum(counts), seed=13)
    out, start = [], 0
    for n in counts:
        out.append(" ".join(zipf[start : start + n]))
        start += n
    return out


def write_e2e_corpus(directory: Path, name: str, factor: int) -> dict:
    """Corpus `name` (`corpus_texts`) as JSON Lines, and its sentences one per row as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vnlp_batch.featurize.sentences import split_sentences
    from vnlp_batch.featurize.treebank import treebank_word_tokenize

    texts = corpus_texts(name, factor)
    documents = directory / "documents" / "documents.jsonl"
    documents.parent.mkdir(parents=True)
    with documents.open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    rows = [(i, k, s.text) for i, t in enumerate(texts) for k, s in enumerate(split_sentences(t))]
    sentences = directory / "sentences" / "sentences.parquet"
    sentences.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": pa.array(range(len(rows)), pa.int64()),
                "document": pa.array([r[0] for r in rows], pa.int64()),
                "sentence_in_document": pa.array([r[1] for r in rows], pa.int32()),
                "text": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
        sentences,
    )
    return {
        "corpus": name,
        "factor": factor,
        "documents": len(texts),
        "sentences": len(rows),
        "tokens": sum(len(treebank_word_tokenize(r[2])) for r in rows),
        "files": {"document": documents, "sentence": sentences},
    }


def run_stage(
    setup, task: str, data: Path, unit: str, work: Path, batch_size: int, timer: SplitTimer
) -> dict:
    """One `run_inference` call into a fresh output directory, from cleared caches."""
    import workloads

    from vnlp_batch.config.schema import AppConfig, DataConfig, OutputConfig, TaskConfig, WeightsConfig
    from vnlp_batch.featurize import treebank
    from vnlp_batch.inference.stage import run_inference
    from vnlp_batch.models.planning import models_for, plan_for

    run = work / f"{task}-{unit}-{len(list(work.iterdir()))}"
    cfg = AppConfig(
        task=TaskConfig(task),
        data=DataConfig(path=str(data), output_dir=str(run / "out"), unit=unit),
        output=OutputConfig(format=["parquet"]),
        runtime=workloads.cpu_runtime(),
        weights=WeightsConfig(source="synthetic", seed=0),
        stage="infer",
        cache_dir=str(setup.cache_dir),
        run_dir=str(run / "run"),
        batch_size=batch_size,
    )
    (run / "run").mkdir(parents=True)
    models = setup.models([spec.name for spec in models_for(task, "auto")], "fast")
    workloads.clear_caches()
    treebank.cache_clear()
    gc.collect()
    timer.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    report = run_inference(cfg, models, plan_for(task, "auto"), setup.weights.provenance)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    metrics = report.metrics
    if report.bad_files or report.status_counts.get("error") or report.status_counts.get("empty"):
        raise RuntimeError(f"{task} {unit}: bad files {report.bad_files}, statuses {report.status_counts}")
    return {
        "task": task,
        "unit": unit,
        "call_s": wall,
        "process_cpu_s": cpu,
        "wall_s": metrics["wall_s"],
        "tokens": metrics["tokens"],
        "rows": metrics["rows"],
        "sentences": metrics["counts"].get("sentences"),
        "tokens_per_s": metrics["tokens"] / metrics["wall_s"],
        "stages": metrics["stages"],
        "statuses": report.status_counts,
        "split_calls": timer.calls,
        "split_wall_s": timer.wall_s,
        "split_cpu_s": timer.cpu_s,
    }


def bench_end_to_end(
    corpora: list[str], tasks: list[str], factor: int, repeats: int, batch_size: int, cache_dir: Path
) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import machine
    import workloads

    from vnlp_batch.corpus.sample import read_sample_sentences
    from vnlp_batch.inference import loader

    load_before = machine.load_snapshot()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    setup = workloads.Setup.load(cache_dir, read_sample_sentences())
    timer = SplitTimer(loader.split_sentences)
    loader.split_sentences = timer
    runs: list[dict] = []
    written: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="vnlp_bench_documents_") as tmp:
            work = Path(tmp)
            warm_up = write_e2e_corpus(work / "warm-up", "documents", 1)
            (work / "runs").mkdir()
            for task in tasks:
                for unit in ("document", "sentence"):  # untimed: first dataset, sessions' first batches
                    run_stage(setup, task, warm_up["files"][unit], unit, work / "runs", batch_size, timer)
            for name in corpora:
                corpus = written[name] = write_e2e_corpus(work / name, name, factor)
                for task in tasks:
                    for repeat in range(repeats):
                        units = ("document", "sentence") if repeat % 2 == 0 else ("sentence", "document")
                        for unit in units:
                            data = corpus["files"][unit]
                            r = run_stage(setup, task, data, unit, work / "runs", batch_size, timer)
                            r.update(corpus=name, repeat=repeat)
                            runs.append(r)
                            print(
                                f"  {name} {task} {unit:<8} #{repeat + 1}: {r['tokens']:,} tokens, "
                                f"stage {r['wall_s']:.2f} s ({r['tokens_per_s']:,.0f} tok/s), "
                                f"call {r['call_s']:.2f} s, split {r['split_wall_s']:.3f} s",
                                flush=True,
                            )
    finally:
        loader.split_sentences = timer.split
    summary: dict[str, dict] = {}
    for name, corpus in written.items():
        corpus["files"] = {k: str(v) for k, v in corpus["files"].items()}
        summary[name] = {
            task: summarize(corpus, [r for r in runs if r["corpus"] == name and r["task"] == task])
            for task in tasks
        }
    return {
        "started": started,
        "machine": {"cpu": machine._cpu_model(), "cpus": os.cpu_count()},
        "load_before": load_before,
        "load_after": machine.load_snapshot(),
        "batch_size": batch_size,
        "repeats": repeats,
        "corpora": written,
        "summary": summary,
        "runs": runs,
    }


def summarize(corpus: dict, runs: list[dict]) -> dict:
    """Medians per unit, the ratios documents / sentences and the splitting shares of `runs`."""
    by_unit = {u: [r for r in runs if r["unit"] == u] for u in ("document", "sentence")}
    counted = {r["tokens"] for r in runs}
    if counted != {corpus["tokens"]}:
        raise AssertionError(f"{corpus['corpus']}: token counts {counted}, the corpus has {corpus['tokens']}")
    keys = ("wall_s", "call_s", "tokens_per_s", "process_cpu_s", "split_wall_s", "split_cpu_s")
    med = {u: {k: statistics.median(r[k] for r in rs) for k in keys} for u, rs in by_unit.items()}
    for m in med.values():
        m["call_tokens_per_s"] = corpus["tokens"] / m["call_s"]
    docs = by_unit["document"]
    return {
        "median": med,
        "ratio_tokens_per_s": med["document"]["tokens_per_s"] / med["sentence"]["tokens_per_s"],
        "ratio_call_tokens_per_s": med["document"]["call_tokens_per_s"]
        / med["sentence"]["call_tokens_per_s"],
        # time inside split_sentences on the loader's thread (its GIL waits included) / the stage's clock
        "split_wall_share": statistics.median(r["split_wall_s"] / r["wall_s"] for r in docs),
        "split_wall_share_of_call": statistics.median(r["split_wall_s"] / r["call_s"] for r in docs),
        # the splitter's own CPU time (its thread's) / the stage's clock, and / the process's CPU time
        "split_cpu_share": statistics.median(r["split_cpu_s"] / r["wall_s"] for r in docs),
        "split_cpu_share_of_cpu": statistics.median(r["split_cpu_s"] / r["process_cpu_s"] for r in docs),
        "split_calls": docs[0]["split_calls"],
    }


def print_end_to_end(result: dict) -> None:
    print(
        f"\nend to end: batch_size={result['batch_size']}, median of {result['repeats']}; "
        f"{result['machine']['cpus']} CPUs ({result['machine']['cpu']}); load average before "
        f"{[round(x, 2) for x in result['load_before']['loadavg']]}, "
        f"after {[round(x, 2) for x in result['load_after']['loadavg']]}"
    )
    for name, c in result["corpora"].items():
        print(
            f"- {name}: ×{c['factor']}, {c['documents']:,} documents, {c['sentences']:,} sentences, "
            f"{c['tokens']:,} tokens"
        )
    print(
        "\n| corpus | task | unit | stage s | tok/s (stage) | run_inference s | tok/s (call) "
        "| splitting s (wall / CPU) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name, tasks in result["summary"].items():
        for task, s in tasks.items():
            for unit, m in s["median"].items():
                print(
                    f"| {name} | {task} | {unit} | {m['wall_s']:.2f} | {m['tokens_per_s']:,.0f} | "
                    f"{m['call_s']:.2f} | {m['call_tokens_per_s']:,.0f} | "
                    f"{m['split_wall_s']:.3f} / {m['split_cpu_s']:.3f} |"
                )
            print(
                f"| {name} | {task} | documents / sentences | | **{s['ratio_tokens_per_s']:.2f}×** | | "
                f"{s['ratio_call_tokens_per_s']:.2f}× | |"
            )
    print("\nsplitting share of the document runs (target ≤ 5 % of a task=pos run):")
    print(
        "| corpus | task | calls | in split_sentences (wall) / stage | splitter CPU / stage "
        "| splitter CPU / process CPU |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, tasks in result["summary"].items():
        for task, s in tasks.items():
            print(
                f"| {name} | {task} | {s['split_calls']:,} | {s['split_wall_share']:.2%} | "
                f"{s['split_cpu_share']:.2%} | {s['split_cpu_share_of_cpu']:.2%} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows of each generated reader input")
    parser.add_argument("--batch-rows", type=int, default=4096)
    parser.add_argument("--pos-tokens-per-s", type=float, nargs="+", default=[6000.0, 10000.0])
    parser.add_argument("--read-one", help=argparse.SUPPRESS)
    parser.add_argument("--end-to-end", action="store_true", help="only the end-to-end part")
    parser.add_argument("--factor", type=int, default=20, help="end to end: copies of the document corpus")
    parser.add_argument("--repeats", type=int, default=3, help="end to end: runs of each task and unit")
    parser.add_argument("--tasks", nargs="+", default=["pos", "all"], choices=["pos", "all"])
    parser.add_argument(
        "--corpora",
        nargs="+",
        default=["documents", "zipf"],
        choices=["documents", "zipf"],
        help="end to end",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="end to end: batch_size (the CLI's default)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="export cache (default $VNLP_BATCH_CACHE or ~/.cache/vnlp_batch)"
    )
    parser.add_argument("--json", type=Path, help="end to end: also write the results here")
    args = parser.parse_args()
    if args.read_one:
        print(json.dumps(read_one(args.read_one, args.batch_rows)))
        return
    if args.end_to_end:
        from vnlp_batch.config.schema import default_cache_dir

        cache_dir = args.cache_dir or Path(default_cache_dir())
        result = bench_end_to_end(
            args.corpora, args.tasks, args.factor, args.repeats, args.batch_size, cache_dir
        )
        result["command"] = " ".join(["python", "bench/documents.py", *sys.argv[1:]])
        print_end_to_end(result)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
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
