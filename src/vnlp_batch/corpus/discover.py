"""Turn `data.path` (a file, a directory, a glob, or "sample") into the sorted list of input files.

Which files a directory yields (`formats.names` has the extensions):

- with a format named (`format=`; `data.format`, wired into the stage in a follow-up): every file of
  that format below it, compressed or not (`.jsonl`, `.json`, `.jsonl.gz`, `.json.zst`, ...);
- without: its `*.parquet` files if it has any (so a directory of Parquet shards reads as before,
  whatever notes lie next to them); otherwise the files of the one other format it holds among
  `.jsonl`, `.csv`, `.tsv` (each also `.gz`/`.zst`). `.json` and `.txt` files are not picked up
  without a format: beside data they are usually metadata and notes. A directory holding several
  of those formats and no Parquet is an `InputError` listing what it found: mixing them is more
  often an accident than a plan, and each would need its own columns; name the format or use a glob.

A file named directly, or matched by a glob, is taken whatever its name; its format is checked later
(`formats.check_readable`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from vnlp_batch.corpus.errors import InputError
from vnlp_batch.corpus.formats.names import (
    COMPRESSION_EXTENSIONS,
    DIRECTORY_EXTENSIONS,
    EXTENSIONS,
    check_format_name,
)

SAMPLE = "sample"
GLOB_CHARS = frozenset("*?[")
# The prefixes pyarrow.dataset ignores by default: Spark/Hive write `_SUCCESS`, `_temporary/` and
# `.crc` files next to their data, and this package's own temporaries start with ".".
IGNORED_PREFIXES = (".", "_")


def discover_inputs(path: str, *, exclude_dir: Path | None = None, format: str | None = None) -> list[Path]:
    """The input files `path` denotes: sorted, de-duplicated, absolute.

    `path` is a file (taken as named), a directory (its input files below it, recursively, skipping
    names that start with "." or "_"; the module docstring says which), a glob (`**` allowed; matched
    directories are expanded the same way), or the literal "sample" for the bundled corpus (write
    "./sample" for a local path of that name). Files under `exclude_dir` are dropped, so that an
    output directory nested inside the input directory is not read back as input. Raises `InputError`
    naming `path` when nothing matches.
    """
    if format is not None:
        check_format_name(format)
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
        found = [f for m in matches for f in _expand(Path(m), format)]
    elif os.path.isdir(expanded):
        found = _expand(Path(expanded), format)
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
        extensions = EXTENSIONS[format] if format else [e for x in DIRECTORY_EXTENSIONS.values() for e in x]
        wanted = ", ".join(f"*{e}" for e in extensions)
        raise InputError(f"no input file ({wanted}) found for input path {path!r}")
    return files


def _expand(path: Path, format: str | None = None) -> list[Path]:
    """A file as itself; a directory as the input files below it that are not ignored (module doc)."""
    if not path.is_dir():
        return [path] if path.is_file() else []
    candidates = [
        f
        for f in path.rglob("*")
        if not any(part.startswith(IGNORED_PREFIXES) for part in f.relative_to(path).parts) and f.is_file()
    ]
    if format is not None:
        return [f for f in candidates if _directory_format(f, {format: EXTENSIONS[format]}) == format]
    by_format: dict[str, list[Path]] = {}
    for f in candidates:
        name = _directory_format(f, DIRECTORY_EXTENSIONS)
        if name is not None:
            by_format.setdefault(name, []).append(f)
    if "parquet" in by_format:
        return by_format["parquet"]
    if len(by_format) > 1:
        counts = ", ".join(f"{len(files)} {name}" for name, files in sorted(by_format.items()))
        raise InputError(
            f"directory {str(path)!r} holds input files of several formats ({counts}); name the format "
            "to read (data.format=...) or give a glob"
        )
    return next(iter(by_format.values()), [])


def _directory_format(file: Path, extensions: dict[str, tuple[str, ...]]) -> str | None:
    """The format `file`'s name gives among `extensions` (compressed variants too, except Parquet)."""
    name = file.name.lower()
    for compression in ("", *COMPRESSION_EXTENSIONS):
        if compression and not name.endswith(compression):
            continue
        stem = name[: len(name) - len(compression)]
        for format, endings in extensions.items():
            if (format != "parquet" or not compression) and stem.endswith(endings):
                return format
    return None
