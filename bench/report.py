"""The benchmark's tables: Markdown (bench/results/latest.md, BENCHMARKS.md) and rich (terminal)."""

from __future__ import annotations

import math

from workloads import MODEL_ORDER, VNLP_CLASS

BATCH_SIZES = (16, 64, 256, 1024)


def _cells(out, **match):
    return [c for c in out["cells"] if all(c[k] == v for k, v in match.items())]


def _cell(out, model, path, corpus, b):
    found = _cells(out, model=model, path=path, corpus=corpus, batch_size=b)
    return found[0] if found and found[0]["repeats"] else None


def _fmt(x, digits=0):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _tps(c, repeats):
    if c is None:
        return "—"
    s = _fmt(c["tokens_per_s"])
    return s if c["repeats"] >= repeats else f"{s} (n={c['repeats']})"


def _best(out, model, path, corpus="zipf"):
    found = [c for c in _cells(out, model=model, path=path, corpus=corpus) if c["repeats"]]
    return max(found, key=lambda c: c["tokens_per_s"]) if found else None


def main_rows(out) -> list[list[str]]:
    repeats = out["config"]["repeats"]
    sgemm = out["sgemm"]["gflops"]
    sizes = [b for b in BATCH_SIZES if b in out["config"]["batch_sizes"]]
    rows = []
    for model in MODEL_ORDER:
        if model not in out["config"]["models"]:
            continue
        v = out.get("vnlp", {}).get(model)
        if v and "error" in v:
            rows.append(
                [VNLP_CLASS[model], "VNLP predict (batch 1)", *["" for _ in sizes], "error", "", "", ""]
            )
        elif v:
            rows.append(
                [
                    VNLP_CLASS[model],
                    "VNLP predict (batch 1)",
                    *["" for _ in sizes],
                    f"{_fmt(v['tokens_per_s'], 1)}",
                    "",
                    "",
                    "",
                ]
            )
        mono = _best(out, model, "monolithic")
        for path in ("monolithic", "fast"):
            b = _best(out, model, path)
            ratio = ""
            if path == "fast" and b and mono:
                ratio = f"{b['tokens_per_s'] / mono['tokens_per_s']:.1f}×"
            rows.append(
                [
                    "" if v or path == "fast" else VNLP_CLASS[model],
                    path,
                    *[_tps(_cell(out, model, path, "zipf", s), repeats) for s in sizes],
                    f"{_fmt(b['tokens_per_s'])} @{b['batch_size']}" if b else "—",
                    _fmt(b["useful_gflops"], 1) if b else "—",
                    f"{100 * b['useful_gflops'] / sgemm:.1f} %" if b else "—",
                    ratio,
                ]
            )
    return rows


def main_header(out) -> list[str]:
    sizes = [b for b in BATCH_SIZES if b in out["config"]["batch_sizes"]]
    return [
        "model",
        "path",
        *[f"B={s}" for s in sizes],
        "best tok/s",
        "useful GFLOP/s",
        "of sgemm",
        "fast/mono",
    ]


def cache_rows(out) -> list[list[str]]:
    rows = []
    for model in MODEL_ORDER:
        for corpus in ("zipf", "sample"):
            for c in _cells(out, model=model, path="fast", corpus=corpus):
                if not c["repeats"]:
                    continue
                rates = ", ".join(
                    f"{k.split('.')[-1]} {100 * v:.0f} %" for k, v in c["cache_hit_rates"].items()
                )
                ratio = sum(c["distinct_ratio"]) / len(c["distinct_ratio"])
                rows.append(
                    [
                        VNLP_CLASS[model],
                        corpus,
                        str(c["batch_size"]),
                        str(c["max_batch"]),
                        f"{sum(c['tokens']) // len(c['tokens']):,}",
                        f"{ratio:.2f}",
                        rates or "—",
                    ]
                )
    return rows


CACHE_HEADER = [
    "model",
    "corpus",
    "B",
    "largest batch",
    "tokens/repeat",
    "distinct/tokens per batch",
    "cache hit rates (cold start per repeat)",
]


def sample_rows(out) -> list[list[str]]:
    rows = []
    sgemm = out["sgemm"]["gflops"]
    repeats = out["config"]["repeats"]
    for model in MODEL_ORDER:
        for c in _cells(out, model=model, path="fast", corpus="sample"):
            zipf = _cell(out, model, "fast", "zipf", c["batch_size"])
            rows.append(
                [
                    VNLP_CLASS[model],
                    str(c["batch_size"]),
                    _tps(c, repeats),
                    _fmt(c["useful_gflops"], 1),
                    f"{100 * c['useful_gflops'] / sgemm:.1f} %",
                    _tps(zipf, repeats),
                ]
            )
    return rows


SAMPLE_HEADER = [
    "model",
    "B",
    "fast tok/s (sample)",
    "useful GFLOP/s",
    "of sgemm",
    "fast tok/s (Zipf, same B)",
]


def e2e_rows(out) -> list[list[str]]:
    rows = []
    for e in out.get("end_to_end", []):
        m = e["cli"]["metrics"]
        rows.append(
            [
                f"task={e['task']}",
                str(e["batch_size"]),
                e["corpus"],
                _fmt(m["tokens_per_s"]),
                _fmt(e["decoders_only"]["tokens_per_s"]),
                f"{100 * e['ratio']:.0f} %",
                ", ".join(f"{k} {v:.1f} s" for k, v in m.get("stages", {}).items()),
            ]
        )
    return rows


