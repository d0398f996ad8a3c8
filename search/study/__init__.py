"""The Optuna side of the search: the objective, the sampler, the study's storage. No Ray here,
so a plain Optuna loop (the benchmarks' peer) uses the same settings as the service."""

from search.study._objective import METRIC, MODE
from search.study._sampler import TPE_STARTUP_TRIALS, make_sampler
from search.study._storage import open_study_storage

__all__ = ["METRIC", "MODE", "TPE_STARTUP_TRIALS", "make_sampler", "open_study_storage"]
