"""Errors about the user's input — a path that matches nothing, an unusable column, an unreadable file —
and about the output: a file or directory that cannot be written.

Input errors are `ValueError`s whose message names the path (and the column), so the top level can
print them as one line, and a run configured to skip bad files can catch `BadFileError` alone.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input path, file or column the run cannot use; the message names it."""


class SchemaError(InputError):
    """A file's columns do not fit the run: text or id column missing or mistyped, or a name clash."""


class BadFileError(InputError):
    """A file that cannot be read as Parquet (truncated, corrupt, not Parquet at all)."""


class MistypedTextColumnError(SchemaError, BadFileError):
    """A file whose text column is not a string column: a schema error, and a bad file that a run with
    `data.on_bad_file=skip` skips like a truncated one (the other files may well be fine)."""


class OutputError(OSError):
    """An output file or directory that cannot be written; the message names it, `errno` says why."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno  # type: ignore[misc]


class OutputConflictError(ValueError):
    """The output directory holds files made with another configuration; the message names the
    directory, what is there and the two ways out (another `data.output_dir`, `data.overwrite=true`)."""
