"""What a run decodes: the models a task needs, upstream models first, and which model answers each
task. Below both the app (which exports and loads the models) and the stage (which writes the
columns of the plan's tasks), so that neither imports the other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vnlp_batch.models.declarations import MODELS, TASK_DEFAULTS
from vnlp_batch.models.spec import ModelSpec


@dataclass
class Plan:
    """Which model serves each task of the run, and the upstream models they need."""

    morph: str | None = None
    pos: str | None = None
    ner: str | None = None
    dep: str | None = None
    sentiment: str | None = None

    @property
    def tasks(self) -> list[str]:
        return [t for t in TASK_DEFAULTS if getattr(self, t)]

    def model_for(self, task: str) -> str | None:
        """The model whose output is written as `task`'s columns (None: the run has no such task)."""
        return getattr(self, task)

    @property
    def own_tokens(self) -> bool:
        """True when a chosen model labels tokens of its own (CharNER's WordPunct tokens), which the
        output then holds beside the Treebank `tokens`."""
        return any(MODELS[name].component.own_tokens for name in map(self.model_for, self.tasks) if name)


def upstream_first(names: Iterable[str]) -> list[str]:
    """`names` and the models they need, each after the models it reads (`needs`), otherwise in the
    given order."""
    ordered: list[str] = []

    def add(name: str) -> None:
        for upstream in MODELS[name].needs:
            add(upstream)
        if name not in ordered:
            ordered.append(name)

    for name in names:
        add(name)
    return ordered


def models_for(task: str, model: str) -> list[ModelSpec]:
    """The models a run needs, upstream models first (TreeStackDP pulls in the stemmer and TreeStackPoS)."""
    chosen = dict(TASK_DEFAULTS) if task == "all" else {task: TASK_DEFAULTS[task]}
    if model != "auto":
        chosen[MODELS[model].task] = model
    return [MODELS[name] for name in upstream_first(chosen.values())]


def plan_for(task: str, model: str) -> Plan:
    """Which model answers each task of a run of `task` with `model` (`auto`: the task's default)."""
    chosen = {spec.task: spec.name for spec in models_for(task, model) if task in ("all", spec.task)}
    if task == "all" and model != "auto":
        chosen[MODELS[model].task] = model
    return Plan(**chosen)
