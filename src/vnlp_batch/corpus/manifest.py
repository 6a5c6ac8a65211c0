"""The resume manifest: which input files a run has finished, with what fingerprint and config.

`manifest.json` lives in the output directory and is rewritten atomically after every finished file,
so a run killed at any point leaves either the previous or the next manifest, never a torn one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vnlp_batch.corpus.writer import write_output_text
from vnlp_batch.files import file_lock

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".manifest.json.lock"
FORMAT = 1


class Manifest:
    """The finished input files of an output directory, keyed by the file each input path stands for
    (see `input_key`)."""

    def __init__(self, output_dir: Path, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self.output_dir = Path(os.path.abspath(output_dir))
        self.path = self.output_dir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})

    @classmethod
    def load(cls, output_dir: Path) -> Manifest:
        """The manifest in `output_dir`, or an empty one if there is none (or it is unreadable)."""
        manifest = cls(output_dir)
        manifest.entries = manifest._read()
        return manifest

    def is_done(
        self,
        input_file: Path,
        fingerprint: Mapping[str, Any],
        config_hash: str,
        output_file: Path | None = None,
        other_outputs: Sequence[Path] = (),
    ) -> bool:
        """True if `input_file` was finished with this fingerprint and config, and its output still exists
        (and is `output_file`, when given: two paths of one input may have different outputs), and so do
        `other_outputs` (the other formats a run writes: output.format)."""
        entry = self._entry(input_file)
        output = self.output_of(input_file)
        return (
            entry is not None
            and entry.get("fingerprint") == dict(fingerprint)
            and entry.get("config_hash") == config_hash
            and output is not None
            and output.is_file()
            and (output_file is None or output == Path(os.path.abspath(output_file)))
            and all(Path(other).is_file() for other in other_outputs)
        )

    def outputs_of(self, entry: Mapping[str, Any]) -> list[Path]:
        """Every output file an entry records: its output, then those of the other formats."""
        recorded = [entry["output"], *entry.get("other_outputs", [])] if "output" in entry else []
        return [self.output_dir / name for name in recorded]

    def output_of(self, input_file: Path) -> Path | None:
        """The recorded output file of `input_file`, if any (it may have been deleted since)."""
        entry = self._entry(input_file)
        if entry is None or "output" not in entry:
            return None
        return self.output_dir / entry["output"]

    def entry_of(self, input_file: Path) -> dict[str, Any]:
        """What the manifest records of `input_file` ({} if nothing)."""
        return dict(self._entry(input_file) or {})

    def _entry(self, input_file: Path) -> dict[str, Any] | None:
        entry = self.entries.get(input_key(input_file))
        if entry is None:  # recorded before entries were keyed by input_key
            entry = self.entries.get(os.path.abspath(input_file))
        return entry

    def mark_done(
        self,
        input_file: Path,
        fingerprint: Mapping[str, Any],
        config_hash: str,
        output_file: Path,
        rows: int,
        status_counts: Mapping[str, int],
        made_with: Mapping[str, Any] | None = None,
        other_outputs: Sequence[Path] = (),
    ) -> None:
        """Record `input_file` as finished and rewrite the manifest atomically; `made_with` is the
        configuration it was made with (`vnlp_batch.resume.made_with`), kept to refuse overwriting it
        with another."""
        entry = {
            "fingerprint": dict(fingerprint),
            "config_hash": config_hash,
            "output": self._recorded(output_file),
            "rows": int(rows),
            "status_counts": {str(k): int(v) for k, v in status_counts.items()},
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if made_with is not None:
            entry["made_with"] = dict(made_with)
        if other_outputs:
            entry["other_outputs"] = [self._recorded(other) for other in other_outputs]
        key = input_key(input_file)
        with self._locked():
            # Re-read under the lock: other runs (array tasks on disjoint shards) may share this
            # output dir, and writing back a stale copy would drop the files they finished.
            self.entries = {**self._read(), key: entry}
            if key != os.path.abspath(input_file):
                self.entries.pop(os.path.abspath(input_file), None)  # its entry under the older key
            self._write()

    def _recorded(self, output_file: Path) -> str:
        # Relative to the output dir, so that a moved output dir still resumes.
        output = Path(os.path.abspath(output_file))
        inside = output.is_relative_to(self.output_dir)
        return (output.relative_to(self.output_dir) if inside else output).as_posix()

    def forget_all(self) -> None:
        """Forget every finished file (resume=false): the next `is_done` is False for all."""
        with self._locked():
            self.entries = {}
            self._write()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("%s is unreadable (%s); every input file will be processed again", self.path, e)
            return {}
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("files"), dict)
        ):
            log.warning(
                "%s is not a format-%d manifest; every input file will be processed again", self.path, FORMAT
            )
            return {}
        return data["files"]

    def _write(self) -> None:
        text = json.dumps(
            {"format": FORMAT, "files": self.entries}, indent=2, sort_keys=True, ensure_ascii=False
        )
        write_output_text(self.path, text + "\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the output dir's manifest for a read-modify-write."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.output_dir / LOCK_NAME):
            yield


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 (hex) of `config` as canonical JSON: keys sorted, no whitespace, tuples as lists.

    Pass only the parts of the config that change outputs (models, weights, opset, columns...), so
    that e.g. a new batch size or progress interval does not invalidate finished files.
    """
    canonical = json.dumps(_plain(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """`value` as JSON types; raises TypeError for anything whose JSON form would be ambiguous."""
    if isinstance(value, Mapping):  # also OmegaConf's DictConfig
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):  # also OmegaConf's ListConfig
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"config_hash: cannot hash a {type(value).__name__} value ({value!r}); pass plain data")


def input_key(input_file: Path) -> str:
    """The manifest key of `input_file`: its path with symlinks resolved, up to a link whose target
    has another name (that link's own path, directory resolved, is the key).

    jobs/annotate_shards.sbatch gives each array task a directory of links named like their shards,
    and which task a shard goes to changes when shards are added or `NUM_TASKS` changes: keyed by
    the path the links lead to, a finished shard is recognised whichever link directory it comes
    through. A link under another name (`latest.parquet` → `2024-05.parquet`) writes an output of its
    own name, so it keeps an entry of its own; so does a shard that links into a store of files named
    otherwise. A plain file's key is its real path.
    """
    path = _real_directory(os.path.abspath(input_file))
    seen = set()
    while os.path.islink(path) and path not in seen:
        seen.add(path)
        target = _real_directory(os.path.join(os.path.dirname(path), os.readlink(path)))
        if os.path.basename(target) != os.path.basename(path):
            break
        path = target
    return path


def _real_directory(path: str) -> str:
    """`path` with its directory's symlinks (and `..`) resolved, its last component kept."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
