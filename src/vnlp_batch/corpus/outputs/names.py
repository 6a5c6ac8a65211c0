"""Output formats by name, and the output file's name for an input (imported by the config, so it
imports no writer)."""

from __future__ import annotations

from pathlib import Path

from vnlp_batch.corpus.formats.names import COMPRESSION_EXTENSIONS, EXTENSIONS

OUTPUT_FORMATS: tuple[str, ...] = ("parquet", "conllu", "jsonl")
OUTPUT_EXTENSIONS = {"parquet": ".parquet", "conllu": ".conllu", "jsonl": ".jsonl"}


def output_name(input_file: Path, output_format: str) -> str:
    """The output file's name: the input's name without its compression and format extensions, plus
    the output format's extension (`news.jsonl.gz` → `news.parquet`; `x.parquet` stays `x.parquet`).

    Inputs that differ only in their extensions (`a.csv`, `a.jsonl`) get the same name: the caller
    must refuse such a set of inputs.
    """
    if output_format not in OUTPUT_EXTENSIONS:
        raise ValueError(
            f"unknown output format {output_format!r}; choose one of: {', '.join(OUTPUT_FORMATS)}"
        )
    name = Path(input_file).name
    lowered = name.lower()
    for compression in COMPRESSION_EXTENSIONS:
        if lowered.endswith(compression):
            name, lowered = name[: -len(compression)], lowered[: -len(compression)]
            break
    for extension in (e for extensions in EXTENSIONS.values() for e in extensions):
        if lowered.endswith(extension) and len(lowered) > len(extension):
            name = name[: -len(extension)]
            break
    return name + OUTPUT_EXTENSIONS[output_format]
