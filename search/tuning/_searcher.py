"""The search's Optuna study, driven through Tune's public ``Searcher`` interface and told the
truth about every trial.

The searcher asks the study for each trial (the enqueued start points first, then TPE),
runs the space's define-by-run function on it, and hands Tune the values. Every epoch a
trial reports is an intermediate value (step = epoch), the last one included, and each
trial ends in the state it really ended in:

- a trial ASHA stopped is PRUNED (``stopped_by = "asha"``), a trial that raised is FAIL, a
  trial that ran all its epochs is COMPLETE with its last validation accuracy;
- ``StudyCloser`` (a Tune callback) marks the trials the time budget cut PRUNED
  (``stopped_by = "time_budget"``), and FAIL those Tune failed without telling the searcher.
  After an interrupt (Ctrl-C) unfinished trials stay RUNNING, since a resumed run goes on
  with them.

Every Optuna trial carries the Tune trial id as the user attribute ``tune_trial_id``, so the
study and ``trials.parquet`` can be joined.
"""

from __future__ import annotations

import pickle
import time
from typing import Any, Callable, Sequence

import optuna
from optuna.trial import TrialState
from ray.tune import Callback
from ray.tune.search import Searcher

from search.study import STOPPED_BY, TUNE_TRIAL_ID

STEP_KEY = "training_iteration"


