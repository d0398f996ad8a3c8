"""Joining a cluster: GPUs that are not there yet, and how many trials to ask for.

``start_ray`` is driven here with Ray's calls replaced, so that a GPU cluster can be
pretended on this CPU machine; the real two-node runs are in test_cluster_e2e.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config

import search.run as run_module
from search.cluster import autoscaler_max_trials, read_launcher_config, waiting_for_gpus_note
from search.options import UsageError, parse_options
from search.tuner import default_concurrency

CLUSTER_YAML = Path(__file__).resolve().parents[1] / "cluster.yaml"


@pytest.fixture(scope="module")
def launched_config() -> dict:
    """cluster.yaml as `ray up` leaves it on the head node (~/ray_bootstrap_config.yaml)."""
    with CLUSTER_YAML.open() as stream:
        return prepare_config(yaml.safe_load(stream))


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


class _FakeRay:
    """ray.init & co. for a cluster of ``nodes`` nodes with ``resources``; records init's arguments."""

    def __init__(self, monkeypatch, *, resources: dict, nodes: int) -> None:
        self.init_kwargs: dict = {}
        self.shut_down = False
        monkeypatch.setattr(ray, "init", self._init)
        monkeypatch.setattr(ray, "cluster_resources", lambda: dict(resources))
        monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True}] * nodes + [{"Alive": False}])
        monkeypatch.setattr(ray, "shutdown", lambda: setattr(self, "shut_down", True))
        monkeypatch.setattr(run_module, "_check_address_answers", lambda address: None)

    def _init(self, **kwargs):
        self.init_kwargs = kwargs
        return type("Context", (), {"dashboard_url": ""})()


def test_a_joined_cluster_without_gpus_waits_for_its_autoscaler_instead_of_refusing(monkeypatch, capsys,
                                                                                   tmp_path: Path) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 4.0, "memory": 1e10}, nodes=1)
    monkeypatch.setattr("search.cluster.read_launcher_config", lambda: None)  # not a `ray up` head node
    cluster = run_module.start_ray(parse_options(["--address", "10.0.0.5:6379", "--gpus-per-trial", "0.25",
                                                  "--results", str(tmp_path)]))
    assert fake.init_kwargs["address"] == "10.0.0.5:6379" and not fake.shut_down
    assert cluster["CPU"] == 4.0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "search.run: note: this Ray cluster has no GPU now" in err


def test_on_a_launched_cluster_the_autoscalers_room_sets_the_concurrency(monkeypatch, capsys, tmp_path: Path,
                                                                        launched_config) -> None:
    _FakeRay(monkeypatch, resources={"CPU": 4.0}, nodes=1)
    bootstrap = tmp_path / "ray_bootstrap_config.yaml"
    bootstrap.write_text(yaml.safe_dump(launched_config))
    monkeypatch.setattr("search.cluster.read_launcher_config", lambda: read_launcher_config(bootstrap))
    options = parse_options(["--address", "auto", "--gpus-per-trial", "0.25", "--results", "s3://bucket/runs"])
    cluster = run_module.start_ray(options)
    assert cluster["autoscaler_max_trials"] == 16
    assert run_module._plan(options, "x", tmp_path / "x", cluster).max_concurrent == 16
    assert "16 trials are asked for at once" in capsys.readouterr().err


def test_ray_embedded_here_still_refuses_gpus_it_does_not_have(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(UsageError, match="--gpus-per-trial is 0.25, but this Ray cluster has no GPU"):
        run_module.start_ray(parse_options(["--gpus-per-trial", "0.25"]))
    assert fake.shut_down


def test_ray_embedded_here_never_joins_a_cluster_left_running_on_this_machine(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    run_module.start_ray(parse_options(["--no-dashboard"]))
    assert fake.init_kwargs["address"] == "local"


def test_a_local_results_folder_on_a_joined_multi_node_cluster_gets_a_note(monkeypatch, capsys, tmp_path: Path) -> None:
    _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=2)
    run_module.start_ray(parse_options(["--address", "auto", "--results", str(tmp_path)]))
    assert "is a local folder: with 2 nodes" in capsys.readouterr().err
