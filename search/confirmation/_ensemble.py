"""The ensemble: the confirmed searched models vote by averaging their class probabilities.

The members are fixed by a rule decided before the test set is touched: **every model the
confirmation trained for a searched configuration** (each seed of each confirmed configuration
that finished), **each on the test image and its four one-pixel shifts** (test-time shifts,
``mnist_models.SHIFTS``: what each job's kept probabilities already average). Both halves of
the rule were chosen by measurement on the search's own split (``python -m benchmarks
ensemble_members``; docs/PERFORMANCE.md, "Choices measured"). The confirmation already trained
these models on all training images, so the ensemble costs no retraining: its test score is
the argmax of the members' averaged test probabilities, scored once, and its row joins the
verdict as one model with a single score.

No Keras here (``_ensemble_model`` builds the saved model on the cluster): plain arrays in,
a confirmation row out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from search.confirmation._job import LOSS_EPSILON
from search.verdict import ENSEMBLE_KIND, SEARCHED_KIND

ENSEMBLE_NAME = "ensemble"
MIN_MEMBERS = 2
MEMBERS_RULE = ("every seed of every confirmed searched configuration, each on the image and its four "
                "one-pixel shifts")


@dataclass(frozen=True)
class Member:
    name: str  # the configuration (its trial id)
    seed: int

    @property
    def label(self) -> str:
        return f"{self.name}/seed {self.seed}"


@dataclass(frozen=True)
class EnsemblePlan:
    """The members by the rule, or why there is no ensemble (``members`` empty)."""

    members: tuple[Member, ...]
    why_none: str | None = None


def ensemble_members(rows: Sequence[Mapping[str, Any]], available: Mapping[tuple[str, int], Any]) -> EnsemblePlan:
    """The members by the rule, in the rows' order: each finished searched row whose test
    probabilities ``available`` holds (keyed by name and seed); an empty plan says why."""
    finished = [row for row in rows if row["kind"] == SEARCHED_KIND and row.get("test_accuracy") is not None]
    members = tuple(Member(str(row["name"]), int(row["seed"])) for row in finished
                    if (str(row["name"]), int(row["seed"])) in available)
    if len(members) >= MIN_MEMBERS:
        return EnsemblePlan(members)
    configurations = len({row["name"] for row in rows if row["kind"] == SEARCHED_KIND})
    why = (f"no ensemble: it needs at least {MIN_MEMBERS} confirmed models and this run confirmed "
           f"{len(members)} ({configurations} configuration(s); --top-k and --confirm-seeds set how many)")
    return EnsemblePlan((), why)


def ensemble_row(plan: EnsemblePlan, probabilities: Mapping[tuple[str, int], np.ndarray],
                 rows: Sequence[Mapping[str, Any]], labels: np.ndarray) -> dict[str, Any]:
    """The ensemble's confirmation row: test accuracy and loss of the members' averaged
    probabilities against ``labels``, its correctness vector (for the paired bootstrap), its
    parameters (the members' sum) and its members."""
    averaged = np.mean([np.asarray(probabilities[(m.name, m.seed)], dtype=np.float64) for m in plan.members], axis=0)
    labels = np.asarray(labels, dtype=np.int64)
    correct = np.argmax(averaged, axis=1) == labels
    chosen = np.clip(averaged[np.arange(labels.size), labels], LOSS_EPSILON, 1.0 - LOSS_EPSILON)
    by_key = {(str(row["name"]), int(row["seed"])): row for row in rows}
    member_rows = [by_key[(m.name, m.seed)] for m in plan.members]
    families = {row.get("hp_family") for row in member_rows}
    return {
        "name": ENSEMBLE_NAME,
        "kind": ENSEMBLE_KIND,
        "trial_id": None,
        "seed": 0,  # it has no seed of its own: its members have theirs
        "test_accuracy": float(correct.mean()),
        "test_loss": float(-np.log(chosen).mean()),
        "epochs": None,
        "num_params": int(sum(int(row["num_params"]) for row in member_rows)),
        "seconds": None,
        "train_images": member_rows[0].get("train_images"),
        "test_images": int(labels.size),
        "cached": False,
        "members": [m.label for m in plan.members],
        "family": families.pop() if len(families) == 1 else None,
        "test_correct": [bool(value) for value in correct],
    }


def ensemble_section(plan: EnsemblePlan, row: Mapping[str, Any] | None, *, model_file: str | None,
                     verdict: Any = None, build_s: float | None = None) -> dict[str, Any]:
    """What ``run.json`` (the confirmation's ``ensemble``) and ``best_config.json`` record of it."""
    if row is None:
        return {"members": [], "rule": MEMBERS_RULE, "why_none": plan.why_none}
    return {
        "members": list(row["members"]),
        "rule": MEMBERS_RULE,
        "test_accuracy": row["test_accuracy"],
        "test_loss": row["test_loss"],
        "num_params": row["num_params"],
        "model_file": model_file,
        "build_s": None if build_s is None else round(build_s, 1),  # building and writing the saved model
        "beats_notebook": None if verdict is None else verdict.beats,
        "verdict": None if verdict is None else verdict.reason,
    }
