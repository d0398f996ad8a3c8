"""Starting or joining Ray for a search: GPUs that are not there yet, resources that do not fit.

``start_ray`` is driven here with Ray's calls replaced, so that a GPU cluster can be
pretended on this CPU machine; the real two-node runs are in tests/cluster/test_cluster_e2e.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
import yaml

import search.tuning._ray_cluster as ray_cluster
from search.cli import parse_options
from search.pipeline._session import ray_session
from search.pipeline._settings import search_plan
from search.tuning import ClusterError, read_launcher_config, start_ray


class _FakeRay:
    """ray.init & co. for a cluster of ``nodes`` nodes with ``resources``; records init's arguments."""

    def __init__(self, monkeypatch, *, resources: dict, nodes: int) -> None:
        self.init_kwargs: dict = {}
        self.shut_down = False
        monkeypatch.setattr(ray, "init", self._init)
        monkeypatch.setattr(ray, "cluster_resources", lambda: dict(resources))
        monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True}] * nodes + [{"Alive": False}])
        monkeypatch.setattr(ray, "shutdown", lambda: setattr(self, "shut_down", True))
        monkeypatch.setattr(ray_cluster, "_check_address_answers", lambda address: None)

    def _init(self, **kwargs):
        self.init_kwargs = kwargs
        return type("Context", (), {"dashboard_url": ""})()



def _start(**overrides):
    values = dict(address=None, dashboard=False, cpus_per_trial=1.0, gpus_per_trial=0.0, max_concurrent=None)
    values.update(overrides)
    return start_ray(**values)


def test_a_joined_cluster_without_gpus_waits_for_its_autoscaler_instead_of_refusing(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 4.0, "memory": 1e10}, nodes=1)
    monkeypatch.setattr(ray_cluster, "read_launcher_config", lambda: None)  # not a `ray up` head node
    cluster = _start(address="10.0.0.5:6379", gpus_per_trial=0.25)
    assert fake.init_kwargs["address"] == "10.0.0.5:6379" and not fake.shut_down
    assert cluster.resources["CPU"] == 4.0 and cluster.joined
    assert len(cluster.notes) == 1 and "this Ray cluster has no GPU now" in cluster.notes[0]


def test_on_a_launched_cluster_the_autoscalers_room_sets_the_concurrency(monkeypatch, tmp_path: Path,
                                                                        launched_config) -> None:
    _FakeRay(monkeypatch, resources={"CPU": 4.0}, nodes=1)
    bootstrap = tmp_path / "ray_bootstrap_config.yaml"
    bootstrap.write_text(yaml.safe_dump(launched_config))
    monkeypatch.setattr(ray_cluster, "read_launcher_config", lambda: read_launcher_config(bootstrap))
    options = parse_options(["--address", "auto", "--gpus-per-trial", "0.25", "--results", "s3://bucket/runs"])
    cluster = _start(address="auto", gpus_per_trial=0.25)
    assert cluster.resources["autoscaler_max_trials"] == 16
    assert search_plan(options, name="x", run_dir=tmp_path / "x", cluster=cluster).max_concurrent == 16
    assert "16 trials are asked for at once" in cluster.notes[0]


def test_ray_embedded_here_still_refuses_gpus_it_does_not_have(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="--gpus-per-trial is 0.25, but this Ray cluster has no GPU"):
        _start(gpus_per_trial=0.25)
    assert fake.shut_down


def test_more_cpus_per_trial_than_the_cluster_has_are_refused(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="--cpus-per-trial is 8.0, but the Ray cluster has 2 CPUs"):
        _start(cpus_per_trial=8.0)
    assert fake.shut_down


def test_ray_embedded_here_never_joins_a_cluster_left_running_on_this_machine(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not _start().joined
    assert fake.init_kwargs["address"] == "local"


def test_a_local_results_folder_on_a_joined_multi_node_cluster_gets_a_note(monkeypatch, capsys, tmp_path: Path) -> None:
    _FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=2)
    with ray_session(parse_options(["--address", "auto", "--results", str(tmp_path)]), tmp_path / "run"):
        pass
    assert "is a local folder: with 2 nodes" in capsys.readouterr().err
