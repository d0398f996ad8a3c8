"""Starting or joining Ray for a search: GPUs that are not there yet, resources that do not fit.

``start_ray`` is driven here with Ray's calls replaced, so that a GPU cluster can be
pretended on this CPU machine; the real two-node runs are in tests/cluster/test_cluster_e2e.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import ray
import yaml

import search.tuning._ray_cluster as ray_cluster
from search.cli import parse_options
from search.pipeline._search_step import RunFailed
from search.pipeline._session import ray_session
from search.pipeline._settings import search_plan
from search.tuning import (
    ClusterError,
    NodeWaitTimeout,
    RayCluster,
    read_launcher_config,
    start_ray,
    wait_for_first_trial,
)


class _FakeRay:
    """ray.init & co. for a cluster of ``nodes`` nodes with ``resources`` (each node holds all of
    them: enough for these tests); records init's arguments and the autoscaler requests.
    ``joins_after`` polls of ``ray.nodes()``, a node of ``joining`` resources joins."""

    def __init__(self, monkeypatch, *, resources: dict, nodes: int, joining: dict | None = None,
                 joins_after: int = 0) -> None:
        self.init_kwargs: dict = {}
        self.shut_down = False
        self.requests: list = []
        self.polls = 0
        self._resources, self._nodes = resources, nodes
        self._joining, self._joins_after = joining, joins_after
        monkeypatch.setattr(ray, "init", self._init)
        monkeypatch.setattr(ray, "cluster_resources", lambda: dict(resources))
        monkeypatch.setattr(ray, "nodes", self._list_nodes)
        monkeypatch.setattr(ray, "shutdown", lambda: setattr(self, "shut_down", True))
        monkeypatch.setattr(ray_cluster, "_check_address_answers", lambda address: None)
        monkeypatch.setattr(ray_cluster, "request_resources", lambda bundles: self.requests.append(bundles))

    def _init(self, **kwargs):
        self.init_kwargs = kwargs
        return type("Context", (), {"dashboard_url": ""})()

    def _list_nodes(self) -> list[dict]:
        self.polls += 1
        listed = [{"Alive": True, "Resources": dict(self._resources)}] * self._nodes
        if self._joining is not None and self.polls > self._joins_after:
            listed.append({"Alive": True, "Resources": dict(self._joining)})
        return listed + [{"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]


def _start(**overrides):
    values = {"address": None, "dashboard": False, "cpus_per_trial": 1.0, "gpus_per_trial": 0.0,
              "max_concurrent": None}
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


# --- the wait for the first trial's node ---------------------------------------------------


def _joined(**overrides) -> RayCluster:
    values = {"resources": {"CPU": 1.0}, "joined": True, "nodes": 1, "host": "h"}
    values.update(overrides)
    return RayCluster(**values)


def test_a_cluster_that_holds_a_trial_is_not_waited_for(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 4.0, "GPU": 1.0}, nodes=1)
    cluster = _joined()
    assert wait_for_first_trial(cluster, cpus_per_trial=1, gpus_per_trial=0.25, say=print) is cluster
    assert fake.requests == []
    embedded = _joined(joined=False)
    _FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=1)
    assert wait_for_first_trial(embedded, cpus_per_trial=1, gpus_per_trial=0.25, say=print) is embedded


def test_the_search_waits_for_a_node_that_holds_one_trial_then_withdraws_its_request(monkeypatch) -> None:
    # Two CPU nodes, then (after 3 polls) a GPU node that holds the trial.
    fake = _FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=2, joining={"CPU": 1.0, "GPU": 1.0}, joins_after=3)
    lines: list[str] = []
    cluster = wait_for_first_trial(_joined(), cpus_per_trial=1, gpus_per_trial=0.25, trials_at_once=3,
                                   poll_s=0.01, report_s=0.02, limit_s=60, say=lines.append)
    assert fake.requests == [[{"CPU": 1.0, "GPU": 0.25}] * 3, []], "the trials' resources asked for, then withdrawn"
    assert 0 < cluster.waited_for_nodes_s < 5 and cluster.nodes == 3
    assert cluster.resources == {"CPU": 1.0}, "the concurrency is planned from the cluster as first seen"
    assert lines[0].startswith("waiting for the cluster to start a node with 1 CPU and 0.25 GPU for the first "
                               "trial: 0 s so far")
    assert "joined after" in lines[-1] and "time budget" in lines[-1]
    assert all("\n" not in line for line in lines)


def test_a_node_that_never_comes_ends_the_wait_with_one_line_saying_what_to_check(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1)
    with pytest.raises(NodeWaitTimeout) as raised:
        wait_for_first_trial(_joined(), cpus_per_trial=1, gpus_per_trial=0.5, poll_s=0.01, limit_s=0.05,
                             say=lambda line: None)
    message = str(raised.value)
    assert "\n" not in message and "1 CPU and 0.5 GPU" in message
    for what in ("quota", "region", "ray monitor cluster.yaml", "MNIST_SEARCH_NODE_WAIT_S"):
        assert what in message
    assert fake.requests[-1] == [], "the request is withdrawn: no node is kept for a search that gave up"


def test_sigterm_during_the_wait_interrupts_it_and_withdraws_the_request(monkeypatch) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1)
    previous = signal.getsignal(signal.SIGTERM)

    def say(line: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # `ray job stop` while the search waits

    with pytest.raises(KeyboardInterrupt):
        wait_for_first_trial(_joined(), cpus_per_trial=1, gpus_per_trial=1, poll_s=0.01, limit_s=5, say=say)
    assert fake.requests[-1] == [] and signal.getsignal(signal.SIGTERM) is previous


def test_the_wait_limit_comes_from_the_environment(monkeypatch) -> None:
    from search.tuning._autoscaler import NODE_WAIT_LIMIT_S, node_wait_limit_s

    assert node_wait_limit_s({}) == NODE_WAIT_LIMIT_S == 1800
    assert node_wait_limit_s({"MNIST_SEARCH_NODE_WAIT_S": "90"}) == 90
    assert node_wait_limit_s({"MNIST_SEARCH_NODE_WAIT_S": "soon"}) == NODE_WAIT_LIMIT_S


def test_ray_session_turns_a_wait_that_gave_up_into_a_failed_run(monkeypatch, tmp_path: Path) -> None:
    fake = _FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=1)
    monkeypatch.setattr(ray_cluster, "read_launcher_config", lambda: None)
    monkeypatch.setenv("MNIST_SEARCH_NODE_WAIT_S", "0.05")
    options = parse_options(["--address", "auto", "--gpus-per-trial", "0.5", "--max-concurrent", "2",
                             "--results", str(tmp_path)])
    with pytest.raises(RunFailed, match="no node with 1 CPU and 0.5 GPU"), ray_session(options, tmp_path / "run"):
        pass
    assert fake.shut_down and not (tmp_path / "run").exists()
    assert fake.requests == [[{"CPU": 1.0, "GPU": 0.5}] * 2, []], "--max-concurrent trials asked for"


def test_on_a_launched_cluster_cpu_trials_wait_for_workers_instead_of_being_refused(monkeypatch, tmp_path: Path,
                                                                                   launched_config) -> None:
    # The head of cluster.yaml advertises no CPU: every trial runs on a worker the autoscaler adds.
    fake = _FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1)
    bootstrap = tmp_path / "ray_bootstrap_config.yaml"
    bootstrap.write_text(yaml.safe_dump(launched_config))
    monkeypatch.setattr(ray_cluster, "read_launcher_config", lambda: read_launcher_config(bootstrap))
    cluster = _start(address="auto", cpus_per_trial=1.0)
    assert not fake.shut_down and cluster.joined
    assert cluster.resources["autoscaler_max_trials"] == 16, "4 workers of 4 CPUs: what the wait asks for"
    with pytest.raises(ClusterError, match="nor any node type its autoscaler can start"):
        _start(address="auto", cpus_per_trial=8.0)
    assert fake.shut_down
