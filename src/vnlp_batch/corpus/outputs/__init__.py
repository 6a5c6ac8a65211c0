"""Output formats besides Parquet: CoNLL-U and JSON Lines, written atomically from annotated batches.

Both writers take the record batches the Parquet writer (`corpus.writer.AnnotatedFileWriter`) gets:
the input columns, then the annotation columns of `corpus.schema` (with `spans=True`: `sentence`,
`token_start`, `token_end`, `sentence_sentiment`, ...). Like it they are context managers whose file
appears under its final name only on `commit()` (a temporary beside it, fsynced and renamed; the
temporary's name is `files.temporary_path`'s, so `remove_stale_temporaries` cleans up after
a killed run).

How the stage will use this (wired into the stage in a follow-up, with `output.format`): for each
input file and each output format, open `ConlluWriter` / `JsonlWriter` (or the Parquet writer) at
`output_dir / output_name(input_file, format)`, `write()` every annotated batch, `commit()`; put
`ConlluWriter.out_of_range_heads` into metrics.json.
"""

from __future__ import annotations

from pathlib import Path

from vnlp_batch.corpus.formats.names import COMPRESSION_EXTENSIONS, EXTENSIONS
from vnlp_batch.corpus.outputs.conllu_writer import ConlluWriter
from vnlp_batch.corpus.outputs.jsonl_writer import JsonlWriter

OUTPUT_FORMATS: tuple[str, ...] = ("parquet", "conllu", "jsonl")
OUTPUT_EXTENSIONS = {"parquet": ".parquet", "conllu": ".conllu", "jsonl": ".jsonl"}

__all__ = ["OUTPUT_EXTENSIONS", "OUTPUT_FORMATS", "ConlluWriter", "JsonlWriter", "output_name"]


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