E2E_HEADER = [
    "run",
    "B",
    "corpus",
    "CLI tok/s (metrics.json)",
    "decoders only tok/s",
    "CLI / decoders",
    "CLI stages",
]


def target_rows(out) -> list[list[str]]:
    return [
        [t["target"], str(t["measured"]), str(t["goal"]), "met" if t["met"] else "MISSED", t["note"]]
        for t in out["targets"]
    ]


TARGET_HEADER = ["target", "measured", "goal", "", "note"]


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _blas(out) -> str:
    info = out["machine"].get("threadpoolctl")
    if isinstance(info, list):
        return "; ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{i.get('num_threads')} threads)"
            for i in info
        )
    return str(info)


def preamble(out) -> str:
    m = out["machine"]
    env = {k: v for k, v in m["blas_env"].items() if v is not None}
    zipf, sample = out["corpora"]["zipf"], out["corpora"]["sample"]
    load = [[round(x, 2) for x in out[k]["loadavg"]] for k in ("load_before", "load_after")]
    busy = [len(out[k].get("busy_processes") or []) for k in ("load_before", "load_after")]
    return "\n".join(
        [
            f"- command: `{out['command']}` ({out['config']['name']} configuration), "
            f"started {out['started_utc']}, took {out['elapsed_s'] / 60:.1f} min",
            f"- machine: {m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, numpy {m['numpy']}, "
            f"onnxruntime {m['onnxruntime']} (CPUExecutionProvider)",
            _runtime(out),
            f"- sgemm (numpy fp32 2048², median of 5, same process): "
            f"**{out['sgemm']['gflops']:.1f} GFLOP/s** (runs: {out['sgemm']['all_gflops']})",
            f"- BLAS (threadpoolctl): {_blas(out)}; BLAS env vars set: {env or 'none'}",
            f"- load average before / after: {load[0]} / {load[1]}; other busy processes at start: "
            f"{busy[0]}, at end: {busy[1]}",
            f"- corpora: Zipf {zipf['vocabulary']:,}-word vocabulary, {zipf['law']}, "
            f"{zipf['sentences_per_repeat']} fresh sentences per repeat "
            f"(lengths {zipf['sentence_tokens_min_mean_max']} tokens), "
            f"{zipf['distinct_tokens']:,} distinct of {zipf['tokens']:,} tokens drawn; "
            f"sample corpus {sample['sentences']} sentences, {sample['tokens']:,} tokens",
        ]
    )


def _runtime(out) -> str:
    r = out.get("runtime")
    if r is None:  # runs before lanes existed: one session with onnxruntime's default threads
        return "- sessions: onnxruntime's default threads, one run per graph call (no lanes)"
    each = r.get("session_threads")  # RuntimeConfig.session_threads(), recorded since session 4
    threads = f"{each} intra-op thread(s) each" if each else f"intra_op_threads={r['intra_op_threads']}"
    return (
        f"- sessions (every path, monolithic included): {r['lanes']} lane(s) of concurrent runs, "
        f"{threads}; graph optimization `{r['graph_optimization_level']}`, spin-wait {r['spin_wait']}"
    )


def markdown(out) -> str:
    parts = [
        "# vnlp-batch benchmark",
        "",
        preamble(out),
        "",
        "## Tokens/s, Zipf corpus (median of repeats; `n=` marks cells with fewer repeats)",
        "",
        _md_table(main_header(out), main_rows(out)),
        "",
        "## Targets",
        "",
        _md_table(TARGET_HEADER, target_rows(out)),
        "",
        "## Sample corpus (each sentence once per repeat)",
        "",
        _md_table(SAMPLE_HEADER, sample_rows(out)),
        "",
        "## End to end (Parquet in → Parquet out) vs decoders only",
        "",
        _md_table(E2E_HEADER, e2e_rows(out)) if out.get("end_to_end") else "not run",
        "",
        "## Per-word work: distinct words per batch and featurizer cache hit rates (fast path)",
        "",
        _md_table(CACHE_HEADER, cache_rows(out)),
        "",
        "## Workloads",
        "",
        *sorted(
            {
                f"- {c['path']} {VNLP_CLASS[c['model']]} B={c['batch_size']} ({c['corpus']}): {c['workload']}"
                for c in out["cells"]
                if c["path"] == "monolithic" or c["corpus"] == "sample"
            }
        ),
        "",
    ]
    return "\n".join(parts)


def print_rich(out) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, width=200)

    def show(title, header, rows):
        table = Table(title=title, show_lines=False)
        for h in header:
            table.add_column(h)
        for r in rows:
            table.add_row(*r)
        console.print(table)

    console.print(preamble(out))
    show("tokens/s, Zipf corpus", main_header(out), main_rows(out))
    show("targets", TARGET_HEADER, target_rows(out))
    show("sample corpus (fast)", SAMPLE_HEADER, sample_rows(out))
    if out.get("end_to_end"):
        show("end to end vs decoders only", E2E_HEADER, e2e_rows(out))
    show("per-word work and caches", CACHE_HEADER, cache_rows(out))
