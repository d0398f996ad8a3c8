"""The compatibility module against the pinned Ray: every private name it reaches still means
what the service needs. A Ray upgrade that moves one fails here, not in a user's run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs as pafs
import pytest
import ray
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.logger import JsonLoggerCallback
from ray.tune.schedulers import ASHAScheduler

from search.tuning import restored_scheduler, restored_tune_config, result_grid_trials
from search.tuning._ray_compat import TrialResultLog


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


class _Trial(SimpleNamespace):
    __hash__ = object.__hash__  # Tune's loggers key their files by trial


def _retried_trial(tmp_path: Path, *, driver_lines: int | None, stored_lines: int) -> _Trial:
    """A trial started again from a checkpoint: the driver's copy of its result.json holds
    ``driver_lines`` epochs (None: no copy, as for a new driver), the storage's ``stored_lines``."""
    local, stored = tmp_path / "staging" / "trial", tmp_path / "storage" / "trial"
    stored.mkdir(parents=True)
    local.mkdir(parents=True)
    (stored / "result.json").write_text("".join(f'{{"epoch": {epoch}}}\n' for epoch in range(1, stored_lines + 1)))
    if driver_lines is not None:
        (local / "result.json").write_text("".join(f'{{"epoch": {epoch}}}\n' for epoch in range(1, driver_lines + 1)))
    return _Trial(
        local_path=str(local), config={}, checkpoint=object(), init_local_path=lambda: None,
        storage=SimpleNamespace(trial_fs_path=str(stored), storage_filesystem=pafs.LocalFileSystem()))


def _epochs_logged(trial: _Trial) -> list[int]:
    return [int(line.split(":")[1].strip(" }")) for line in
            Path(trial.local_path, "result.json").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("logger, kept", [(TrialResultLog, [1, 2]), (JsonLoggerCallback, [1])])
def test_a_retried_trial_keeps_the_epochs_its_driver_logged_though_the_storage_has_fewer(
        tmp_path, logger, kept) -> None:
    """Tune's own logger replaces them with the storage's older copy (why TrialResultLog exists)."""
    trial = _retried_trial(tmp_path, driver_lines=2, stored_lines=1)
    result_log = logger()
    result_log.log_trial_start(trial)
    result_log.log_trial_end(trial)
    assert _epochs_logged(trial) == kept


def test_a_new_driver_takes_a_retried_trials_log_from_the_storage(tmp_path) -> None:
    trial = _retried_trial(tmp_path, driver_lines=None, stored_lines=3)
    result_log = TrialResultLog()
    result_log.log_trial_start(trial)
    result_log.log_trial_end(trial)
    assert _epochs_logged(trial) == [1, 2, 3]
