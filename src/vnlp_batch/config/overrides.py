"""Command-line overrides checked against the schema before Hydra composes them.

Hydra's own answer to a misspelt key is a multi-line message, exit code 1, and the hint to add it with
`+` — which Hydra then accepts (`+key` lifts struct mode) and nothing reads. Here every override is
checked first: an unknown key names the closest valid one, an unknown group option lists the
options, a value of the wrong type says so, each as one `ConfigError` line (exit code 2 at the edge).
Hydra's own keys and groups (`hydra.*`, `hydra/...`) are left to Hydra.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path

from vnlp_batch.config.schema import AppConfig, ConfigError, registered_groups

# Groups whose options are only added (`+experiment=...`): they are not in the defaults list.
ADD_ONLY_GROUPS = ("experiment",)


def group_options(conf_dir: Path) -> dict[str, list[str]]:
    """{group: its options}: the YAML files of `conf_dir` (Hydra's own `hydra/` groups excluded) and the
    groups made from the declarations (`task`, `model`)."""
    groups = {
        group.name: sorted(p.stem for p in group.glob("*.yaml"))
        for group in sorted(Path(conf_dir).iterdir())
        if group.is_dir() and group.name != "hydra"
    }
    return {**groups, **registered_groups()}


def schema_keys(node: type = AppConfig, prefix: str = "") -> dict[str, bool]:
    """Every dotted key of the schema, with True for a dict field (any key may be added below it)."""
    keys: dict[str, bool] = {}
    hints = typing.get_type_hints(node)
    for f in dataclasses.fields(node):
        key = prefix + f.name
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            keys[key] = False
            keys.update(schema_keys(hint, key + "."))
        else:
            keys[key] = typing.get_origin(hint) is dict
    return keys


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, if any is reasonably close (difflib's ratio ≥ 0.6)."""
    found = difflib.get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def check_overrides(overrides: list[str], conf_dir: Path) -> None:
    """Raise a one-line `ConfigError` for the first override that names no key or group option of
    this tool, or whose value does not fit the key's type."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    groups = group_options(conf_dir)
    keys = schema_keys()
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise ConfigError(_one_line(str(exc))) from None
    typed = OmegaConf.structured(AppConfig)
    for override in parsed:
        name = override.key_or_group
        if name == "hydra" or name.startswith(("hydra.", "hydra/")):
            continue
        adding = override.type in (OverrideType.ADD, OverrideType.FORCE_ADD)
        if name in groups:
            _check_group(name, override, groups[name], adding)
            continue
        under_dict = next((k for k, is_dict in keys.items() if is_dict and name.startswith(k + ".")), None)
        if name not in keys and under_dict is None:
            _unknown_key(name, override, keys, groups)
        if override.type == OverrideType.DEL:
            continue
        if under_dict is not None and override.type == OverrideType.CHANGE:
            raise ConfigError(f"{name} is a new entry of {under_dict}: add it with +{name}=...")
        if under_dict is None and override.type == OverrideType.ADD:
            raise ConfigError(f"{name} already exists: set it without '+': {name}=...")
        for value in _values(override):
            try:
                OmegaConf.update(typed, name, value, merge=True, force_add=under_dict is not None)
            except OmegaConfBaseException as exc:
                raise ConfigError(f"{name}={value!r}: {_one_line(str(exc))}") from None


def _check_group(group: str, override, options: list[str], adding: bool) -> None:
    from hydra.core.override_parser.types import OverrideType

    if override.type == OverrideType.DEL:
        return
    if group in ADD_ONLY_GROUPS and not adding:
        raise ConfigError(f"{group} is added with '+': +{group}=<{'|'.join(options)}>")
    for value in override.sweep_string_iterator() if override.is_sweep_override() else [_text(override)]:
        if value not in options:
            hint = closest(value, options)
            raise ConfigError(
                f"{group}={value} is not an option of {group}; choose one of: {', '.join(options)}"
                + (f" (did you mean {group}={hint}?)" if hint else "")
            )


def _unknown_key(name: str, override, keys: dict[str, bool], groups: dict[str, list[str]]) -> None:
    choices = [*keys, *groups]
    hint = closest(name, choices) or closest(name.rsplit(".", 1)[-1], choices)
    raise ConfigError(
        f"unknown key {name!r} (in {override.input_line or name}); "
        + (f"did you mean {hint}?" if hint else "`--help` lists the groups, `--cfg job` every key")
    )


def _values(override) -> Iterator[object]:
    """The value, or each value of a sweep, as given on the command line."""
    if override.is_sweep_override():
        yield from override.sweep_string_iterator()
    else:
        yield override.value()


def _text(override) -> str:
    value = override.value()
    return value if isinstance(value, str) else override.get_value_element_as_str()


def _one_line(message: str) -> str:
    """The first line of a Hydra or OmegaConf message (the rest is its location in the config)."""
    return next((line.strip() for line in message.splitlines() if line.strip()), message)
