"""``--warm-start RUN ...``: the finished trials of earlier runs, read from their studies, for a new
search of the same space to start from. Reading only: nothing of the earlier runs is changed.

A run starts the new search from its best measured trial: a completed one, scored by its last
epoch, or one cut short when a trial reached the run's target (``--stop-at``), scored by the
last epoch it ran. A trial cut at the target did not end for a fault of its own, and is often
the very trial that reached the target; it is copied as it ended (PRUNED, its epochs' scores
as intermediate values, so TPE weighs it as a trial that ran fewer epochs), and its start
point is its configuration as planned, epochs included: the new search trains it whole, and
the score it carries is said to be at the epoch it reached, never passed off as its planned
epochs'. A run with no such trial (nothing measured, or only trials ASHA or a fault stopped)
is refused.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.run_folder import STUDY_FILE
from search.study._storage import study_url
from search.study._trials import STOPPED_AT_TARGET, STOPPED_BY, STOPPED_BY_UNKNOWN, TUNE_TRIAL_ID

WARM_START_FROM = "warm_start_from"  # user attribute of a copied trial: the run it comes from
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class WarmStartError(ValueError):
    """A run that cannot be warm-started from; the message is the one line the user sees."""


@dataclass
class WarmStart:
    """The earlier runs' finished trials (copied, marked with their run) and, per run, the
    parameters of its best trial: where the new search starts."""

    runs: list[dict[str, Any]] = field(default_factory=list)  # run, trials, its best, as run.json records it
    trials: list[FrozenTrial] = field(default_factory=list)
    best_points: dict[str, dict[str, Any]] = field(default_factory=dict)  # "<run>:best" -> parameters

    def summary(self) -> str:
        """The earlier runs in one line: their trials, and the best score each starts from, with
        the epochs it was reached at where its trial was cut at the target."""
        return "; ".join(f"{run['run']} ({run['trials']} trials, best validation accuracy "
                         f"{run['best_val_accuracy']:.4f}{_cut_note(run)})" for run in self.runs)


def load_warm_start(runs: Iterable[tuple[str, Path, dict[str, Any]]], *, space: str, objective: str,
                    parameter_names: set[str]) -> WarmStart:
    """Read each run (name, its folder, its run.json) for a search of ``space`` for ``objective``
    whose space suggests ``parameter_names``; raises ``WarmStartError`` for a run of another
    space or objective, a study that cannot be read, or parameters the space no longer has."""
    warm = WarmStart()
    for name, folder, record in runs:
        _check_same_search(name, record, space=space, objective=objective)
        trials = _finished_trials(name, folder / STUDY_FILE)
        unknown = sorted({key for trial in trials for key in trial.params} - parameter_names)
        if unknown:
            raise WarmStartError(f"--warm-start {name!r}: its trials have parameters the space {space!r} does not "
                                 f"offer this search ({', '.join(unknown)}): give it that run's --max-epochs, "
                                 f"--time-budget or --max-params (a longer or size-aware search offers more), start "
                                 f"without --warm-start, or from a run of this version")
        measured = [(reached, trial) for trial in trials if (reached := _reached(trial)) is not None]
        if not measured:
            raise WarmStartError(f"--warm-start {name!r}: that run has no completed trial, and none cut at its "
                                 f"target, to start from: give another run")
        # The best score; of equal scores, the trial that ran all its epochs, then the earlier one.
        (score, epochs_run), best = max(measured, key=lambda item: (
            item[0][0], item[1].state == TrialState.COMPLETE, -item[1].number))
        warm.best_points[f"{name}:best"] = dict(best.params)
        warm.trials += [_copied(trial, name) for trial in trials]
        warm.runs.append({"run": name, "trials": len(trials), "best_val_accuracy": score,
                          "best_epochs_run": epochs_run, "best_planned_epochs": best.params.get("epochs"),
                          "best_cut_at_target": best.state != TrialState.COMPLETE})
    return warm


def _reached(trial: FrozenTrial) -> tuple[float, int | None] | None:
    """What ``trial`` reached and at which epoch, if a warm start may start from it: a completed
    trial's value (its last epoch's score) and its epochs; a trial cut at the target, the score
    of the last epoch it ran and that epoch; None for any other trial."""
    if trial.state == TrialState.COMPLETE:
        steps = trial.intermediate_values
        return float(trial.values[0]), (max(steps) if steps else trial.params.get("epochs"))
    if (trial.state == TrialState.PRUNED and trial.user_attrs.get(STOPPED_BY) == STOPPED_AT_TARGET
            and trial.intermediate_values):
        last = max(trial.intermediate_values)
        return float(trial.intermediate_values[last]), int(last)
    return None


def _cut_note(run: dict[str, Any]) -> str:
    """For a best trial cut at the target: the epochs its score was reached at (of those planned)."""
    if not run.get("best_cut_at_target"):
        return ""
    planned = run.get("best_planned_epochs")
    of_planned = f" of its {planned}" if planned is not None else ""
    return (f" after {run.get('best_epochs_run')}{of_planned} epoch(s), cut at the target: the search trains it "
            f"whole")


def _check_same_search(name: str, record: dict[str, Any], *, space: str, objective: str) -> None:
    if record.get("space") != space:
        raise WarmStartError(f"--warm-start {name!r}: that run searched space {record.get('space')!r}, not "
                             f"{space!r}: warm-start from runs of the same space")
    if record.get("objective", "accuracy") != objective:
        raise WarmStartError(f"--warm-start {name!r}: that run searched for {record.get('objective', 'accuracy')!r}, "
                             f"not {objective!r}: warm-start from runs of the same --objective")


def _finished_trials(name: str, study_file: Path) -> list[FrozenTrial]:
    if not study_file.is_file():
        raise WarmStartError(f"--warm-start {name!r}: its study {str(study_file)!r} is missing: warm-start from a "
                             f"run whose search started")
    try:
        study = optuna.load_study(study_name=name, storage=study_url(study_file, read_only=True))
        return study.get_trials(deepcopy=False, states=FINISHED)
    except Exception as error:  # an SQLite or Optuna error: the file is not a study we can read
        raise WarmStartError(f"--warm-start {name!r}: its study {str(study_file)!r} cannot be read "
                             f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}): "
                             f"give another run") from error


def _copied(trial: FrozenTrial, run: str) -> FrozenTrial:
    """The trial as the new study takes it: its values, state and epochs, marked with its run
    (its Tune trial id belongs to that run, not this one)."""
    copy_ = copy.deepcopy(trial)
    attributes = {key: value for key, value in trial.user_attrs.items() if key not in (TUNE_TRIAL_ID,)}
    attributes[WARM_START_FROM] = run
    if trial.state == TrialState.PRUNED and STOPPED_BY not in attributes:
        attributes[STOPPED_BY] = STOPPED_BY_UNKNOWN
    copy_.user_attrs = attributes
    return copy_
