"""A launched cluster's autoscaler: how many trials its GPU nodes hold, and what a search that
waits for them is told. The real two-node runs are in tests/cluster/test_cluster_e2e.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from search.cluster._autoscaler import (
    autoscaler_max_trials,
    holds_a_trial,
    node_type_resources,
    read_launcher_config,
    trial_bundle,
    waiting_for_gpus_note,
)

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


def test_the_clusters_max_workers_caps_all_node_types_together(launched_config) -> None:
    config = copy.deepcopy(launched_config)
    config["available_node_types"]["gpu_spot_worker"]["max_workers"] = 4  # on-demand and spot: 8 nodes
    assert autoscaler_max_trials(config, cpus_per_trial=1, gpus_per_trial=0.25) == 16, "the cluster's 4 nodes"
    config["max_workers"] = 6
    assert autoscaler_max_trials(config, cpus_per_trial=1, gpus_per_trial=0.25) == 24


def test_worker_resources_left_to_ray_come_from_the_instance_type() -> None:
    # cluster.yaml as written leaves the workers' resources out (`ray up` fills them in from
    # EC2); the head node's copy has them, but the room is the same either way.
    raw = yaml.safe_load(CLUSTER_YAML.read_text())
    assert "resources" not in raw["available_node_types"]["gpu_worker"]
    assert autoscaler_max_trials(raw, cpus_per_trial=1, gpus_per_trial=0.25) == 16
    for instance_type in ("g5.xlarge", "g6.xlarge", "g4dn.xlarge"):
        assert node_type_resources({"node_config": {"InstanceType": instance_type}}) == {"CPU": 4.0, "GPU": 1.0}
    assert node_type_resources({"node_config": {"InstanceType": "m5.xlarge"}}) == {"CPU": 4.0}
    declared = {"resources": {"CPU": 2, "GPU": 1, "memory": 10**9}, "node_config": {"InstanceType": "g5.xlarge"}}
    assert node_type_resources(declared) == {"CPU": 2.0, "GPU": 1.0}, "declared resources win"
    assert node_type_resources({"node_config": {"InstanceType": "x9.imaginary"}}) == {}


def test_a_trial_must_fit_on_one_node_not_on_the_clusters_sum() -> None:
    bundle = trial_bundle(cpus_per_trial=1, gpus_per_trial=0.25)
    assert bundle == {"CPU": 1.0, "GPU": 0.25} and trial_bundle(cpus_per_trial=2, gpus_per_trial=0) == {"CPU": 2.0}
    assert not holds_a_trial([{"CPU": 4.0}, {"CPU": 0.0, "GPU": 1.0}], bundle)
    assert holds_a_trial([{"CPU": 0.0}, {"CPU": 4.0, "GPU": 1.0, "memory": 1e9}], bundle)
    assert not holds_a_trial([], bundle)


def test_no_node_type_that_holds_a_trial_gives_none(launched_config) -> None:
    assert autoscaler_max_trials(launched_config, cpus_per_trial=8, gpus_per_trial=0.25) is None
    assert autoscaler_max_trials({"available_node_types": {}}, cpus_per_trial=1, gpus_per_trial=1) is None


def test_the_launcher_config_is_read_only_where_it_exists(tmp_path: Path) -> None:
    assert read_launcher_config(tmp_path / "missing.yaml") is None
    (tmp_path / "broken.yaml").write_text("{not: [yaml")
    assert read_launcher_config(tmp_path / "broken.yaml") is None
    (tmp_path / "ray_bootstrap_config.yaml").write_text(CLUSTER_YAML.read_text())
    assert read_launcher_config(tmp_path / "ray_bootstrap_config.yaml")["cluster_name"] == "mnist-search"


def test_the_note_says_what_the_trials_wait_for_in_one_line() -> None:
    note = waiting_for_gpus_note(0.25, max_trials=16, max_concurrent=None)
    assert "\n" not in note
    assert "no GPU now" in note and "--gpus-per-trial 0.25 wait until its autoscaler adds GPU nodes" in note
    assert "16 trials are asked for at once" in note
    assert "--max-concurrent 6 trials" in waiting_for_gpus_note(0.25, max_trials=16, max_concurrent=6)
    assert "--max-concurrent sets how many" in waiting_for_gpus_note(1, max_trials=None, max_concurrent=None)
