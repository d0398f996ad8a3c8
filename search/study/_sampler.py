"""The search's Optuna sampler (the plain-Optuna benchmark peer uses it too)."""

from __future__ import annotations

import warnings

import optuna

TPE_STARTUP_TRIALS = 8


def make_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Seeded TPE that models the hyperparameters jointly (``multivariate``), splits the space
    by which parameters a trial has (``group``: a 1-block and a 3-block CNN are told apart),
    and, while trials run in parallel, counts the running ones as bad (``constant_liar``)
    so that two workers are not handed the same region. Its first ``TPE_STARTUP_TRIALS``
    proposals (after the enqueued start points) are random. It learns which models are over
    a parameter budget from the constraint each proposal carries (``Trial.set_constraint``);
    the same TPE serves one objective or two (accuracy and parameters: its multi-objective form)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP_TRIALS, multivariate=True,
                                          group=True, constant_liar=True)
