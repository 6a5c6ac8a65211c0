"""Tie-aware, strict agreement of a candidate path with a reference, step by step.

Two exact computations of one model — VNLP's Keras model and the exported graphs, or the fast and
the monolithic decoders — differ by ~1e-7 in each probability, and that flips an argmax wherever the
top two classes are that close (a saturated sigmoid has steps of 6e-8 near 1.0). A disagreement is
accepted only where the reference's top-2 margin at that step is below TIE_BOUND; it is then recorded
in LEDGER, which the session prints at its end (tests/conftest.py), and every other disagreement
fails. Autoregressive candidates are teacher-forced with the reference's labels
(`inference.autoregressive.decode(forced=...)`), so a tie does not end the comparison: the rest of
the sentence is still compared, both paths reading the reference's history.

Imported by name (`from agreement import ...`): tests/ is on sys.path as the rootdir of conftest.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vnlp_batch.models.spec import ModelSpec

TIE_BOUND = 1e-5  # a disagreement is a tie only where the reference's top-2 margin is below this
PROB_TOLERANCE = 1e-4  # every output probability of the two paths within this (the export bar)


@dataclass(frozen=True)
class Tie:
    where: str  # e.g. "sentence 311, step 2"
    group: str
    margin: float  # the reference's top-2 margin (for one sigmoid: its distance from 0.5)
    reference: object  # its decision there (a class index, or a label where labels are compared)
    candidate: object


class Ledger:
    """Every comparison made in the session: steps compared and ties accepted, per (model, comparison)."""

    def __init__(self) -> None:
        self.steps: Counter[tuple[str, str]] = Counter()
        self.ties: defaultdict[tuple[str, str], list[Tie]] = defaultdict(list)

    def lines(self) -> list[str]:
        out = []
        for model, comparison in sorted(self.steps):
            ties = self.ties[(model, comparison)]
            steps = self.steps[(model, comparison)]
            out.append(f"{model:15} {comparison:48} {len(ties)} tie(s) in {steps:,} steps")
            out += [
                f"    {t.where}, {t.group}: reference {t.reference}, candidate {t.candidate}, "
                f"reference top-2 margin {t.margin:.3g}"
                for t in ties
            ]
        return out


LEDGER = Ledger()


def top2_margin(values: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Top value minus the second one among `valid` entries (inf when there is a single choice)."""
    candidates = np.sort(values[valid] if valid is not None else values)[::-1]
    return float(candidates[0] - candidates[1]) if len(candidates) > 1 else float("inf")


def _decisions(spec: ModelSpec, probs: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """(steps, groups) decisions: argmax per group (among `valid` slots), or p > 0.5 for one sigmoid."""
    columns = []
    for group in spec.output_groups:
        part = probs[:, group.start : group.stop]
        if group.stop - group.start == 1:
            columns.append((part[:, 0] > 0.5).astype(np.int64))
        else:
            columns.append(
                np.where(valid, part, -np.inf).argmax(axis=1) if valid is not None else part.argmax(1)
            )
    return np.stack(columns, axis=1)


def _steps(spec: ModelSpec, reference: np.ndarray, candidate: np.ndarray, what: str):
    """Both arrays as (steps, output width) float32, checked to have the same shape."""
    reference = np.asarray(reference, np.float32).reshape(-1, spec.output_width)
    candidate = np.asarray(candidate, np.float32).reshape(-1, spec.output_width)
    assert reference.shape == candidate.shape, f"{spec.name} {what}: shapes differ"
    return reference, candidate


def check_steps(
    spec: ModelSpec,
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    comparison: str,
    where: str,
    valid: np.ndarray | None = None,
    record: bool = True,
) -> list[int]:
    """Compare two (steps, output width) probability arrays of `spec`; return the steps with a tie.

    Fails on any probability further apart than PROB_TOLERANCE and on any decision that differs where
    the reference's top-2 margin is at least TIE_BOUND. `valid` masks choices that do not exist (the
    stemmer's missing candidate slots); `where` names the row in messages ("sentence 12"). With
    `record=False` the comparison is not counted in LEDGER (a second look at a pair already counted).
    """
    reference, candidate = _steps(spec, reference, candidate, f"{comparison}, {where}")
    if record:
        LEDGER.steps[(spec.name, comparison)] += len(reference)
    if not len(reference):
        return []
    diff = np.abs(reference - candidate).max(axis=1)
    worst = int(diff.argmax())
    assert diff[worst] <= PROB_TOLERANCE, (
        f"{spec.name} {comparison}, {where}, step {worst}: probabilities differ by {diff[worst]:.3g}"
    )
    theirs, ours = _decisions(spec, reference, valid), _decisions(spec, candidate, valid)
    tie_steps = []
    for step, k in zip(*np.nonzero(theirs != ours), strict=True):
        group = spec.output_groups[k]
        row = reference[step, group.start : group.stop]
        margin = (
            abs(float(row[0]) - 0.5)
            if len(row) == 1
            else top2_margin(row, valid[step] if valid is not None else None)
        )
        assert margin < TIE_BOUND, (
            f"{spec.name} {comparison}, {where}, step {step}, {group.name}: reference chose "
            f"{theirs[step, k]}, candidate {ours[step, k]}, and the reference's top-2 margin {margin:.3g} "
            f"is not a tie (bound {TIE_BOUND:g})"
        )
        if record:
            LEDGER.ties[(spec.name, comparison)].append(
                Tie(f"{where}, step {step}", group.name, margin, int(theirs[step, k]), int(ours[step, k]))
            )
        tie_steps.append(int(step))
    return sorted(set(tie_steps))


def check_free_running(
    ours: Sequence[object], theirs: Sequence[object], tie_steps: Sequence[int], *, what: str
) -> None:
    """A free-running decode equals the reference's labels up to its first tie (after a tie the two
    histories differ, so the rest may too — which the teacher-forced comparison covers)."""
    stop = min(tie_steps, default=len(theirs))
    assert len(ours) == len(theirs), f"{what}: {len(ours)} labels, reference {len(theirs)}"
    assert list(ours[:stop]) == list(theirs[:stop]), f"{what}: labels differ before any tie"


def check_diverging(
    spec: ModelSpec,
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    comparison: str,
    where: str,
    valid: np.ndarray | None = None,
) -> int | None:
    """Two free-running decodes of one sentence: the same (≤ PROB_TOLERANCE, same decisions) up to their
    first differing decision, which must be a near-tie; after it their histories differ, so nothing
    more is compared. Returns the step of that tie, or None when they agree throughout."""
    reference, candidate = _steps(spec, reference, candidate, f"{comparison}, {where}")
    differ = (_decisions(spec, reference, valid) != _decisions(spec, candidate, valid)).any(axis=1)
    stop = int(differ.argmax()) + 1 if differ.any() else len(reference)
    head = None if valid is None else valid[:stop]
    ties = check_steps(
        spec, reference[:stop], candidate[:stop], comparison=comparison, where=where, valid=head
    )
    return ties[0] if ties else None
