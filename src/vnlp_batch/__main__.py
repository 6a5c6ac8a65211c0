"""`python -m vnlp_batch task=ner data=corpus.parquet` — the Hydra edge of the tool."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def _rewrite_data_path(argv: list[str]) -> list[str]:
    """`data=<file|dir|glob>` means the `file` preset with that data.path; names of conf/data/*.yaml
    select a preset. `output.format=conllu` means the one-format list `output.format=[conllu]`."""
    groups = {p.stem for p in (CONF_DIR / "data").glob("*.yaml")}
    out = []
    for arg in argv:
        if arg.startswith("data=") and arg[len("data=") :] not in groups:
            out += ["data=file", "data.path=" + arg[len("data=") :]]
        elif arg.startswith("output.format=") and not arg[len("output.format=") :].startswith("["):
            out.append(f"output.format=[{arg[len('output.format=') :]}]")
        else:
            out.append(arg)
    return out


def main() -> None:
    from vnlp_batch.stopping import StopOnSignal, Stopped

    # From the start, so that a SIGTERM or Ctrl-C during start-up (imports, Hydra) is a one-line
    # message and exit code 143 or 130 too, not a silent kill or a KeyboardInterrupt traceback.
    try:
        with StopOnSignal(immediate=True):
            _main()
    except Stopped as stopped:
        print(f"vnlp-batch: {stopped} (exit code {stopped.exit_code})", file=sys.stderr)
        sys.exit(stopped.exit_code)


def _main() -> None:
    if not CONF_DIR.is_dir():
        sys.exit(f"vnlp-batch: configuration directory {CONF_DIR} not found; install with `pip install -e .`")
    sys.argv = [sys.argv[0], *_rewrite_data_path(sys.argv[1:])]

    import hydra
    from omegaconf import DictConfig

    from vnlp_batch import startup
    from vnlp_batch.config.schema import ConfigError, register_configs, to_app_config

    try:
        _check_command_line(sys.argv[1:])
    except ConfigError as exc:
        _fail(f"config error: {exc}", 2)
    register_configs()

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def _entry(raw: DictConfig) -> int:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        startup.begin()
        hydra_cfg = HydraConfig.get()
        raw.run_dir = hydra_cfg.runtime.output_dir
        if hydra_cfg.mode == RunMode.MULTIRUN and raw.data.output_dir is None:
            # The jobs of a sweep compare settings: each annotates into its own job directory rather
            # than resuming from the one before.
            raw.data.output_dir = str(Path(raw.run_dir) / "annotated")
        try:
            cfg = to_app_config(raw)  # unknown keys, then every __post_init__ check
        except ConfigError as exc:
            _fail(f"config error: {exc}", 2)
        startup.lap("config")
        code = _run(cfg)
        if code:
            sys.exit(code)
        return code

    for noisy in ("tensorflow", "tf2onnx", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _entry()


def _check_command_line(args: list[str]) -> None:
    """Check the overrides among `args` (Hydra's flags and their values left out) against the schema."""
    from hydra._internal.utils import get_args_parser

    from vnlp_batch.config.overrides import check_overrides

    parsed, _ = get_args_parser().parse_known_args(args)
    check_overrides(parsed.overrides, CONF_DIR)


def _run(cfg) -> int:
    """`app.run`, with the errors whose message says what to fix shown as that one line: exit code 2
    when nothing was done (see `app.run`), 1 when they stopped the run. VNLP_BATCH_DEBUG=1 shows the
    traceback instead."""
    from vnlp_batch.app import run

    try:
        return run(cfg)
    except Exception as exc:
        if not _said_in_one_line(exc) or os.environ.get("VNLP_BATCH_DEBUG", "") not in ("", "0"):
            raise
        _fail(f"error: {exc}", getattr(exc, "exit_code", 1))


def _said_in_one_line(exc: Exception) -> bool:
    """Whether `exc`'s message names what went wrong (a file, a setting): a user's mistake or an I/O
    problem rather than a defect, whose traceback would only bury it."""
    from vnlp_batch.app import _refusals
    from vnlp_batch.corpus.errors import InputError, OutputError

    known = [*_refusals(), InputError, OutputError]
    export_stage = sys.modules.get("vnlp_batch.export.stage")  # not imported: none of its errors
    if export_stage is not None:
        known.append(export_stage.ExportVerificationError)
    return getattr(exc, "exit_code", None) is not None or isinstance(exc, tuple(known))


def _fail(message: str, code: int) -> NoReturn:
    print(f"vnlp-batch: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