class StudySearcher(Searcher):
    """Proposes trials from an Optuna study over the define-by-run function ``space``, starting
    with ``points_to_evaluate``; tells Optuna PRUNED for the trials in ``stopped_early`` (the
    live set ``RecordingASHA.stopped_early``), FAIL for failed trials, and reports every
    epoch as an intermediate value."""

    def __init__(self, *, space: Callable[[optuna.Trial], dict[str, Any]], metric: str, mode: str,
                 storage: optuna.storages.BaseStorage, study_name: str, stopped_early: set[str],
                 points_to_evaluate: Sequence[dict[str, Any]] = (),
                 sampler: optuna.samplers.BaseSampler | None = None) -> None:
        # Optuna logs every study it creates at INFO level; the run prints its own lines.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        super().__init__(metric=metric, mode=mode)
        self._space = space
        # Early stopping is the scheduler's job, never Optuna's.
        self._study = optuna.create_study(storage=storage, sampler=sampler, pruner=optuna.pruners.NopPruner(),
                                          study_name=study_name, load_if_exists=True,
                                          direction="maximize" if mode == "max" else "minimize")
        for point in points_to_evaluate:
            self._study.enqueue_trial(point)
        self._trials: dict[str, optuna.Trial] = {}
        self._finished: set[str] = set()
        self._last_step: dict[str, int] = {}
        self._stopped_early = stopped_early
        # Seconds each proposal and each write to the study took, in order (the scale benchmark
        # reads them): what the searcher costs the driver as the study grows.
        self.suggest_seconds: list[float] = []
        self.write_seconds: list[float] = []

    @property
    def study(self) -> optuna.Study:
        return self._study

    def suggest(self, trial_id: str) -> dict | None:
        started = time.perf_counter()
        if trial_id not in self._trials:
            self._trials[trial_id] = self._study.ask()
        ot_trial = self._trials[trial_id]
        # The space's constants come last: they are not choices, and no enqueued value overrides them.
        constants = self._space(ot_trial) or {}
        if TUNE_TRIAL_ID not in ot_trial.user_attrs:
            ot_trial.set_user_attr(TUNE_TRIAL_ID, trial_id)
        self.suggest_seconds.append(time.perf_counter() - started)
        return {**ot_trial.params, **constants}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._finished or trial_id not in self._trials:
            return
        step, value = result.get(STEP_KEY), result.get(self.metric)
        if step is None or value is None:
            return
        self._report(trial_id, self._trials[trial_id], float(value), int(step))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._trials.get(trial_id)
        if ot_trial is None or trial_id in self._finished:
            return
        if result:
            self._report_last_step(trial_id, ot_trial, result)
        if error:
            self._tell(trial_id, ot_trial, TrialState.FAIL)
        elif result is None or result.get(self.metric) is None:
            # Removed before it reported anything (Tune stopped it while pending).
            self._tell(trial_id, ot_trial, TrialState.PRUNED)
        elif trial_id in self._stopped_early:
            self._tell(trial_id, ot_trial, TrialState.PRUNED, stopped_by="asha")
        else:
            self._tell(trial_id, ot_trial, TrialState.COMPLETE, value=float(result[self.metric]))

    def close_unfinished(self, trials: list[Any], *, stopped_by: str) -> list[str]:
        """Close every trial of ``trials`` Optuna still holds as RUNNING: FAIL where Tune failed
        it, else PRUNED (``stopped_by`` says why) with the last result Tune saw for it as its
        last intermediate value. Returns their ids."""
        closed = []
        for trial in trials:
            trial_id = str(trial.trial_id)
            ot_trial = self._trials.get(trial_id)
            if ot_trial is None or trial_id in self._finished:
                continue
            if getattr(trial, "status", None) == "ERROR":
                self._tell(trial_id, ot_trial, TrialState.FAIL)
                closed.append(trial_id)
                continue
            last_result = getattr(trial, "last_result", None) or {}
            if last_result.get(self.metric) is not None:
                self._report_last_step(trial_id, ot_trial, last_result)
            self._tell(trial_id, ot_trial, TrialState.PRUNED, stopped_by=stopped_by)
            closed.append(trial_id)
        return closed

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as stream:
            pickle.dump(self.__dict__.copy(), stream)

    def restore(self, checkpoint_path: str) -> None:
        """Take the saved state, but keep the live set of the scheduler this run uses: the
        saved one is a copy, pickled apart from the scheduler.

        A driver killed between asking the study for a trial and Tune's next save leaves that
        trial RUNNING in the study with no Tune trial behind it: it is closed as FAIL (it
        did not end for reasons of its own, so TPE does not learn from it)."""
        live = self._stopped_early
        with open(checkpoint_path, "rb") as stream:
            self.__dict__.update(pickle.load(stream))
        self._stopped_early = live
        known = {trial.number for trial in self._trials.values()}
        for orphan in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if orphan.number not in known:
                self._study.tell(orphan.number, state=TrialState.FAIL, skip_if_finished=True)

    def _report_last_step(self, trial_id: str, ot_trial: optuna.Trial, result: dict) -> None:
        """Report the result Tune did not pass on (its scheduler said STOP to it)."""
        step = result.get(STEP_KEY)
        value = result.get(self.metric)
        if step is None or value is None or int(step) <= self._last_step.get(trial_id, 0):
            return
        self._report(trial_id, ot_trial, float(value), int(step))

    def _report(self, trial_id: str, ot_trial: optuna.Trial, value: float, step: int) -> None:
        started = time.perf_counter()
        try:
            ot_trial.report(value, step)
            self.write_seconds.append(time.perf_counter() - started)
        except optuna.exceptions.UpdateFinishedTrialError:
            # The study holds the trial as finished already: the driver was killed after telling
            # Optuna and before Tune saved its state, and Tune runs the trial again. The
            # study keeps the first ending.
            self._finished.add(trial_id)
            return
        self._last_step[trial_id] = step

    def _tell(self, trial_id: str, ot_trial: optuna.Trial, state: TrialState, value: float | None = None,
              *, stopped_by: str | None = None) -> None:
        if trial_id in self._finished:
            return
        try:
            if stopped_by is not None:
                ot_trial.set_user_attr(STOPPED_BY, stopped_by)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._finished.add(trial_id)  # finished in the study already (see ``_report``)
            return
        started = time.perf_counter()
        try:
            self._study.tell(ot_trial, value, state=state, skip_if_finished=True)
            self.write_seconds.append(time.perf_counter() - started)
        except ValueError:
            # A NaN value cannot be COMPLETE: Optuna's own rule makes it FAIL.
            self._study.tell(ot_trial, None, state=TrialState.FAIL, skip_if_finished=True)
        self._finished.add(trial_id)


class StudyCloser(Callback):
    """At the end of the experiment, closes the Optuna trials the time budget cut short.

    Tune stops those trials without telling the searcher. A search that ends before its
    time budget (every sample done, or an interrupt) leaves the study as it is.
    """

    def __init__(self, searcher: StudySearcher) -> None:
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
