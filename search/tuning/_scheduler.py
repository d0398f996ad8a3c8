"""ASHA with one epoch as one step, remembering which trials it stopped early; and, for a search
that weighs parameters too, ASHA within bands of model size."""

from __future__ import annotations

import bisect
from typing import Any, Callable, Hashable

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from spaces import SIZE_BUDGETS

ASHA_REDUCTION_FACTOR = 3
ASHA_GRACE_EPOCHS = 1
# In a size-aware search ASHA compares trials from the third epoch on: with batch norm and a
# high learning rate a small CNN's first epoch says little of where it ends, and ASHA stopped
# the size-aware start point at the first rung of a Pareto search (docs/PERFORMANCE.md,
# "Choices measured").
SIZE_AWARE_GRACE_EPOCHS = 3
# In a search whose trials may train long (``Space.trains_long``) ASHA compares trials from the
# third epoch on, within bands (search.tuning._tuner.make_scheduler): a trial planned for 15
# epochs has decayed its learning rate less after one than a 4-epoch trial has, and ASHA stopped
# the long-training start point at the first rung of an hour's search (docs/PERFORMANCE.md,
# "Choices measured").
LONG_TRAINING_GRACE_EPOCHS = 3
# Upper bounds of the size bands (parameters) within which --objective pareto's ASHA compares
# trials: the budgets of the report's size table.
SIZE_BANDS = SIZE_BUDGETS


class RecordingASHA(ASHAScheduler):
    """``ASHAScheduler`` that records the ids of the trials it stops before their last epoch,
    so the results can tell "stopped early by ASHA" from "ran all its epochs"."""

    def __init__(self, *, max_epochs: int, metric: str, mode: str, grace_epochs: int = ASHA_GRACE_EPOCHS,
                 reduction_factor: int = ASHA_REDUCTION_FACTOR, stopped_early: set[str] | None = None) -> None:
        super().__init__(
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            max_t=max_epochs,
            grace_period=min(grace_epochs, max_epochs),
            reduction_factor=reduction_factor,
        )
        self.stopped_early: set[str] = set() if stopped_early is None else stopped_early

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)
        planned_epochs = int(trial.config.get("epochs", 0))
        if decision == TrialScheduler.STOP and result.get("training_iteration", 0) < planned_epochs:
            self.stopped_early.add(trial.trial_id)
        return decision


def size_band(num_params: int) -> int:
    """The index of the size band ``num_params`` falls in (``len(SIZE_BANDS)``: above them all)."""
    return bisect.bisect_left(SIZE_BANDS, num_params)


class BandedASHA(FIFOScheduler):
    """ASHA within bands of trials (``band_of``: a trial's configuration -> its band; for
    ``--objective pareto``, its size band): at a rung a trial is compared only with the trials
    of its own band, so that a small model is not stopped because larger ones are ahead of it
    after the same epochs. Each band has ASHA's own rungs; every stop is
    recorded in one ``stopped_early`` set."""

    def __init__(self, *, max_epochs: int, metric: str, mode: str, band_of: Callable[[dict], Hashable],
                 grace_epochs: int = ASHA_GRACE_EPOCHS, reduction_factor: int = ASHA_REDUCTION_FACTOR) -> None:
        super().__init__()
        self._settings = {"max_epochs": max_epochs, "metric": metric, "mode": mode, "grace_epochs": grace_epochs,
                          "reduction_factor": reduction_factor}
        self._band_of = band_of
        self._bands: dict[Hashable, RecordingASHA] = {}
        self.stopped_early: set[str] = set()

    def band_of(self, trial: Any) -> RecordingASHA:
        band = self._band_of(dict(trial.config))
        if band not in self._bands:
            self._bands[band] = RecordingASHA(**self._settings, stopped_early=self.stopped_early)
        return self._bands[band]

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self.band_of(trial).on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        return self.band_of(trial).on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        self.band_of(trial).on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self.band_of(trial).on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        return f"ASHA in {len(self._bands)} band(s)"
