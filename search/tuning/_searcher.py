"""The search's Optuna study, driven through Tune's public ``Searcher`` interface and told the
truth about every trial.

Two studies hold the trials. TPE proposes from one in memory, which holds a bounded window
of them (the best and the latest, ``history_window``): TPE's cost per proposal grows with
the trials it weighs, and reading a large study back from SQLite at every proposal would
grow with it too. Every trial is then recorded, with the values TPE chose, in the run's
SQLite study (``study.db``), the one optuna-dashboard shows and ``--resume`` reads; its
sampler is never asked for anything (every value is fixed by the proposal).

Every epoch a trial reports is an intermediate value (step = epoch), the last one included,
and each trial ends in the state it really ended in:

- a trial ASHA stopped is PRUNED (``stopped_by = "asha"``), a trial that raised is FAIL, a
  trial that ran all its epochs is COMPLETE with its last validation accuracy;
- ``StudyCloser`` (a Tune callback) marks the trials the time budget cut PRUNED
  (``stopped_by = "time_budget"``), and FAIL those Tune failed without telling the searcher.
  After an interrupt (Ctrl-C) unfinished trials stay RUNNING, since a resumed run goes on
  with them.

Every trial of the SQLite study carries the Tune trial id as the user attribute
``tune_trial_id``, so the study and ``trials.parquet`` can be joined.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import optuna
from optuna.trial import TrialState
from ray.tune import Callback
from ray.tune.search import Searcher

from search.study import (BUDGET_CONSTRAINT, SIZE, STOPPED_AT_TARGET, STOPPED_BY, STOPPED_BY_ASHA, STOPPED_BY_BUDGET,
                          STOPPED_BY_ERROR, TUNE_TRIAL_ID, budget_constraint, directions, objective_values)

STEP_KEY = "training_iteration"
# In a search of two objectives Optuna takes no intermediate values: the epochs' scores are a
# user attribute of the trial instead, updated each epoch.
CURVE_ATTRIBUTE = "val_accuracy_per_epoch"
# Proposals in a row over --max-params before the search gives up (TPE learns the budget fast).
MAX_PROPOSALS_OVER_BUDGET = 2000
# TPE weighs at most this many finished trials: the best third of the window, and the
# latest ones for the rest. Below it (every default run) TPE sees every trial.
HISTORY_WINDOW = 600


@dataclass
class _Trial:
    """One trial in both studies: the recorded one (SQLite) and the one TPE weighs (memory)."""

    record: optuna.Trial
    sampling: optuna.Trial
    params: dict[str, Any]
    constants: dict[str, Any]
    size: int | None = None  # parameters, when the searcher was given a way to count them
    curve: list[float] | None = None  # the epochs' scores, in a search of two objectives


class StudySearcher(Searcher):
    """Proposes trials with ``sampler`` over the define-by-run function ``space``, starting
    with ``points_to_evaluate``, and records them in the study of ``storage``; tells Optuna
    PRUNED for the trials in ``stopped_early`` (the live set ``RecordingASHA.stopped_early``),
    FAIL for failed trials, and reports every epoch as an intermediate value.

    ``objective`` is "accuracy" (the metric alone) or "pareto" (the metric up and the
    parameters down); ``parameter_count`` counts a configuration's parameters, and with
    ``max_params`` a proposal over that budget never reaches Tune: TPE is told it is
    infeasible (its constraint) and proposes again.

    ``warm_trials`` (``--warm-start``: finished trials of earlier runs) go into both studies
    before the first proposal, so TPE weighs them from the start.

    ``suggest_seconds`` and ``write_seconds`` (the seconds each proposal and each write to the
    study took, in order) exist for the scale benchmark alone (``benchmarks/_scale_arm.py``): it
    reports what the searcher costs the driver as the study grows, which only the searcher
    itself can time."""

    def __init__(self, *, space: Callable[[optuna.Trial], dict[str, Any]], metric: str, mode: str,
                 storage: optuna.storages.BaseStorage, study_name: str, stopped_early: set[str],
                 points_to_evaluate: Sequence[dict[str, Any]] = (),
                 sampler: optuna.samplers.BaseSampler | None = None, history_window: int = HISTORY_WINDOW,
                 objective: str = "accuracy", parameter_count: Callable[[dict[str, Any]], int] | None = None,
                 max_params: int | None = None, warm_trials: Sequence[optuna.trial.FrozenTrial] = ()) -> None:
        # Optuna logs every study it creates at INFO level; the run prints its own lines.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        super().__init__(metric=metric, mode=mode)
        self._space = space
        self._objective = objective
        self._directions = directions(objective)
        self._parameter_count = parameter_count
        self._max_params = max_params
        self._sampler = sampler or optuna.samplers.TPESampler()
        self._history_window = history_window
        # Early stopping is the scheduler's job, never Optuna's; the record's values are all fixed.
        self._study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(),
                                          pruner=optuna.pruners.NopPruner(), study_name=study_name,
                                          load_if_exists=True, directions=self._directions)
        self._storage = storage
        self._study_id = storage.get_study_id_from_name(study_name)
        self._sampling = self._new_sampling_study()
        if warm_trials and not self._study.get_trials(deepcopy=False):
            self._study.add_trials(warm_trials)
        self._sampling.add_trials(warm_trials)
        for point in points_to_evaluate:
            self._sampling.enqueue_trial(point)
        self._trials: dict[str, _Trial] = {}
        self._finished: set[str] = set()
        self._last_step: dict[str, int] = {}
        self._stopped_early = stopped_early
        # For the scale benchmark (see the class's docstring).
        self.suggest_seconds: list[float] = []
        self.write_seconds: list[float] = []
        self.proposals_over_budget = 0

    @property
    def study(self) -> optuna.Study:
        """The recorded study (``study.db``)."""
        return self._study

    @property
    def weighed_trials(self) -> list[optuna.trial.FrozenTrial]:
        """The finished trials TPE weighs now (all of them, up to half as many again as the window)."""
        return self._sampling.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                 TrialState.FAIL))

    def suggest(self, trial_id: str) -> dict | None:
        started = time.perf_counter()
        if trial_id not in self._trials:
            self._trials[trial_id] = self._propose(trial_id)
        trial = self._trials[trial_id]
        self.suggest_seconds.append(time.perf_counter() - started)
        # The space's constants come last: they are not choices, and no enqueued value overrides them.
        return {**trial.params, **trial.constants}

    def _propose(self, trial_id: str) -> _Trial:
        """TPE's proposal within the parameter budget, recorded in the SQLite study with the same
        values and distributions, in one write."""
        for _ in range(MAX_PROPOSALS_OVER_BUDGET):
            sampling = self._sampling.ask()
            constants = self._space(sampling) or {}
            size = self._parameter_count({**sampling.params, **constants}) if self._parameter_count else None
            if size is not None:
                sampling.set_user_attr(SIZE, size)
            if self._max_params is not None:
                sampling.set_constraint(BUDGET_CONSTRAINT, budget_constraint(size, self._max_params))
            if self._max_params is None or size <= self._max_params:
                break
            # Never trained: TPE learns from its constraint that this region is over the budget.
            self._sampling.tell(sampling, objective_values(self._objective, 0.0, size))
            self.proposals_over_budget += 1
        else:
            raise RuntimeError(f"{MAX_PROPOSALS_OVER_BUDGET} proposals in a row were over --max-params "
                               f"{self._max_params}: raise it, or search another space")
        attributes = {TUNE_TRIAL_ID: trial_id, **({SIZE: size} if size is not None else {})}
        template = optuna.trial.create_trial(state=TrialState.RUNNING, params=sampling.params,
                                             distributions=sampling.distributions, user_attrs=attributes)
        record = optuna.trial.Trial(self._study, self._storage.create_new_trial(self._study_id, template))
        return _Trial(record=record, sampling=sampling, params=sampling.params, constants=constants, size=size,
                      curve=[] if len(self._directions) > 1 else None)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._finished or trial_id not in self._trials:
            return
        step, value = result.get(STEP_KEY), result.get(self.metric)
        if step is None or value is None:
            return
        self._report(trial_id, self._trials[trial_id], float(value), int(step))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self._trials.get(trial_id)
        if trial is None or trial_id in self._finished:
            return
        if result:
            self._report_last_step(trial_id, trial, result)
        if error:
            self._tell(trial_id, trial, TrialState.FAIL)
        elif result is None or result.get(self.metric) is None:
            # Removed before it reported anything (Tune stopped it while pending).
            self._tell(trial_id, trial, TrialState.PRUNED)
        elif trial_id in self._stopped_early:
            self._tell(trial_id, trial, TrialState.PRUNED, stopped_by=STOPPED_BY_ASHA)
        else:
            self._tell(trial_id, trial, TrialState.COMPLETE, value=float(result[self.metric]))

    def close_unfinished(self, trials: list[Any], *, stopped_by: str) -> list[str]:
        """Close every trial of ``trials`` Optuna still holds as RUNNING: FAIL where Tune failed
        it, else PRUNED (``stopped_by`` says why) with the last result Tune saw for it as its
        last intermediate value. Returns their ids."""
        closed = []
        for tune_trial in trials:
            trial_id = str(tune_trial.trial_id)
            trial = self._trials.get(trial_id)
            if trial is None or trial_id in self._finished:
                continue
            if getattr(tune_trial, "status", None) == "ERROR":
                self._tell(trial_id, trial, TrialState.FAIL)
                closed.append(trial_id)
                continue
            last_result = getattr(tune_trial, "last_result", None) or {}
            if last_result.get(self.metric) is not None:
                self._report_last_step(trial_id, trial, last_result)
            self._tell(trial_id, trial, TrialState.PRUNED, stopped_by=stopped_by)
            closed.append(trial_id)
        return closed

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as stream:
            pickle.dump(self.__dict__.copy(), stream)

    def restore(self, checkpoint_path: str) -> None:
        """Take the saved state, but keep the live set of the scheduler this run uses: the
        saved one is a copy, pickled apart from the scheduler.

        A driver killed between recording a trial and Tune's next save leaves that trial
        RUNNING in the recorded study with no Tune trial behind it: it is closed as FAIL (it
        did not end for reasons of its own)."""
        live = self._stopped_early
        with open(checkpoint_path, "rb") as stream:
            self.__dict__.update(pickle.load(stream))
        self._stopped_early = live
        known = {trial.record.number for trial in self._trials.values()}
        for orphan in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if orphan.number not in known:
                self._study.tell(orphan.number, state=TrialState.FAIL, skip_if_finished=True)

    def _report_last_step(self, trial_id: str, trial: _Trial, result: dict) -> None:
        """Report the result Tune did not pass on (its scheduler said STOP to it)."""
        step = result.get(STEP_KEY)
        value = result.get(self.metric)
        if step is None or value is None or int(step) <= self._last_step.get(trial_id, 0):
            return
        self._report(trial_id, trial, float(value), int(step))

    def _report(self, trial_id: str, trial: _Trial, value: float, step: int) -> None:
        started = time.perf_counter()
        try:
            if trial.curve is not None:
                trial.curve.append(value)
                trial.record.set_user_attr(CURVE_ATTRIBUTE, list(trial.curve))
                self.write_seconds.append(time.perf_counter() - started)
                self._last_step[trial_id] = step
                return
            trial.record.report(value, step)
        except optuna.exceptions.UpdateFinishedTrialError:
            # The study holds the trial as finished already: the driver was killed after telling
            # Optuna and before Tune saved its state, and Tune runs the trial again. The
            # study keeps the first ending.
            self._finished.add(trial_id)
            return
        self.write_seconds.append(time.perf_counter() - started)
        trial.sampling.report(value, step)
        self._last_step[trial_id] = step

    def _tell(self, trial_id: str, trial: _Trial, state: TrialState, value: float | None = None,
              *, stopped_by: str | None = None) -> None:
        if trial_id in self._finished:
            return
        started = time.perf_counter()
        try:
            if stopped_by is not None:
                trial.record.set_user_attr(STOPPED_BY, stopped_by)
            self._tell_both(trial, state, value)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # finished in the study already (see ``_report``)
        self.write_seconds.append(time.perf_counter() - started)
        self._finished.add(trial_id)
        # A finished trial is never reported or told again: what Tune saves of the searcher
        # (every few seconds) then holds the running trials only.
        del self._trials[trial_id]
        self._last_step.pop(trial_id, None)
        self._keep_sampling_window()

    def _tell_both(self, trial: _Trial, state: TrialState, value: float | None) -> None:
        if value is not None and len(self._directions) > 1:
            value = objective_values(self._objective, value, trial.size or 0)
        for ot_trial in (trial.record, trial.sampling):
            try:
                ot_trial.study.tell(ot_trial, value, state=state, skip_if_finished=True)
            except ValueError:
                # A NaN value cannot be COMPLETE: Optuna's own rule makes it FAIL.
                ot_trial.study.tell(ot_trial, None, state=TrialState.FAIL, skip_if_finished=True)

    def _new_sampling_study(self) -> optuna.Study:
        return optuna.create_study(sampler=self._sampler, pruner=optuna.pruners.NopPruner(),
                                   directions=self._directions)

    def _keep_sampling_window(self) -> None:
        """Once the study TPE weighs holds half as many finished trials again as the window, start
        it afresh with the window (the best third, the latest for the rest) and the trials
        still running, so that a proposal's cost stays bounded however long the search."""
        finished = self.weighed_trials
        if len(finished) < self._history_window * 3 // 2:
            return
        scored = [trial for trial in finished if trial.state == TrialState.COMPLETE]
        best = sorted(scored, key=lambda trial: trial.values[0], reverse=self._directions[0] == "maximize")
        kept = {trial.number: trial for trial in best[: self._history_window // 3]}
        for trial in reversed(finished):
            if len(kept) >= self._history_window:
                break
            kept.setdefault(trial.number, trial)
        fresh = self._new_sampling_study()
        fresh.add_trials(sorted(kept.values(), key=lambda trial: trial.number))
        for trial in self._trials.values():
            trial.sampling = self._rerun_in(fresh, trial)
        self._sampling = fresh

    def _rerun_in(self, study: optuna.Study, trial: _Trial) -> optuna.Trial:
        """A running trial in ``study``: the same values, the epochs reported so far."""
        study.enqueue_trial(trial.params)
        sampling = study.ask()
        self._space(sampling)
        if trial.size is not None:
            sampling.set_user_attr(SIZE, trial.size)
            if self._max_params is not None:
                sampling.set_constraint(BUDGET_CONSTRAINT, budget_constraint(trial.size, self._max_params))
        if trial.curve is None:
            for step, value in sorted(trial.sampling.study.trials[trial.sampling.number].intermediate_values.items()):
                sampling.report(value, step)
        return sampling


class StudyCloser(Callback):
    """At the end of the experiment, closes the Optuna trials the time budget or the target
    (``--stop-at``, ``target``) cut short.

    Tune stops those trials without telling the searcher. A search that ends before its
    time budget and short of its target (every sample done, or an interrupt) leaves the
    study as it is.
    """

    def __init__(self, searcher: StudySearcher, *, target: Any = None) -> None:
        self._searcher = searcher
        self._target = target
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
                                        stopped_by=STOPPED_BY_ERROR)
        if self._target is not None and self._target.reached is not None:
            self._searcher.close_unfinished(trials, stopped_by=STOPPED_AT_TARGET)
            return
        budget = self._time_budget_s
        if budget is not None and time.monotonic() - self._started >= budget:
            self._searcher.close_unfinished(trials, stopped_by=STOPPED_BY_BUDGET)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
