"""What the study records of each trial beyond Optuna's own fields, and reading it back."""

from __future__ import annotations

from pathlib import Path

import optuna

from search.study._storage import study_url

# The user attributes every trial of the study carries.
TUNE_TRIAL_ID = "tune_trial_id"  # the Tune trial it is, to join the study with trials.parquet
STOPPED_BY = "stopped_by"  # why a PRUNED trial stopped: one of the reasons below
STOPPED_BY_ASHA = "asha"  # the scheduler stopped it early (--resume keeps it stopped)
STOPPED_BY_BUDGET = "time_budget"  # the search's time budget ran out while it trained
STOPPED_AT_TARGET = "target"  # a trial reached --stop-at and the search ended
STOPPED_BY_ERROR = "error"  # it raised, or Tune marked it ERROR
STOPPED_BY_UNKNOWN = "unknown"  # a warm start's trial from a run that did not say


def trials_stopped_by(study_file: Path, study_name: str, reason: str) -> set[str]:
    """The Tune ids of the study's trials that ``reason`` stopped (``"asha"``: the scheduler),
    read from the study file itself, which every trial's end is committed to as it happens;
    empty when there is no such study yet."""
    if not Path(study_file).is_file():
        return set()
    try:
        study = optuna.load_study(study_name=study_name, storage=study_url(study_file))
    except KeyError:  # no study of that name in the file
        return set()
    return {str(trial.user_attrs[TUNE_TRIAL_ID]) for trial in study.get_trials(deepcopy=False)
            if trial.user_attrs.get(STOPPED_BY) == reason and TUNE_TRIAL_ID in trial.user_attrs}
