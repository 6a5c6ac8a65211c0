"""`featurize.sentences`: VNLP's own sentences, per paragraph, each mapped back to its span in the row.

`vnlp_split_sentences` is compared with VNLP's `SentenceSplitter.split_sentences` on the whole sample
corpus (line by line and run together into paragraphs), on every paragraph of the document corpus
and on generated text made of what the splitter's rules react to.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vnlp_batch.corpus.sample import read_sample_documents, read_sample_sentences
from vnlp_batch.featurize.sentences import (
    LINE_BREAKS,
    Sentence,
    collapse_spaces,
    paragraph_spans,
    split_sentences,
    vnlp_sentence_splitter,
    vnlp_split_sentences,
)


def vnlp_split(text: str) -> list[str]:
    """VNLP 0.2.4's own function."""
    return vnlp_sentence_splitter().split_sentences(text)


def sample_paragraphs() -> list[str]:
    """Sample sentences one by one, then seven at a time as run-on paragraphs, then the documents'
    paragraphs."""
    sentences = read_sample_sentences()
    runs = [" ".join(sentences[i : i + 7]) for i in range(0, len(sentences), 7)]
    documents = [p for d in read_sample_documents() for p in d["text"].split("\n")]
    return sentences + runs + documents


# What the rules look at: sentence-final punctuation, quotes of every kind, brackets, abbreviations
# from VNLP's table (default and numeric-only ones), acronyms, digits, upper and lower case letters
# (Turkish ones too), and whitespace of several kinds, including line breaks.
_FRAGMENTS = [
    *".?!…",
    *"\"'“”‘’«»()[]%-",
    " ",
    "  ",
    "\t",
    "\n",
    "\u00a0",
    "...",
    "Dr.",
    "Dr",
    "vb.",
    "vb",
    "T.C.",
    "No.",
    "s.",
    "Prof.",
    "ABD.",
    "14.30",
    "3",
    "2024",
    "Ali",
    "İstanbul",
    "Çok",
    "ev",
    "gitti",
    "ş",
    "¿",
    "¡",
    "漢",
]
_generated = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)


def test_equal_to_vnlp_on_the_sample_and_document_corpora() -> None:
    paragraphs = sample_paragraphs()
    assert len(paragraphs) > 400
    differing = [p for p in paragraphs if vnlp_split_sentences(p) != vnlp_split(p)]
    assert differing == []
    # The corpus exercises the rules: abbreviations, breaks after ? ! ... and quotes all occur.
    split = [s for p in paragraphs for s in vnlp_split(p)]
    assert any("Dr. " in s for s in split)
    assert any(s.endswith("?") for s in split)
    assert any(s.endswith('."') or s.endswith(".”") for s in split)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated)
# Cases the generator rarely builds: an abbreviation followed by closing punctuation (then it breaks),
# and a period right before a line break and a space (where `$` matches before a word's final newline).
@example('Dr". Ali geldi.')
@example("geldi.\n Ali geldi. Sonra.\n\n Veli")
def test_equal_to_vnlp_on_generated_text(text: str) -> None:
    assert vnlp_split_sentences(text) == vnlp_split(text)


def test_document_sentences_are_vnlp_sentences_of_each_paragraph() -> None:
    for document in read_sample_documents():
        text = document["text"]
        expected = [s for p in text.split("\n") for s in vnlp_split(p) if s]
        got = split_sentences(text)
        assert [s.text for s in got] == expected
        # Splitting the paragraphs first changes nothing VNLP would do on the whole document:
        # its rules never cross a line break, and it splits at line breaks itself.
        assert [s for s in vnlp_split(text) if s] == expected
        assert [s.paragraph for s in got] == sorted(s.paragraph for s in got)
        assert max(s.paragraph for s in got) + 1 == len(text.split("\n"))


def test_document_corpus_is_what_the_issue_asks_for() -> None:
    documents = read_sample_documents()
    assert 8 <= len(documents) <= 12
    assert len({d["id"] for d in documents}) == len(documents)
    for document in documents:
        assert 50 <= len(document["text"].split()) <= 350
        assert "\n" in document["text"]
    text = "\n".join(d["text"] for d in documents)
    for needle in ['"', "“", "‘", "Dr.", "vb.", "T.C.", "14.30", "https://", "@", "%"]:
        assert needle in text, needle
    longest = max(len(s.text.split()) for d in documents for s in split_sentences(d["text"]))
    assert longest > 40


def assert_spans(text: str, sentences: list[Sentence]) -> None:
    """Sentences in order, disjoint, inside their paragraph, and equal to the text they span."""
    paragraphs = paragraph_spans(text)
    previous_end = 0
    for sentence in sentences:
        assert previous_end <= sentence.start < sentence.end <= len(text)
        p_start, p_end = paragraphs[sentence.paragraph]
        assert p_start <= sentence.start and sentence.end <= p_end
        assert collapse_spaces(text[sentence.start : sentence.end]) == sentence.text
        assert not text[sentence.start].isspace() and not text[sentence.end - 1].isspace()
        previous_end = sentence.end
    # Nothing but whitespace is left out of the sentences.
    covered = [False] * len(text)
    for sentence in sentences:
        covered[sentence.start : sentence.end] = [True] * (sentence.end - sentence.start)
    assert all(c or ch.isspace() for c, ch in zip(covered, text, strict=True))


def test_spans_on_the_corpora() -> None:
    for document in read_sample_documents():
        assert_spans(document["text"], split_sentences(document["text"]))
    for paragraph in sample_paragraphs():
        assert_spans(paragraph, split_sentences(paragraph))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_generated)
def test_spans_on_generated_text(text: str) -> None:
    sentences = split_sentences(text)
    assert_spans(text, sentences)
    paragraphs = [text[a:b] for a, b in paragraph_spans(text)]
    assert [s.text for s in sentences] == [s for p in paragraphs for s in vnlp_split(p) if s]


def test_collapsed_spaces_and_line_endings_map_to_their_spans() -> None:
    text = "  Ali  geldi.   Veli gitti!\r\n\r\n\tAyşe   de \tgeldi.  \n   \n"
    got = split_sentences(text)
    assert [s.text for s in got] == ["Ali geldi.", "Veli gitti!", "Ayşe de \tgeldi."]
    assert [text[s.start : s.end] for s in got] == ["Ali  geldi.", "Veli gitti!", "Ayşe   de \tgeldi."]
    assert [s.paragraph for s in got] == [0, 0, 1]


def test_blank_and_empty_rows_have_no_sentence() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\r\n \u2028") == []


def test_line_breaks_are_those_of_splitlines() -> None:
    breaking = {chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) == 2}
    assert breaking == set(LINE_BREAKS)


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\r", "\u2029", "\n\n\n"])
def test_each_line_break_ends_a_paragraph(separator: str) -> None:
    text = f"Bir. İki{separator}Üç dört."
    assert [(s.text, s.paragraph) for s in split_sentences(text)] == [
        ("Bir.", 0),
        ("İki", 0),
        ("Üç dört.", 1),
    ]
