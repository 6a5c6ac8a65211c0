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

from vnlp_batch.corpus.outputs.conllu_writer import ConlluWriter
from vnlp_batch.corpus.outputs.jsonl_writer import JsonlWriter
from vnlp_batch.corpus.outputs.names import OUTPUT_EXTENSIONS, OUTPUT_FORMATS, output_name

__all__ = ["OUTPUT_EXTENSIONS", "OUTPUT_FORMATS", "ConlluWriter", "JsonlWriter", "output_name"]
