"""The document corpus's derived files are what `python -m vnlp_batch.corpus.sample` makes of it."""

from __future__ import annotations

from pathlib import Path

from vnlp_batch.corpus.sample import (
    SAMPLE_DOCUMENTS_TXT,
    SAMPLE_SENTENCES_CSV,
    build_sample_documents_txt,
    build_sample_sentences_csv,
    read_sample_documents,
)


def test_derived_files_are_up_to_date(tmp_path: Path) -> None:
    assert build_sample_documents_txt(tmp_path / "d.txt").read_bytes() == SAMPLE_DOCUMENTS_TXT.read_bytes()
    assert build_sample_sentences_csv(tmp_path / "s.csv").read_bytes() == SAMPLE_SENTENCES_CSV.read_bytes()


def test_documents_separate_paragraphs_by_single_newlines() -> None:
    for document in read_sample_documents():
        text = document["text"]
        assert set(document) == {"id", "title", "text"}
        assert "\n\n" not in text and text == text.strip()  # a blank line would end a txt document
        assert all(line.strip() == line for line in text.split("\n"))
    added = [SAMPLE_DOCUMENTS_TXT, SAMPLE_DOCUMENTS_TXT.with_suffix(".jsonl"), SAMPLE_SENTENCES_CSV]
    assert sum(p.stat().st_size for p in added) < 100_000
