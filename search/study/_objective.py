"""What the search optimizes: the validation accuracy a trial reports each epoch, alone
(``accuracy``) or with the model's parameter count (``pareto``), within an optional budget
of parameters."""

from __future__ import annotations



METRIC = "val_accuracy"
MODE = "max"
SIZE = "num_params"  # the parameter count, a user attribute of every trial of the study
OBJECTIVES = {"accuracy": ("maximize",), "pareto": ("maximize", "minimize")}


def size_aware(objective: str, max_params: int | None) -> bool:
    """Whether a search weighs parameters (``--objective pareto`` or ``--max-params``): its
    space then offers what small models need, and ASHA compares trials within size bands."""
    return objective == "pareto" or max_params is not None


def directions(objective: str) -> list[str]:
    """The study's directions: validation accuracy up, and for ``pareto`` parameters down."""
    return list(OBJECTIVES[objective])


def objective_values(objective: str, accuracy: float, num_params: int) -> float | list[float]:
    """What a finished trial is told: its accuracy, or (accuracy, parameters)."""
    return accuracy if objective == "accuracy" else [accuracy, float(num_params)]


BUDGET_CONSTRAINT = "max_params"  # the constraint's name in Optuna: parameters over the budget (<= 0: within)


def budget_constraint(num_params: int, max_params: int) -> float:
    """How far a model is over ``--max-params`` (feasible at 0 or less): TPE's constraint,
    set on each proposal with ``Trial.set_constraint``."""
    return float(num_params - max_params)
