"""What the search optimizes: the validation accuracy a trial reports each epoch, alone
(``accuracy``) or with the model's parameter count (``pareto``), within an optional budget
of parameters."""

from __future__ import annotations

from typing import Sequence

import optuna

METRIC = "val_accuracy"
MODE = "max"
SIZE = "num_params"  # the parameter count, a user attribute of every trial of the study
OBJECTIVES = {"accuracy": ("maximize",), "pareto": ("maximize", "minimize")}


def directions(objective: str) -> list[str]:
    """The study's directions: validation accuracy up, and for ``pareto`` parameters down."""
    return list(OBJECTIVES[objective])


def objective_values(objective: str, accuracy: float, num_params: int) -> float | list[float]:
    """What a finished trial is told: its accuracy, or (accuracy, parameters)."""
    return accuracy if objective == "accuracy" else [accuracy, float(num_params)]


class ParameterBudget:
    """TPE's constraint for ``--max-params``: a trial is feasible when its parameter count (the
    ``num_params`` user attribute, set when it is proposed) is at most ``max_params``. A class,
    not a closure: the sampler is pickled with the searcher's state."""

    def __init__(self, max_params: int) -> None:
        self.max_params = int(max_params)

    def __call__(self, trial: optuna.trial.FrozenTrial) -> Sequence[float]:
        return [float(trial.user_attrs.get(SIZE, 0)) - self.max_params]
