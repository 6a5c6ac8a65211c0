"""Turn `data.path` (a file, a directory, a glob, or "sample") into the sorted list of input files."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from vnlp_batch.corpus.errors import InputError

SAMPLE = "sample"
GLOB_CHARS = frozenset("*?[")
# The prefixes pyarrow.dataset ignores by default: Spark/Hive write `_SUCCESS`, `_temporary/` and
# `.crc` files next to their data, and this package's own temporaries start with ".".
IGNORED_PREFIXES = (".", "_")


def discover_inputs(path: str, *, exclude_dir: Path | None = None) -> list[Path]:
    """The Parquet files `path` denotes: sorted, de-duplicated, absolute.

    `path` is a file (taken as named), a directory (every `*.parquet` below it, recursively, skipping
    names that start with "." or "_"), a glob (`**` allowed; matched directories are expanded the same
    way), or the literal "sample" for the bundled corpus (write "./sample" for a local path of that
    name). Files under `exclude_dir` are dropped, so that an output directory nested inside the input
    directory is not read back as input. Raises `InputError` naming `path` when nothing matches.
    """
    if not path:
        raise InputError("input path is empty; give a Parquet file, a directory, a glob or 'sample'")
    if path == SAMPLE:
        from vnlp_batch.corpus.sample import SAMPLE_PARQUET

        return [Path(os.path.abspath(SAMPLE_PARQUET))]

    expanded = os.path.expanduser(path)
    if GLOB_CHARS.intersection(expanded):
        matches = glob.glob(expanded, recursive=True)
        if not matches:
            raise InputError(f"no file matches the glob {path!r}")
        found = [f for m in matches for f in _expand(Path(m))]
    elif os.path.isdir(expanded):
        found = _expand(Path(expanded))
    elif os.path.isfile(expanded):
        found = [Path(expanded)]
    else:
        raise InputError(f"input path {path!r} does not exist")

    # abspath rather than resolve(): following symlinks would rename outputs after the link target.
    files = sorted({Path(os.path.abspath(f)) for f in found})
    if exclude_dir is not None:
        excluded = Path(os.path.abspath(exclude_dir))
        files = [f for f in files if not f.is_relative_to(excluded)]
    if not files:
        raise InputError(f"no *.parquet file found for input path {path!r}")
    return files


def _expand(path: Path) -> list[Path]:
    """A file as itself; a directory as the `*.parquet` files below it that are not ignored."""
    if not path.is_dir():
        return [path] if path.is_file() else []
    return [
        f
        for f in path.rglob("*.parquet")
        if f.is_file() and not any(part.startswith(IGNORED_PREFIXES) for part in f.relative_to(path).parts)
    ]
