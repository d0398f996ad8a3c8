"""The compatibility module against the pinned Ray: every private name it reaches still means
what the service needs. A Ray upgrade that moves one fails here, not in a user's run."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler

from search.tuning import restored_scheduler, restored_tune_config, result_grid_trials


def _trainable(config: dict) -> None:
    for step in range(2):
        tune.report({"score": config["x"] * (step + 1)})


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> tuple[tune.ResultGrid, Path]:
    storage = tmp_path_factory.mktemp("tune")
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        grid = tune.Tuner(
            _trainable, param_space={"x": tune.grid_search([1, 2])},
            tune_config=tune.TuneConfig(metric="score", mode="max", time_budget_s=321.0,
                                        scheduler=ASHAScheduler(max_t=2, grace_period=1)),
            run_config=tune.RunConfig(name="compat", storage_path=str(storage), verbose=0),
        ).fit()
        yield grid, storage / "compat"
    finally:
        ray.shutdown()


@pytest.mark.e2e
def test_the_trials_behind_a_result_grid_are_tunes_trials_in_its_order(experiment) -> None:
    grid, _ = experiment
    trials = result_grid_trials(grid)
    assert len(trials) == len(grid) == 2
    assert all(isinstance(trial, Trial) and trial.status == "TERMINATED" for trial in trials)
    assert [str(trial.path) for trial in trials] == [str(result.path) for result in grid]


@pytest.mark.e2e
def test_a_restored_tuner_hands_back_its_tune_config_and_scheduler_to_change_before_fit(experiment) -> None:
    _, path = experiment
    tuner = tune.Tuner.restore(str(path), trainable=_trainable)
    config = restored_tune_config(tuner)
    assert isinstance(config, tune.TuneConfig) and config.time_budget_s == 321.0
    assert isinstance(restored_scheduler(tuner), ASHAScheduler)
    config.time_budget_s = 12.0
    assert restored_tune_config(tuner).time_budget_s == 12.0, "the same object the restored Tuner runs with"
