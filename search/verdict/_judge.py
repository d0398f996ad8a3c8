"""The verdict: which confirmed configurations beat the notebook, and by how much.

The rule: a configuration beats the notebook when every one of its seeds scores
above the notebook's best published test accuracy (0.9854) AND its mean over seeds is above
the mean of the best re-measured notebook model. Both comparisons are strict: a tie does not
beat. The size of the win is a paired bootstrap over the test images (see ``paired_bootstrap``).
The published figure was measured on MNIST: on other data (``--data``) the bar is the
re-measured notebook models alone (``threshold=None``).

Beside that verdict, each configuration is compared by the same rule with the best notebook
model of its own family (a dense net with the better of ``dense_256`` and ``dense_deep``, a
CNN with ``cnn_small``; the published bar then is that family's best published figure).

Everything here works on confirmation rows (plain dicts, one per configuration x seed, as in
``confirm.parquet``): no Ray, no Keras, so it tests on made-up numbers in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from search.verdict._bootstrap import paired_bootstrap
from spaces import NOTEBOOK_SPACE

# The notebook's own single runs, scored on the test set it also validated on (docs/SPACES.md,
# "The notebook's models").
NOTEBOOK_PUBLISHED = {"dense_256": 0.9831, "dense_deep": 0.9854, "cnn_small": 0.9853}
NOTEBOOK_PUBLISHED_BEST = max(NOTEBOOK_PUBLISHED.values())
# The kinds of confirmation rows: the notebook's models, the searched configurations (one row per
# seed), and the ensemble of the confirmed searched models (one row: it has no seed of its own).
NOTEBOOK_KIND, SEARCHED_KIND, ENSEMBLE_KIND = "notebook", "searched", "ensemble"


@dataclass(frozen=True)
class Summary:
    """One configuration's test scores over its seeds."""

    name: str
    kind: str  # NOTEBOOK_KIND, SEARCHED_KIND or ENSEMBLE_KIND
    num_params: int | None
    epochs: int | None
    seeds: tuple[int, ...]
    accuracies: tuple[float, ...]  # of the seeds that finished, in seed order
    failed_seeds: tuple[int, ...]
    mean: float | None
    std: float | None  # sample standard deviation (ddof=1); 0 for a single seed
    min: float | None
    mean_seconds: float | None
    cached_seeds: tuple[int, ...] = ()
    family: str | None = None  # "dense" or "cnn"


@dataclass(frozen=True)
class Difference:
    """Paired difference of test accuracy against the best notebook model."""

    mean: float
    low: float
    high: float
    seeds: tuple[int, ...]
    images: int


@dataclass(frozen=True)
class FamilyVerdict:
    """A configuration against the best notebook model of its own family, by the same rule."""

    baseline: str  # the notebook model
    beats: bool
    reason: str
    difference: Difference | None


@dataclass(frozen=True)
class Verdict:
    summary: Summary
    beats: bool
    reason: str
    difference: Difference | None
    family: FamilyVerdict | None = None


@dataclass(frozen=True)
class Judgement:
    verdicts: tuple[Verdict, ...]  # notebook models first, then searched, each by mean test accuracy
    best_notebook: Summary | None
    smallest_beating: Summary | None
    best_searched: Summary | None
    threshold: float | None = NOTEBOOK_PUBLISHED_BEST  # the published bar every seed had to clear, if any

    @property
    def beating(self) -> list[Verdict]:
        """The searched configurations that beat the notebook (the ensemble is not one)."""
        return [verdict for verdict in self.verdicts if verdict.beats and verdict.summary.kind == SEARCHED_KIND]

    @property
    def ensemble(self) -> Verdict | None:
        """The ensemble's verdict, if the confirmation built one."""
        return next((verdict for verdict in self.verdicts if verdict.summary.kind == ENSEMBLE_KIND), None)


def beats_notebook(accuracies: Sequence[float], baseline_mean: float, *,
                   threshold: float | None = NOTEBOOK_PUBLISHED_BEST) -> bool:
    """Every seed strictly above ``threshold`` (None: no such bar) and the mean strictly above
    ``baseline_mean``."""
    if not accuracies:
        return False
    return all(threshold is None or value > threshold for value in accuracies) and float(np.mean(accuracies)) > baseline_mean


def summarize(rows: Iterable[dict[str, Any]]) -> list[Summary]:
    """Group confirmation rows by configuration name into ``Summary``s."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["name"]), []).append(row)
    summaries = []
    for name, members in groups.items():
        members.sort(key=lambda row: int(row["seed"]))
        done = [row for row in members if _finished(row)]
        accuracies = tuple(float(row["test_accuracy"]) for row in done)
        seconds = [float(row["seconds"]) for row in done if row.get("seconds") is not None]
        params = next((int(row["num_params"]) for row in members if row.get("num_params") is not None), None)
        summaries.append(Summary(
            name=name,
            kind=str(members[0]["kind"]),
            num_params=params,
            epochs=_int_or_none(members[0].get("epochs")),
            seeds=tuple(int(row["seed"]) for row in members),
            accuracies=accuracies,
            failed_seeds=tuple(int(row["seed"]) for row in members if not _finished(row)),
            mean=float(np.mean(accuracies)) if accuracies else None,
            std=float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else (0.0 if accuracies else None),
            min=min(accuracies) if accuracies else None,
            mean_seconds=float(np.mean(seconds)) if seconds else None,
            cached_seeds=tuple(int(row["seed"]) for row in members if row.get("cached")),
            family=members[0].get("hp_family") or members[0].get("family") or NOTEBOOK_SPACE.get(name),
        ))
    return summaries



def published_bar(data_file: str | None) -> float | None:
    """The published figure every seed must clear: the notebook's best on the shipped MNIST
    (``data_file`` None), none on a data file of the user's."""
    return NOTEBOOK_PUBLISHED_BEST if data_file is None else None


