"""The Optuna side of the search: the objective, the sampler, the study's storage. No Ray here,
so a plain Optuna loop (the benchmarks' peer) uses the same settings as the service."""

from search.study._objective import (
    METRIC,
    MODE,
    OBJECTIVES,
    SIZE,
    budget_constraint,
    BUDGET_CONSTRAINT,
    directions,
    objective_values,
    size_aware,
)
from search.study._sampler import TPE_STARTUP_TRIALS, make_sampler
from search.study._storage import close_study_storage, open_study_storage, study_url
from search.study._trials import (
    STOPPED_AT_TARGET,
    STOPPED_BY,
    STOPPED_BY_ASHA,
    STOPPED_BY_BUDGET,
    STOPPED_BY_ERROR,
    TUNE_TRIAL_ID,
    trials_stopped_by,
)
from search.study._warm_start import WarmStart, WarmStartError, load_warm_start

__all__ = [
    "BUDGET_CONSTRAINT",
    "METRIC",
    "MODE",
    "OBJECTIVES",
    "SIZE",
    "STOPPED_AT_TARGET",
    "STOPPED_BY",
    "STOPPED_BY_ASHA",
    "STOPPED_BY_BUDGET",
    "STOPPED_BY_ERROR",
    "TPE_STARTUP_TRIALS",
    "TUNE_TRIAL_ID",
    "WarmStart",
    "WarmStartError",
    "close_study_storage",
    "budget_constraint",
    "directions",
    "load_warm_start",
    "make_sampler",
    "objective_values",
    "open_study_storage",
    "size_aware",
    "study_url",
    "trials_stopped_by",
]
