"""A launched cluster's autoscaler: how many trials its GPU nodes hold, and what a search that
waits for them is told. The real two-node runs are in tests/cluster/test_cluster_e2e.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from search.tuning import (autoscaler_max_trials, default_concurrency, read_launcher_config,
                           waiting_for_gpus_note)

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"


@pytest.mark.parametrize("cpus, gpus, expected", [(1, 0.25, 16), (1, 0.5, 8), (1, 1, 4), (2, 0.25, 8), (4, 0.25, 4)])
def test_the_autoscaler_makes_room_for_its_gpu_nodes_times_the_trials_one_holds(launched_config, cpus, gpus,
                                                                                 expected) -> None:
    # cluster.yaml: up to 4 g5.xlarge workers of 4 CPUs and 1 GPU each.
    assert autoscaler_max_trials(launched_config, cpus_per_trial=cpus, gpus_per_trial=gpus) == expected


def test_the_clusters_max_workers_caps_each_node_type(launched_config) -> None:
    config = copy.deepcopy(launched_config)
    config["max_workers"] = 2
    assert autoscaler_max_trials(config, cpus_per_trial=1, gpus_per_trial=0.25) == 8


def test_no_node_type_that_holds_a_trial_gives_none(launched_config) -> None:
    assert autoscaler_max_trials(launched_config, cpus_per_trial=8, gpus_per_trial=0.25) is None
    assert autoscaler_max_trials({"available_node_types": {}}, cpus_per_trial=1, gpus_per_trial=1) is None


def test_the_launcher_config_is_read_only_where_it_exists(tmp_path: Path) -> None:
    assert read_launcher_config(tmp_path / "missing.yaml") is None
    (tmp_path / "broken.yaml").write_text("{not: [yaml")
    assert read_launcher_config(tmp_path / "broken.yaml") is None
    (tmp_path / "ray_bootstrap_config.yaml").write_text(CLUSTER_YAML.read_text())
    assert read_launcher_config(tmp_path / "ray_bootstrap_config.yaml")["cluster_name"] == "mnist-search"


def test_without_gpus_yet_the_default_concurrency_is_what_the_autoscaler_holds() -> None:
    head_only = {"CPU": 4.0, "memory": 1e10}
    assert default_concurrency({**head_only, "autoscaler_max_trials": 16.0}, cpus_per_trial=1, gpus_per_trial=0.25) == 16
    assert default_concurrency(head_only, cpus_per_trial=1, gpus_per_trial=0.25) == 4, "unknown: the CPUs decide"
    with_gpu = {"CPU": 8.0, "GPU": 1.0, "autoscaler_max_trials": 16.0}
    assert default_concurrency(with_gpu, cpus_per_trial=1, gpus_per_trial=0.25) == 4, "GPUs present: they decide"


def test_the_note_says_what_the_trials_wait_for_in_one_line() -> None:
    note = waiting_for_gpus_note(0.25, max_trials=16, max_concurrent=None)
    assert "\n" not in note
    assert "no GPU now" in note and "--gpus-per-trial 0.25 wait until its autoscaler adds GPU nodes" in note
    assert "16 trials are asked for at once" in note
    assert "--max-concurrent 6 trials" in waiting_for_gpus_note(0.25, max_trials=16, max_concurrent=6)
    assert "--max-concurrent sets how many" in waiting_for_gpus_note(1, max_trials=None, max_concurrent=None)
