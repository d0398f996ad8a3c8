"""The search's Optuna study, told the truth about every trial.

Ray's ``OptunaSearch`` tells Optuna COMPLETE for any trial that ended with a result, so a
trial ASHA stopped after one epoch looks, in optuna-dashboard, like a finished trial with a
poor score; it also never reports the epoch on which a trial stopped (Tune skips the
searcher for a result the scheduler answers with STOP), and trials still running when the
time budget runs out stay RUNNING in the study forever. ``StudySearch`` fixes all three:

- every epoch is an intermediate value (step = epoch), the last one included;
- a trial ASHA stopped is PRUNED (``stopped_by = "asha"``), a trial that raised is FAIL, a
  trial that ran all its epochs is COMPLETE with its last validation accuracy, as before;
- ``StudyCloser`` (a Tune callback) marks the trials the time budget cut PRUNED
  (``stopped_by = "time_budget"``), and FAIL those Tune failed without telling the searcher.
  After an interrupt (Ctrl-C) unfinished trials stay RUNNING, since a resumed run goes on
  with them.

Every Optuna trial carries the Tune trial id as the user attribute ``tune_trial_id``, so the
study and ``trials.parquet`` can be joined.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune import Callback
from ray.tune.search.optuna import OptunaSearch

TUNE_TRIAL_ID = "tune_trial_id"
STOPPED_BY = "stopped_by"
STEP_KEY = "training_iteration"


def open_study_storage(path: Path) -> optuna.storages.RDBStorage:
    """The SQLite storage of the study at ``path``, its tables made before the file appears.

    Two processes that create Optuna's tables in one new SQLite file at once fail (the second
    insert of the schema version breaks a unique constraint), and anyone may open the file as
    soon as it exists: optuna-dashboard, ``search.watch``, a script. So a new file is made
    beside it, tables and all, and moved into place in one step; readers then only read.
    """
    if not path.exists():
        creating = path.with_name(f".{path.name}.creating")
        creating.unlink(missing_ok=True)
        optuna.storages.RDBStorage(f"sqlite:///{creating}").engine.dispose()
        os.replace(creating, path)
    return optuna.storages.RDBStorage(f"sqlite:///{path}")


class StudySearch(OptunaSearch):
    """``OptunaSearch`` that tells Optuna PRUNED for the trials in ``stopped_early`` (the
    live set ``RecordingASHA.stopped_early``), FAIL for failed trials, and reports every
    epoch as an intermediate value."""

    def __init__(self, *args: Any, stopped_early: set[str], **kwargs: Any) -> None:
        # Optuna logs every study it creates at INFO level; the run prints its own lines.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        super().__init__(*args, **kwargs)
        self._stopped_early = stopped_early
        self._last_step: dict[str, int] = {}

    def suggest(self, trial_id: str) -> dict | None:
        config = super().suggest(trial_id)
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and TUNE_TRIAL_ID not in ot_trial.user_attrs:
            ot_trial.set_user_attr(TUNE_TRIAL_ID, trial_id)
        return config

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        super().on_trial_result(trial_id, result)
        if trial_id not in self._completed_trials and result.get(STEP_KEY) is not None:
            self._last_step[trial_id] = int(result[STEP_KEY])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or trial_id in self._completed_trials or isinstance(self.metric, list):
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        if result:
            self._report_last_step(trial_id, ot_trial, result)
        if error:
            self._tell(trial_id, ot_trial, TrialState.FAIL)
        elif result is None or result.get(self.metric) is None:
            # Removed before it reported anything (Tune stopped it while pending).
            self._tell(trial_id, ot_trial, TrialState.PRUNED)
        elif trial_id in self._stopped_early:
            ot_trial.set_user_attr(STOPPED_BY, "asha")
            self._tell(trial_id, ot_trial, TrialState.PRUNED)
        else:
            self._tell(trial_id, ot_trial, TrialState.COMPLETE, value=float(result[self.metric]))

    def close_unfinished(self, trials: list[Any], *, stopped_by: str) -> list[str]:
        """Close every trial of ``trials`` Optuna still holds as RUNNING: FAIL where Tune failed
        it, else PRUNED (``stopped_by`` says why) with the last result Tune saw for it as its
        last intermediate value. Returns their ids."""
        closed = []
        for trial in trials:
            trial_id = str(trial.trial_id)
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is None or trial_id in self._completed_trials:
                continue
            if getattr(trial, "status", None) == "ERROR":
                self._tell(trial_id, ot_trial, TrialState.FAIL)
                closed.append(trial_id)
                continue
            last_result = getattr(trial, "last_result", None) or {}
            if last_result.get(self.metric) is not None:
                self._report_last_step(trial_id, ot_trial, last_result)
            ot_trial.set_user_attr(STOPPED_BY, stopped_by)
            self._tell(trial_id, ot_trial, TrialState.PRUNED)
            closed.append(trial_id)
        return closed

    def restore(self, checkpoint_path: str) -> None:
        """Tune restores a searcher by replacing its attributes from a pickle; keep the live
        set of the scheduler this run uses, not the pickled copy."""
        live = self._stopped_early
        super().restore(checkpoint_path)
        self._stopped_early = live

    def _report_last_step(self, trial_id: str, ot_trial: optuna.Trial, result: dict) -> None:
        """Report the result Tune did not pass on (its scheduler said STOP to it)."""
        step = result.get(STEP_KEY)
        value = result.get(self.metric)
        if step is None or value is None or int(step) <= self._last_step.get(trial_id, 0):
            return
        ot_trial.report(float(value), int(step))
        self._last_step[trial_id] = int(step)

    def _tell(self, trial_id: str, ot_trial: optuna.Trial, state: TrialState, value: float | None = None) -> None:
        try:
            self._ot_study.tell(ot_trial, value, state=state)
        except ValueError:
            # A NaN value cannot be COMPLETE: Optuna's own rule makes it FAIL.
            self._ot_study.tell(ot_trial, None, state=TrialState.FAIL)
        self._completed_trials.add(trial_id)


class StudyCloser(Callback):
    """At the end of the experiment, closes the Optuna trials the time budget cut short.

    Tune stops those trials without telling the searcher. A search that ends before its
    time budget (every sample done, or an interrupt) leaves the study as it is.
    """

    def __init__(self, searcher: StudySearch) -> None:
        self._searcher = searcher
        self._time_budget_s: float | None = None
        self._started = time.monotonic()

    def setup(self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None,
              time_budget_s: float | None = None, **info: Any) -> None:
        # Tune's time budget clock starts at its first step, after this: so when Tune has
        # stopped the search for its budget, this clock has passed the budget too.
        self._time_budget_s = _seconds(time_budget_s)
        self._started = time.monotonic()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        # A trial Tune failed without telling the searcher (it could not reuse an actor for
        # it, say) is FAIL whatever ended the search: a resume does not run it again.
        self._searcher.close_unfinished([t for t in trials if getattr(t, "status", None) == "ERROR"],
                                        stopped_by="error")
        budget = self._time_budget_s
        if budget is not None and time.monotonic() - self._started >= budget:
            self._searcher.close_unfinished(trials, stopped_by="time_budget")


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