def judge(rows: Sequence[dict[str, Any]], *, threshold: float | None = NOTEBOOK_PUBLISHED_BEST) -> Judgement:
    """Apply the rule to every searched configuration, and measure each against the best notebook
    model and the best of its own family; ``threshold`` None drops the published bar.

    The ensemble (a row of kind ``ENSEMBLE_KIND``) is judged by the same rule as one more
    configuration with a single score; its difference pairs its one correctness vector with
    each of the notebook model's seeds."""
    summaries = summarize(rows)
    notebook = [s for s in summaries if s.kind == NOTEBOOK_KIND and s.mean is not None]
    best_notebook = max(notebook, key=lambda s: s.mean) if notebook else None
    best_of_family = {}
    for summary in sorted(notebook, key=lambda s: s.mean):
        best_of_family[summary.family] = summary
    correct = _correctness_by_name_and_seed(rows)
    verdicts = []
    for summary in sorted(summaries, key=_display_order):
        difference = None
        if best_notebook is not None and summary.name != best_notebook.name:
            difference = _difference(correct, summary, best_notebook.name)
        if summary.kind == NOTEBOOK_KIND:
            role = "best notebook model (the baseline)" if summary is best_notebook else "notebook model"
            reason = role if not summary.failed_seeds else f"{role}; seed(s) {_seeds(summary.failed_seeds)} failed"
            verdicts.append(Verdict(summary, False, reason, difference))
            continue
        beats, reason = _rule(summary, best_notebook, threshold)
        verdicts.append(Verdict(summary, beats, reason, difference,
                                _family_verdict(summary, best_of_family.get(summary.family), correct, threshold)))
    beating = [v.summary for v in verdicts if v.beats and v.summary.kind == SEARCHED_KIND]
    smallest = min(beating, key=lambda s: (s.num_params or 0, -(s.mean or 0))) if beating else None
    searched = [s for s in summaries if s.kind == SEARCHED_KIND and s.mean is not None and not s.failed_seeds]
    best_searched = max(searched, key=lambda s: s.mean) if searched else None
    return Judgement(tuple(verdicts), best_notebook, smallest, best_searched, threshold)


def _family_verdict(summary: Summary, baseline: Summary | None, correct: dict[tuple[str, int], np.ndarray],
                    threshold: float | None) -> FamilyVerdict | None:
    if baseline is None or summary.family is None:
        return None
    family_threshold = None if threshold is None else max(
        NOTEBOOK_PUBLISHED[model] for model, family in NOTEBOOK_SPACE.items() if family == summary.family)
    beats, reason = _rule(summary, baseline, family_threshold)
    reason = f"beats {baseline.name}" if beats else reason
    return FamilyVerdict(baseline.name, beats, reason, _difference(correct, summary, baseline.name))


def _rule(summary: Summary, best_notebook: Summary | None, threshold: float | None) -> tuple[bool, str]:
    if summary.failed_seeds:
        return False, f"no: seed(s) {_seeds(summary.failed_seeds)} failed"
    if best_notebook is None:
        return False, "no verdict: no notebook model was measured"
    below = [] if threshold is None else [
        seed for seed, value in zip(summary.seeds, summary.accuracies) if not value > threshold]
    if below:
        return False, f"no: seed(s) {_seeds(below)} not above {threshold:.4f}"
    if not summary.mean > best_notebook.mean:
        return False, f"no: mean not above {best_notebook.name}'s {best_notebook.mean:.4f}"
    return True, "BEATS the notebook"



def _difference(correct: dict[tuple[str, int], np.ndarray], summary: Summary, baseline: str) -> Difference | None:
    name = summary.name
    baseline_seeds = sorted(seed for (n, seed) in correct if n == baseline)
    if summary.kind == ENSEMBLE_KIND:  # one model, paired with every seed of the baseline
        vectors = [vector for (n, _), vector in correct.items() if n == name]
        if len(vectors) != 1 or not baseline_seeds:
            return None
        seeds = baseline_seeds
        a = np.stack([vectors[0]] * len(seeds))
    else:
        seeds = sorted({seed for (n, seed) in correct if n == name} & set(baseline_seeds))
        if not seeds:
            return None
        a = np.stack([correct[(name, seed)] for seed in seeds])
    b = np.stack([correct[(baseline, seed)] for seed in seeds])
    if a.shape != b.shape:
        return None
    mean, low, high = paired_bootstrap(a, b)
    return Difference(mean, low, high, tuple(seeds), int(a.shape[1]))


def _correctness_by_name_and_seed(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int], np.ndarray]:
    correct = {}
    for row in rows:
        vector = row.get("test_correct")
        if _finished(row) and vector is not None and len(vector):
            correct[(str(row["name"]), int(row["seed"]))] = np.asarray(vector, dtype=bool)
    return correct


def _display_order(summary: Summary) -> tuple[int, float, str]:
    rank = {NOTEBOOK_KIND: 0, SEARCHED_KIND: 1, ENSEMBLE_KIND: 2}.get(summary.kind, 1)
    return (rank, -(summary.mean if summary.mean is not None else -1.0), summary.name)


def _finished(row: dict[str, Any]) -> bool:
    value = row.get("test_accuracy")
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _seeds(seeds: Iterable[int]) -> str:
    return ", ".join(str(seed) for seed in seeds)
