"""`python -m vnlp_batch task=ner data=corpus.parquet` — the Hydra edge of the tool."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def _rewrite_data_path(argv: list[str]) -> list[str]:
    """`data=<file|dir|glob>` means the `file` preset with that data.path; names of conf/data/*.yaml
    select a preset."""
    groups = {p.stem for p in (CONF_DIR / "data").glob("*.yaml")}
    out = []
    for arg in argv:
        if arg.startswith("data=") and arg[len("data=") :] not in groups:
            out += ["data=file", "data.path=" + arg[len("data=") :]]
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

    from vnlp_batch.config.schema import ConfigError, register_configs, to_app_config

    try:
        _check_command_line(sys.argv[1:])
    except ConfigError as exc:
        print(f"vnlp-batch: config error: {exc}", file=sys.stderr)
        sys.exit(2)
    register_configs()

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def _entry(raw: DictConfig) -> int:
        from hydra.core.hydra_config import HydraConfig

        raw.run_dir = HydraConfig.get().runtime.output_dir
        try:
            cfg = to_app_config(raw)  # unknown keys, then every __post_init__ check
        except ConfigError as exc:
            print(f"vnlp-batch: config error: {exc}", file=sys.stderr)
            sys.exit(2)
        from vnlp_batch.app import run

        code = run(cfg)
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


if __name__ == "__main__":
    main()
