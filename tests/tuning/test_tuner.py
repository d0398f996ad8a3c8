"""Tune wiring: what a trial is handed, and how many trials run at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import search.tuning._tuner as tuner
from mnist_models import load_mnist, search_split
from search.run_folder import TUNE_FOLDER
from search.tuning import SearchPlan, default_concurrency, make_trainable
from search.tuning._tuner import make_run_config


def _plan(tmp_path: Path, **overrides) -> SearchPlan:
    values = dict(space="cnn", name="t", run_dir=tmp_path, num_samples=4, time_budget_s=60.0, max_epochs=2,
                  max_concurrent=2, cpus_per_trial=1.0, gpus_per_trial=0.0, seed=0, max_failures=0)
    values.update(overrides)
    return SearchPlan(**values)


def test_a_trial_is_handed_the_search_split_and_never_the_test_arrays(monkeypatch, tmp_path: Path, synthetic_npz: Path) -> None:
    mnist = load_mnist(synthetic_npz)
    handed: dict = {}
    monkeypatch.setattr(tuner.tune, "with_parameters", lambda fn, **kwargs: handed.update(kwargs) or fn)
    make_trainable(_plan(tmp_path), search_split(mnist, seed=0))
    arrays = [value for value in handed.values() if isinstance(value, np.ndarray)]
    arrays += [getattr(value, field) for value in handed.values()
               for field in getattr(value, "__dataclass_fields__", {})]
    assert arrays, "the trial is handed its data"
    for array in arrays:
        assert array.dtype.kind in "fiu"
        # Every test pixel of the synthetic set is 7 (7/255 once scaled); no handed image is all 7s.
        if array.ndim == 3:
            assert not np.any(np.all((array == 7) | (array == np.float32(7 / 255)), axis=(1, 2)))
        assert not np.shares_memory(array, mnist.x_test) and not np.shares_memory(array, mnist.y_test)


def test_tensorflow_threads_match_the_trials_cpus(monkeypatch, tmp_path: Path, synthetic_npz: Path) -> None:
    handed: dict = {}
    monkeypatch.setattr(tuner.tune, "with_parameters", lambda fn, **kwargs: handed.update(kwargs) or fn)
    monkeypatch.setattr(tuner.tune, "with_resources", lambda fn, resources: handed.update(resources=resources) or fn)
    make_trainable(_plan(tmp_path, cpus_per_trial=2.0, gpus_per_trial=0.5), search_split(load_mnist(synthetic_npz), 0))
    assert handed["threads"] == 2 and handed["gpu_share"] == 0.5  # the training process checks it can use it
    assert handed["resources"] == {"cpu": 2.0, "gpu": 0.5}


def test_trials_fill_the_machine_without_oversubscribing_it() -> None:
    assert default_concurrency({"CPU": 2.0}, cpus_per_trial=1, gpus_per_trial=0) == 2
    assert default_concurrency({"CPU": 2.0}, cpus_per_trial=2, gpus_per_trial=0) == 1
    assert default_concurrency({"CPU": 16.0, "GPU": 1.0}, cpus_per_trial=1, gpus_per_trial=0.25) == 4
    assert default_concurrency({"CPU": 1.0}, cpus_per_trial=4, gpus_per_trial=0) == 1


def test_fractional_gpus_reach_the_trials_resource_request(monkeypatch, tmp_path: Path, synthetic_npz: Path) -> None:
    """What Tune reads from the trainable: 0.25 GPU lets four trials share one GPU."""
    monkeypatch.setattr(tuner.tune, "with_parameters", lambda fn, **kwargs: lambda config: fn(config, **kwargs))
    trainable = make_trainable(_plan(tmp_path, cpus_per_trial=1.0, gpus_per_trial=0.25),
                               search_split(load_mnist(synthetic_npz), 0))
    assert trainable._resources.required_resources == {"CPU": 1.0, "GPU": 0.25}


def test_with_a_storage_uri_tunes_folder_goes_there(tmp_path: Path) -> None:
    config = make_run_config(_plan(tmp_path, storage_uri=f"file://{tmp_path}/remote/t"), callbacks=[])
    assert config.storage_path == f"file://{tmp_path}/remote/t"
    assert config.name == TUNE_FOLDER


def test_without_a_storage_uri_tunes_folder_is_in_the_run_folder(tmp_path: Path) -> None:
    config = make_run_config(_plan(tmp_path), callbacks=[])
    assert (config.storage_path, config.name) == (str(tmp_path), TUNE_FOLDER)


def test_without_gpus_yet_the_default_concurrency_is_what_the_autoscaler_holds() -> None:
    head_only = {"CPU": 4.0, "memory": 1e10}
    assert default_concurrency({**head_only, "autoscaler_max_trials": 16.0}, cpus_per_trial=1, gpus_per_trial=0.25) == 16
    assert default_concurrency(head_only, cpus_per_trial=1, gpus_per_trial=0.25) == 4, "unknown: the CPUs decide"
    with_gpu = {"CPU": 8.0, "GPU": 1.0, "autoscaler_max_trials": 16.0}
    assert default_concurrency(with_gpu, cpus_per_trial=1, gpus_per_trial=0.25) == 4, "GPUs present: they decide"


def test_cpu_trials_on_a_head_that_keeps_its_cpus_wait_for_as_many_as_the_autoscaler_holds() -> None:
    head = {"CPU": 0.0, "memory": 1e10}
    assert default_concurrency({**head, "autoscaler_max_trials": 16.0}, cpus_per_trial=1, gpus_per_trial=0) == 16
    assert default_concurrency({"CPU": 8.0, "autoscaler_max_trials": 16.0}, cpus_per_trial=1, gpus_per_trial=0) == 8
