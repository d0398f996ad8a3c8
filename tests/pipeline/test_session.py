"""A run's Ray session: what it prints about the cluster, how a wait for nodes that gave up
ends the run, and the concurrency planned from what the cluster's autoscaler can add.

Ray's calls are replaced (``tests/cluster/fake_ray.py``), so that a joined GPU cluster can be
pretended on this CPU machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.cli import parse_options
from search.cluster import RayCluster
from search.pipeline import RunFailed
from search.pipeline._session import ray_session
from search.pipeline._settings import search_plan
from tests.cluster.fake_ray import FakeRay


def test_a_local_results_folder_on_a_joined_multi_node_cluster_gets_a_note(monkeypatch, capsys, tmp_path: Path) -> None:
    FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=2)
    with ray_session(parse_options(["--address", "auto", "--results", str(tmp_path)]), tmp_path / "run"):
        pass
    assert "is a local folder: with 2 nodes" in capsys.readouterr().err


def test_ray_session_turns_a_wait_that_gave_up_into_a_failed_run(monkeypatch, tmp_path: Path) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=1)
    monkeypatch.setenv("MNIST_SEARCH_NODE_WAIT_S", "0.05")
    options = parse_options(["--address", "auto", "--gpus-per-trial", "0.5", "--max-concurrent", "2",
                             "--results", str(tmp_path)])
    with pytest.raises(RunFailed, match="no node with 1 CPU and 0.5 GPU"), ray_session(options, tmp_path / "run"):
        pass
    assert fake.shut_down and not (tmp_path / "run").exists()
    assert fake.requests == [[{"CPU": 1.0, "GPU": 0.5}] * 2, []], "--max-concurrent trials asked for"


def test_on_a_launched_cluster_the_autoscalers_room_sets_the_concurrency(tmp_path: Path) -> None:
    options = parse_options(["--address", "auto", "--gpus-per-trial", "0.25", "--results", "s3://bucket/runs"])
    cluster = RayCluster(resources={"CPU": 4.0, "autoscaler_max_trials": 16.0}, joined=True, nodes=1, host="h")
    assert search_plan(options, name="x", run_dir=tmp_path / "x", cluster=cluster).max_concurrent == 16
