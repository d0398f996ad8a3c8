"""Starting or joining Ray for a search: GPUs that are not there yet, resources that do not fit.

``start_ray`` is driven here with Ray's calls replaced, so that a GPU cluster can be
pretended on this CPU machine; the real two-node runs are in tests/cluster/test_cluster_e2e.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap

import pytest

from search.cluster import ClusterError, NodeWaitTimeout, RayCluster, start_ray, wait_for_first_trial
from search.cluster._autoscaler import NODE_WAIT_LIMIT_S, node_wait_limit_s
from tests.cluster.fake_ray import FakeRay
from tests.conftest import PROJECT_ROOT, PYTHON


def _start(**overrides):
    values = {"address": None, "dashboard": False, "cpus_per_trial": 1.0, "gpus_per_trial": 0.0,
              "max_concurrent": None}
    values.update(overrides)
    return start_ray(**values)


def test_a_joined_cluster_without_gpus_waits_for_its_autoscaler_instead_of_refusing(monkeypatch) -> None:
    # Not a `ray up` head node: no launcher config.
    fake = FakeRay(monkeypatch, resources={"CPU": 4.0, "memory": 1e10}, nodes=1)
    cluster = _start(address="10.0.0.5:6379", gpus_per_trial=0.25)
    assert fake.init_kwargs["address"] == "10.0.0.5:6379" and not fake.shut_down
    assert cluster.resources["CPU"] == 4.0 and cluster.joined
    assert len(cluster.notes) == 1 and "this Ray cluster has no GPU now" in cluster.notes[0]


def test_on_a_launched_cluster_the_autoscalers_room_is_how_many_trials_it_holds(monkeypatch, launched_config) -> None:
    FakeRay(monkeypatch, resources={"CPU": 4.0}, nodes=1, launcher_config=launched_config)
    cluster = _start(address="auto", gpus_per_trial=0.25)
    assert cluster.resources["autoscaler_max_trials"] == 16
    assert "16 trials are asked for at once" in cluster.notes[0]


def test_ray_embedded_here_still_refuses_gpus_it_does_not_have(monkeypatch) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="--gpus-per-trial is 0.25, but this Ray cluster has no GPU"):
        _start(gpus_per_trial=0.25)
    assert fake.shut_down


def test_more_cpus_per_trial_than_the_cluster_has_are_refused(monkeypatch) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="--cpus-per-trial is 8.0, but the Ray cluster has 2 CPUs"):
        _start(cpus_per_trial=8.0)
    assert fake.shut_down


def test_ray_embedded_here_never_joins_a_cluster_left_running_on_this_machine(monkeypatch) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 2.0}, nodes=1)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not _start().joined
    assert fake.init_kwargs["address"] == "local"


# --- the wait for the first trial's node ---------------------------------------------------


def _joined(**overrides) -> RayCluster:
    values = {"resources": {"CPU": 1.0}, "joined": True, "nodes": 1, "host": "h"}
    values.update(overrides)
    return RayCluster(**values)


def test_a_cluster_that_holds_a_trial_is_not_waited_for(monkeypatch) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 4.0, "GPU": 1.0}, nodes=1)
    cluster = _joined()
    assert wait_for_first_trial(cluster, cpus_per_trial=1, gpus_per_trial=0.25, say=print) is cluster
    assert fake.requests == []
    embedded = _joined(joined=False)
    FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=1)
    assert wait_for_first_trial(embedded, cpus_per_trial=1, gpus_per_trial=0.25, say=print) is embedded


def test_the_search_waits_for_a_node_that_holds_one_trial_then_withdraws_its_request(monkeypatch) -> None:
    # Two CPU nodes, then (after 3 polls) a GPU node that holds the trial.
    fake = FakeRay(monkeypatch, resources={"CPU": 1.0}, nodes=2, joining={"CPU": 1.0, "GPU": 1.0}, joins_after=3)
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
    fake = FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1)
    with pytest.raises(NodeWaitTimeout) as raised:
        wait_for_first_trial(_joined(), cpus_per_trial=1, gpus_per_trial=0.5, poll_s=0.01, limit_s=0.05,
                             say=lambda line: None)
    message = str(raised.value)
    assert "\n" not in message and "1 CPU and 0.5 GPU" in message
    for what in ("quota", "region", "ray monitor cluster.yaml", "MNIST_SEARCH_NODE_WAIT_S"):
        assert what in message
    assert fake.requests[-1] == [], "the request is withdrawn: no node is kept for a search that gave up"


def test_sigterm_during_the_wait_interrupts_it_and_withdraws_the_request(monkeypatch) -> None:
    fake = FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1)
    previous = signal.getsignal(signal.SIGTERM)

    def say(line: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # `ray job stop` while the search waits

    with pytest.raises(KeyboardInterrupt):
        wait_for_first_trial(_joined(), cpus_per_trial=1, gpus_per_trial=1, poll_s=0.01, limit_s=5, say=say)
    assert fake.requests[-1] == [] and signal.getsignal(signal.SIGTERM) is previous


def test_the_wait_limit_comes_from_the_environment(monkeypatch) -> None:
    assert node_wait_limit_s({}) == NODE_WAIT_LIMIT_S == 1800
    assert node_wait_limit_s({"MNIST_SEARCH_NODE_WAIT_S": "90"}) == 90
    assert node_wait_limit_s({"MNIST_SEARCH_NODE_WAIT_S": "soon"}) == NODE_WAIT_LIMIT_S


def test_on_a_launched_cluster_cpu_trials_wait_for_workers_instead_of_being_refused(monkeypatch,
                                                                                   launched_config) -> None:
    # The head of cluster.yaml advertises no CPU: every trial runs on a worker the autoscaler adds.
    fake = FakeRay(monkeypatch, resources={"CPU": 0.0}, nodes=1, launcher_config=launched_config)
    cluster = _start(address="auto", cpus_per_trial=1.0)
    assert not fake.shut_down and cluster.joined
    assert cluster.resources["autoscaler_max_trials"] == 16, "4 workers of 4 CPUs: what the wait asks for"
    with pytest.raises(ClusterError, match="nor any node type its autoscaler can start"):
        _start(address="auto", cpus_per_trial=8.0)
    assert fake.shut_down


# --- the workers' environment ----------------------------------------------------------------


@pytest.mark.e2e
def test_a_reused_actor_waits_for_a_slow_stopped_trial_instead_of_failing_the_next_one() -> None:
    """ASHA stops a trial; before its actor takes the next trial, Tune waits for the stopped
    trial's thread to end, by default only 2 s. Keras on a loaded machine can take longer,
    and then Tune fails the next trial (or hangs). The workers' environment gives it time."""
    code = """
        import time
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler
        from search.cluster._ray_cluster import WORKER_ENV

        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", runtime_env={"env_vars": dict(WORKER_ENV)})

        def trainable(config):
            try:
                for step in (1, 2, 3):
                    tune.report({"score": config["x"] * step})
            finally:
                time.sleep(3)  # a slow unwind after the stop

        grid = tune.Tuner(
            trainable, param_space={"x": tune.grid_search([1, 2, 3])},
            tune_config=tune.TuneConfig(metric="score", mode="max", reuse_actors=True, max_concurrent_trials=1,
                                        scheduler=ASHAScheduler(max_t=1, grace_period=1)),
            run_config=tune.RunConfig(verbose=0, storage_path=__import__("tempfile").mkdtemp()),
        ).fit()
        print("errors", grid.num_errors, "trials", len(grid))
    """
    completed = subprocess.run([PYTHON, "-c", textwrap.dedent(code)], cwd=PROJECT_ROOT, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-4:] == ["errors", "0", "trials", "3"]
