"""`corpus.formats`: every input format read as ordered, bounded record batches, every bad input named.

Row-level problems come out as rows with an `INPUT_ERROR_COLUMN` reason, in place; file-level ones
raise `BadFileError` naming the file and the line. Each case of each format is exercised here.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vnlp_batch.corpus import formats
from vnlp_batch.corpus import reader as parquet_reader
from vnlp_batch.corpus.errors import BadFileError, InputError, SchemaError
from vnlp_batch.corpus.formats import batches as batches_module
from vnlp_batch.corpus.formats import streams, text
from vnlp_batch.corpus.sample import (
    CSV_SENTENCES,
    SAMPLE_DOCUMENTS_JSONL,
    SAMPLE_DOCUMENTS_TXT,
    SAMPLE_PARQUET,
    SAMPLE_SENTENCES_CSV,
    read_sample_documents,
    read_sample_sentences,
)
from vnlp_batch.corpus.schema import INPUT_ERROR_COLUMN

ERR = INPUT_ERROR_COLUMN


def rows(path: Path, batch_rows: int = 1000, **kwargs) -> list[dict]:
    return [r for b in formats.iter_record_batches(path, batch_rows, **kwargs) for r in b.to_pylist()]


def compress(path: Path, codec: str) -> Path:
    """A gzip (Python's gzip) or zstd (pyarrow) copy of `path` named with the codec's extension."""
    data = path.read_bytes()
    if codec == "gzip":
        out = path.with_name(path.name + ".gz")
        out.write_bytes(gzip.compress(data))
    else:
        out = path.with_name(path.name + ".zst")
        with pa.output_stream(str(out), compression="zstd") as f:
            f.write(data)
    return out


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- names and detection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.parquet", ("parquet", None)),
        ("a.jsonl", ("jsonl", None)),
        ("a.JSON", ("jsonl", None)),
        ("a.jsonl.gz", ("jsonl", "gzip")),
        ("a.json.zst", ("jsonl", "zstd")),
        ("a.csv.gz", ("csv", "gzip")),
        ("a.tsv", ("tsv", None)),
        ("a.2024.txt.zst", ("txt", "zstd")),
        ("a.parquet.gz", (None, "gzip")),
        ("a.xml", (None, None)),
        ("README", (None, None)),
    ],
)
def test_format_from_name(name: str, expected: tuple) -> None:
    assert formats.format_from_name(Path(name)) == expected


def test_unknown_name_is_a_one_line_error_naming_file_and_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "corpus.xml", "<a/>")
    with pytest.raises(InputError) as info:
        formats.check_readable(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for shown in ("Parquet (.parquet)", "JSON Lines (.jsonl, .json)", "CSV (.csv)", "TSV", ".txt", ".zst"):
        assert shown in message
    # Named explicitly, the same file is read as that format (here: text).
    assert formats.check_readable(path, "txt") is None
    with pytest.raises(InputError, match="unknown input format 'xml'"):
        formats.check_readable(path, "xml")


def test_compression_is_read_from_the_bytes(tmp_path: Path) -> None:
    plain = write(tmp_path, "docs.jsonl", '{"text": "a"}\n')
    gz = compress(plain, "gzip")
    renamed = gz.rename(tmp_path / "docs.data")
    assert formats.detect_format(renamed, "jsonl") == ("jsonl", "gzip")
    assert rows(renamed, format="jsonl") == [{"text": "a", ERR: None}]
    lying = write(tmp_path, "lying.jsonl.gz", '{"text": "a"}\n')
    with pytest.raises(BadFileError, match="says gzip-compressed but its content is not compressed"):
        formats.check_readable(lying)


# --- the sample files, in every format and compression --------------------------------------------


@pytest.mark.parametrize("codec", [None, "gzip", "zstd"])
def test_sample_files_read_as_their_sources(tmp_path: Path, codec: str | None) -> None:
    documents = read_sample_documents()
    sentences = read_sample_sentences()
    sources = {}
    for source in (SAMPLE_DOCUMENTS_JSONL, SAMPLE_DOCUMENTS_TXT, SAMPLE_SENTENCES_CSV):
        copy = tmp_path / source.name
        copy.write_bytes(source.read_bytes())
        sources[source.suffix] = compress(copy, codec) if codec else copy

    assert rows(sources[".jsonl"], 4) == [{**d, ERR: None} for d in documents]
    in_documents = rows(sources[".txt"], 4, unit="document")
    assert [r["text"] for r in in_documents] == [d["text"] for d in documents]
    assert in_documents[0]["line"] == 1
    raw_lines = SAMPLE_DOCUMENTS_TXT.read_text(encoding="utf-8").split("\n")[:-1]
    in_lines = rows(sources[".txt"], 4)
    assert [r["text"] for r in in_lines] == raw_lines
    assert [r["line"] for r in in_lines] == list(range(1, len(raw_lines) + 1))
    assert rows(sources[".csv"], 7) == [
        {"id": str(i), "text": s, ERR: None} for i, s in enumerate(sentences[:CSV_SENTENCES])
    ]


def test_parquet_through_formats_is_the_parquet_reader_plus_an_empty_error_column() -> None:
    ours = list(formats.iter_record_batches(SAMPLE_PARQUET, 50, ["text"]))
    theirs = list(parquet_reader.iter_record_batches(SAMPLE_PARQUET, 50, ["text"]))
    assert [b.num_rows for b in ours] == [b.num_rows for b in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.schema.names == ["text", ERR]
        assert a.column(0).equals(b.column(0))
        assert a.column(1).null_count == a.num_rows
    assert formats.read_schema(SAMPLE_PARQUET) == pq.read_schema(SAMPLE_PARQUET)


@pytest.mark.parametrize("path", [SAMPLE_DOCUMENTS_JSONL, SAMPLE_DOCUMENTS_TXT, SAMPLE_SENTENCES_CSV])
def test_batches_are_ordered_bounded_and_never_empty(path: Path) -> None:
    everything = rows(path, 10_000, unit="document")
    for batch_rows in (1, 3, 5):
        batches = list(formats.iter_record_batches(path, batch_rows, unit="document"))
        assert all(0 < b.num_rows <= batch_rows for b in batches)
        assert [r for b in batches for r in b.to_pylist()] == everything


def test_columns_are_selected_and_ordered_and_missing_ones_named() -> None:
    got = list(formats.iter_record_batches(SAMPLE_DOCUMENTS_JSONL, 100, ["text", "id"]))
    assert got[0].schema.names == ["text", "id", ERR]
    with pytest.raises(SchemaError, match=r"'body'.*available columns: id \(string\), title \(string\)"):
        list(formats.iter_record_batches(SAMPLE_DOCUMENTS_JSONL, 100, ["body"]))


def test_batches_are_also_cut_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches_module, "BATCH_BYTES", 2000)
    batches = list(formats.iter_record_batches(SAMPLE_DOCUMENTS_JSONL, 1000))
    assert len(batches) > 3
    assert sum(b.num_rows for b in batches) == len(read_sample_documents())


def test_a_large_file_streams_in_bounded_batches(tmp_path: Path) -> None:
    # 200,000 lines, gzip-compressed: batches never exceed batch_rows and come in order; the reader
    # holds one batch at a time (peak memory is measured in bench/documents.py).
    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for i in range(200_000):
            f.write(f'{{"id": {i}, "text": "Satır {i} burada."}}\n')
    seen = 0
    largest = 0
    for batch in formats.iter_record_batches(path, 4096, ["id"]):
        ids = batch.column("id").to_numpy()
        assert ids[0] == seen and ids[-1] == seen + batch.num_rows - 1
        seen += batch.num_rows
        largest = max(largest, batch.num_rows)
    assert seen == 200_000
    assert largest == 4096


# --- JSON Lines ------------------------------------------------------------------------------------


def test_jsonl_row_level_errors_keep_their_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vnlp_batch.corpus.formats import jsonl

    monkeypatch.setattr(jsonl, "SCHEMA_SAMPLE_BYTES", 10)  # the columns' types come from line 1
    lines = [
        '{"id": 1, "text": "Bir.", "score": 0.5}',
        "[1, 2]",  # not an object
        '{"id": 2, "text": "Eksik"',  # malformed JSON
        "",  # blank: not a row
        '{"id": 3, "body": "yok"}',  # no text field
        '{"id": 4, "text": 5}',  # text of the wrong type
        '{"id": "beş", "text": "Tip.", "score": 1}',  # id of the wrong type; int into float is fine
        '{"id": 6, "text": null}',  # null text: an ordinary row (status `empty` later)
        '{"id": 7, "text": "Son.", "score": "yüksek"}',
    ]
    path = write(tmp_path, "bad.jsonl", "\n".join(lines) + "\n")
    path.write_bytes(path.read_bytes() + b'{"id": 8, "text": "\xff"}\n')  # not UTF-8
    got = rows(path, 3)
    assert [r[ERR] for r in got] == [
        None,
        "line 2: a JSON list, not an object",
        "line 3: invalid JSON: Expecting ',' delimiter (column 26)",
        "line 5: no field 'text'",
        "line 6: field 'text': 5 does not fit the column's type string",
        "line 7: field 'id': 'beş' does not fit the column's type int64",
        None,
        "line 9: field 'score': 'yüksek' does not fit the column's type double",
        "line 10: not valid UTF-8 (byte 20)",
    ]
    assert [r["id"] for r in got] == [1, None, None, 3, 4, None, 6, 7, None]
    assert [r["text"] for r in got] == ["Bir.", None, None, None, None, "Tip.", None, "Son.", None]
    assert [r["score"] for r in got][6:8] == [None, None]


def test_jsonl_columns_come_from_the_first_mebibyte(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vnlp_batch.corpus.formats import jsonl

    monkeypatch.setattr(jsonl, "SCHEMA_SAMPLE_BYTES", 100)
    lines = [
        '{"id": 1, "meta": "a", "text": "Bir."}',
        '{"id": 2, "meta": {"k": [1, 2]}, "text": "İki.", "tags": null}',
        '{"id": 3, "meta": 7, "text": "Üç."}',
        '{"id": 4, "text": "Dört.", "late": true}',
        '{"id": 5, "text": "Beş.", "late": false}',
    ]
    path = write(tmp_path, "docs.jsonl", "\n".join(lines))  # no final newline
    schema = formats.read_schema(path)
    # The first two lines make the sample; `tags` is all null there, so it is a string column.
    assert schema == pa.schema(
        [("id", pa.int64()), ("meta", pa.string()), ("text", pa.string()), ("tags", pa.string())]
    )
    with caplog.at_level(logging.WARNING):
        got = rows(path)
    # A string column keeps other values as their JSON text; `late` came after the sample.
    assert [r["meta"] for r in got] == ["a", '{"k": [1, 2]}', "7", None, None]
    assert all(r[ERR] is None for r in got)
    warnings = [r.getMessage() for r in caplog.records if "late" in r.getMessage()]
    assert len(warnings) == 1 and "line 4: field 'late'" in warnings[0]


def test_jsonl_without_the_text_field_is_refused_up_front(tmp_path: Path) -> None:
    path = write(tmp_path, "docs.jsonl", '{"body": "x", "n": 1}\n')
    assert formats.check_readable(path) is None  # readable JSON Lines: the column is checked apart
    with pytest.raises(SchemaError) as info:
        formats.check_text_column(path, "text", None)
    assert str(info.value) == (
        f"{path}: text column 'text' not found; available columns: body (string), n (int64) "
        "(the keys found in the file's first 1 MiB); did you mean data.text_column=body?"
    )
    assert formats.check_text_column(path, "body", None).names == ["body", "n"]
    assert rows(path, text_column="body") == [{"body": "x", "n": 1, ERR: None}]
    empty = write(tmp_path, "empty.jsonl", "")
    assert formats.check_readable(empty) is None
    assert formats.check_text_column(empty, "text", None).names == ["text"]
    assert rows(empty) == []


def test_jsonl_too_long_lines_and_truncated_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MAX_LINE_BYTES", 64)
    path = write(tmp_path, "long.jsonl", '{"text": "kısa"}\n{"text": "' + "a" * 200 + '"}\n{"text": "son"}')
    assert [(r["text"], r[ERR]) for r in rows(path)] == [
        ("kısa", None),
        (None, "line 2: longer than 64 bytes"),
        ("son", None),
    ]
    monkeypatch.undo()
    big = tmp_path / "big.jsonl"
    big.write_text("".join(f'{{"text": "cümle {i}"}}\n' for i in range(50_000)), encoding="utf-8")
    data = compress(big, "gzip").read_bytes()
    truncated = write(tmp_path, "cut.jsonl.gz", data[: len(data) // 2])
    with pytest.raises(BadFileError) as info:
        rows(truncated)
    assert str(truncated) in str(info.value) and "unreadable after line" in str(info.value)


# --- CSV and TSV -----------------------------------------------------------------------------------


def test_csv_rows_errors_and_line_numbers(tmp_path: Path) -> None:
    content = (
        "\ufeffid,text\r\n"  # a byte-order mark and CRLF line ends
        '1,"Virgül, tırnak ""iç"" ve\r\nyeni satır"\r\n'  # a quoted field over two lines
        "\r\n"  # blank: not a row
        "2,fazla,alan\r\n"
        "3\r\n"
        "007,Sıfırlar kalır\r\n"
        ',""\r\n'
    )
    path = write(tmp_path, "c.csv", content)
    assert formats.read_schema(path) == pa.schema([("id", pa.string()), ("text", pa.string())])
    assert rows(path, 2) == [
        {"id": "1", "text": 'Virgül, tırnak "iç" ve\nyeni satır', ERR: None},
        {"id": "2", "text": "fazla", ERR: "line 5: 3 field(s), but the header has 2"},
        {"id": "3", "text": None, ERR: "line 6: 1 field(s), but the header has 2"},
        {"id": "007", "text": "Sıfırlar kalır", ERR: None},
        {"id": "", "text": "", ERR: None},
    ]


@pytest.mark.parametrize(
    ("content", "line", "what"),
    [
        ('id,text\n1,ok\n2,"kapanmayan\n3,tırnak\n', 4, "unexpected end of data"),
        ('id,text\n1,ok\n2,"kapalı" fazlası\n', 3, "',' expected after '\"'"),
        ("id,text\n1,ok\n2,\xff\n", 3, "not valid UTF-8"),
    ],
)
def test_csv_file_level_errors_name_the_line(tmp_path: Path, content: str, line: int, what: str) -> None:
    path = write(tmp_path, "bad.csv", content.encode("latin-1") if "\xff" in content else content)
    with pytest.raises(BadFileError) as info:
        rows(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}: ") and what in message and "\n" not in message


@pytest.mark.parametrize(
    ("content", "match"),
    [("", "empty CSV file"), ("id,,text\n", "non-empty and distinct"), ("id,id\n", "non-empty and distinct")],
)
def test_csv_headers_that_cannot_name_columns(tmp_path: Path, content: str, match: str) -> None:
    path = write(tmp_path, "h.csv", content)
    with pytest.raises(SchemaError, match=match):
        formats.check_readable(path)


def test_tsv_takes_fields_literally(tmp_path: Path) -> None:
    path = write(tmp_path, "t.tsv", 'id\ttext\n1\t"Alıntı" dedi.\n2\tiki "tırnak\n3\tbir\tfazla\n')
    assert [(r["text"], r[ERR]) for r in rows(path)] == [
        ('"Alıntı" dedi.', None),
        ('iki "tırnak', None),
        ("bir", "line 4: 3 field(s), but the header has 2"),
    ]


# --- plain text ------------------------------------------------------------------------------------


def test_text_lines_and_documents(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbfBir.\r\nAyn\xc4\xb1 paragraf.\n\n \t \nIki \xff\n\n\n\nUc.\n"
    path = write(tmp_path, "t.txt", content)
    assert rows(path) == [
        {"line": 1, "text": "Bir.", ERR: None},
        {"line": 2, "text": "Aynı paragraf.", ERR: None},
        {"line": 3, "text": "", ERR: None},
        {"line": 4, "text": " \t ", ERR: None},
        {"line": 5, "text": None, ERR: "line 5: not valid UTF-8 (byte 5)"},
        {"line": 6, "text": "", ERR: None},
        {"line": 7, "text": "", ERR: None},
        {"line": 8, "text": "", ERR: None},
        {"line": 9, "text": "Uc.", ERR: None},
    ]
    assert rows(path, unit="document") == [
        {"line": 1, "text": "Bir.\nAynı paragraf.", ERR: None},
        {"line": 5, "text": None, ERR: "line 5: not valid UTF-8 (byte 5)"},
        {"line": 9, "text": "Uc.", ERR: None},
    ]
    with pytest.raises(ValueError, match="unit='paragraph'"):
        rows(path, unit="paragraph")


def test_text_documents_have_a_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "MAX_DOCUMENT_CHARS", 20)
    path = write(tmp_path, "t.txt", "kısa belge\n\nuzun belge satırı\nbir satır daha\nve bir tane\n\nson\n")
    assert rows(path, unit="document") == [
        {"line": 1, "text": "kısa belge", ERR: None},
        {
            "line": 3,
            "text": None,
            ERR: "line 4: the document starting on line 3 is longer than 20 characters",
        },
        {"line": 7, "text": "son", ERR: None},
    ]


# --- up-front checks and fingerprints --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("csv-named.jsonl", "id,text\n1,a\n", "cannot read as JSON Lines: line 1: invalid JSON"),
        (
            "binary.txt",
            b"\x89PNG\r\n\x1a\n\x00\xff\xfe",
            "cannot read as plain text: line 1: not valid UTF-8",
        ),
        ("broken.parquet", b"PAR1 not really", "cannot read as Parquet"),
        ("gone.jsonl", None, "cannot open"),
    ],
)
def test_check_readable_refuses_in_one_line(tmp_path: Path, name: str, content, match: str) -> None:
    path = tmp_path / name
    if content is not None:
        write(tmp_path, name, content)
    with pytest.raises(BadFileError) as info:
        formats.check_readable(path)
    message = str(info.value)
    assert match in message and str(path) in message and "\n" not in message


def test_check_readable_accepts_every_sample_file() -> None:
    for path in (SAMPLE_PARQUET, SAMPLE_DOCUMENTS_JSONL, SAMPLE_DOCUMENTS_TXT, SAMPLE_SENTENCES_CSV):
        assert formats.check_readable(path) is None


def test_check_text_column_names_file_column_and_columns() -> None:
    assert formats.check_text_column(SAMPLE_SENTENCES_CSV, "text", "id").names == ["id", "text"]
    with pytest.raises(SchemaError, match=r"text column 'body' not found; available columns: line \(int64\)"):
        formats.check_text_column(SAMPLE_DOCUMENTS_TXT, "body", None)
    with pytest.raises(SchemaError, match=r"id column 'doc' not found"):
        formats.check_text_column(SAMPLE_DOCUMENTS_JSONL, "text", "doc")
    with pytest.raises(SchemaError, match=r"text column 'metin' not found; available columns: id \(string\)"):
        formats.check_text_column(SAMPLE_SENTENCES_CSV, "metin", None)


def test_fingerprints_see_a_rewrite_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"text": "bir"}\n')
    before = formats.file_fingerprint(path)
    stat = os.stat(path)
    path.write_text('{"text": "iki"}\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = formats.file_fingerprint(path)
    assert set(after) == {"size", "mtime_ns", "sample_sha256"}
    assert (after["size"], after["mtime_ns"]) == (before["size"], before["mtime_ns"])
    assert after["sample_sha256"] != before["sample_sha256"]
    assert formats.file_fingerprint(SAMPLE_PARQUET)["rows"] == len(read_sample_sentences())


def test_csv_line_over_the_limit_stops_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A record may span lines, so an unreadable line cannot be skipped alone: the file stops there.
    monkeypatch.setattr(streams, "MAX_LINE_BYTES", 32)
    path = write(tmp_path, "c.csv", "id,text\n1,kısa\n2," + "u" * 100 + "\n3,son\n")
    with pytest.raises(BadFileError, match=r"c\.csv: line 3: longer than 32 bytes"):
        rows(path)
