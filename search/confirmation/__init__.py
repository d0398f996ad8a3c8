"""The confirmation: the search's best configurations and the notebook's models retrained with
several seeds on all training images and scored once on the test set, as a small pool of
Ray actors; the notebook's measurements cached across runs."""

from search.confirmation._candidates import (
    FULL_TRAIN_IMAGES,
    NOTEBOOK_EPOCH_SECONDS,
    Candidate,
    confirm_seeds,
    epoch_seconds_from_trial,
    notebook_candidates,
    select_front_configurations,
    select_top_configurations,
)
from search.confirmation._confirm import ConfirmPlan, ConfirmSettings, confirm, plan_confirmation, run_confirmation
from search.confirmation._job import confirm_job, confirm_row, sort_rows
from search.confirmation._notebook_cache import BaselineCache, cache_key
from search.confirmation._plan import BudgetFit, Job, estimate_wall_seconds, fit_to_budget, plan_jobs, plan_jobs_of
from search.confirmation._pool import PoolSettings, run_jobs

__all__ = [
    "FULL_TRAIN_IMAGES",
    "NOTEBOOK_EPOCH_SECONDS",
    "BaselineCache",
    "BudgetFit",
    "Candidate",
    "ConfirmPlan",
    "ConfirmSettings",
    "Job",
    "PoolSettings",
    "cache_key",
    "confirm",
    "confirm_job",
    "confirm_row",
    "confirm_seeds",
    "epoch_seconds_from_trial",
    "estimate_wall_seconds",
    "fit_to_budget",
    "notebook_candidates",
    "plan_confirmation",
    "plan_jobs",
    "plan_jobs_of",
    "run_confirmation",
    "run_jobs",
    "select_front_configurations",
    "select_top_configurations",
    "sort_rows",
]
