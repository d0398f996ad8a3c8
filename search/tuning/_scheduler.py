"""ASHA with one epoch as one step, remembering which trials it stopped early."""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import ASHAScheduler, TrialScheduler

ASHA_REDUCTION_FACTOR = 3
ASHA_GRACE_EPOCHS = 1


class RecordingASHA(ASHAScheduler):
    """``ASHAScheduler`` that records the ids of the trials it stops before their last epoch,
    so the results can tell "stopped early by ASHA" from "ran all its epochs"."""

    def __init__(self, *, max_epochs: int, metric: str, mode: str, grace_epochs: int = ASHA_GRACE_EPOCHS,
                 reduction_factor: int = ASHA_REDUCTION_FACTOR) -> None:
        super().__init__(
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            max_t=max_epochs,
            grace_period=min(grace_epochs, max_epochs),
            reduction_factor=reduction_factor,
        )
        self.stopped_early: set[str] = set()

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)
        planned_epochs = int(trial.config.get("epochs", 0))
        if decision == TrialScheduler.STOP and result.get("training_iteration", 0) < planned_epochs:
            self.stopped_early.add(trial.trial_id)
        return decision
