"""Start Ray on this machine, or join a running cluster, for one search.

GPUs per trial where the cluster has none are refused on Ray embedded here, but not on a
joined cluster: its autoscaler may add nodes for the waiting trials (``_autoscaler``). Before
such a search starts, ``wait_for_first_trial`` asks the autoscaler for the resources of the
trials it will run at once and waits until a node that holds one trial has joined, so that
the time budget is not spent waiting for the cluster's first GPU node.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import ray
from ray.autoscaler.sdk import request_resources

from search._text import first_line
from search.cluster._autoscaler import (
    autoscaler_max_trials,
    describe_bundle,
    gave_up_line,
    holds_a_trial,
    joined_line,
    node_wait_limit_s,
    read_launcher_config,
    trial_bundle,
    waiting_for_gpus_note,
    waiting_line,
)

# Keep TensorFlow's C++ start-up chatter out of the terminal, in the driver and in workers;
# RAY_AIR_NEW_OUTPUT=0 keeps Tune's own header out too (with verbose=0 its new output engine
# still prints one, and a TensorBoard command for Ray's staging folder, not the run's).
# TUNE_FUNCTION_THREAD_TIMEOUT_S: before a reused actor takes its next trial, Tune waits this
# long for the stopped trial's training thread to end (default 2 s; read in the actor by
# FunctionTrainable.reset_config). On a loaded machine Keras can take longer to unwind, and
# then Tune fails the *next* trial ("Trainable runner reuse requires reset_config() ...").
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "RAY_AIR_NEW_OUTPUT": "0",
              "TUNE_FUNCTION_THREAD_TIMEOUT_S": "60"}


# While the search waits for its first trial's node: a check this often, a line this often.
NODE_POLL_S = 2.0
NODE_REPORT_S = 30.0


class ClusterError(ValueError):
    """A Ray cluster this search cannot use; the message is the one line the user sees."""


class NodeWaitTimeout(ClusterError):
    """No node that holds a trial joined the cluster within the wait's limit."""


@dataclass(frozen=True)
class RayCluster:
    """What the search learned of its Ray cluster."""

    # CPU, GPU, memory when Ray started or was joined (before any wait for nodes: the
    # concurrency is planned from them); autoscaler_max_trials on a launched cluster.
    resources: dict[str, float]
    joined: bool  # an existing cluster (--address / RAY_ADDRESS), not Ray started here
    nodes: int
    host: str
    dashboard_url: str | None = None
    notes: list[str] = field(default_factory=list)  # one line each, for stderr
    # Seconds the search waited, before its time budget started, for the cluster to start a
    # node that holds one trial (``wait_for_first_trial``); 0 when one was there.
    waited_for_nodes_s: float = 0.0


def start_ray(*, address: str | None, dashboard: bool, cpus_per_trial: float, gpus_per_trial: float,
              max_concurrent: int | None, worker_env: Mapping[str, str] | None = None,
              num_cpus: int | None = None) -> RayCluster:
    """Join the cluster at ``address`` (or RAY_ADDRESS), or start Ray here on this machine's
    CPUs with its dashboard on loopback. Raises ``ClusterError`` for a cluster that cannot run
    these trials.

    Two options exist for the benchmarks alone (``benchmarks/``): ``num_cpus`` starts Ray with
    that many logical CPUs instead, the simulated cluster of the scale benchmark;
    ``worker_env`` goes to every worker besides ``WORKER_ENV``: the overhead, target and gpu
    benchmarks hand it the Keras backend's variables (``KERAS_BACKEND=jax`` on a machine
    without TensorFlow)."""
    env = {**WORKER_ENV, **(worker_env or {})}
    os.environ.update(env)
    address = address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": env}
    dashboard_url = None
    if address:
        _check_address_answers(address)
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
        except ray.exceptions.AuthenticationError as error:
            raise ClusterError(f"--address {address!r} refused this search ({first_line(error, 200)}): the cluster "
                               f"uses token authentication, so set RAY_AUTH_MODE=token here too; the token is "
                               f"~/.ray/auth_token (`ray get-auth-token` prints it), or RAY_AUTH_TOKEN") from None
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ClusterError(f"--address {address!r} does not answer ({first_line(error, 200)}): start the "
                               f"cluster (ray start --head, or ray up cluster.yaml) or fix the address")
    else:
        # address="local": a new Ray here, never one that `ray start` left running on this machine.
        context = ray.init(address="local", num_cpus=num_cpus, include_dashboard=dashboard,
                           dashboard_host="127.0.0.1", runtime_env=runtime_env, log_to_driver=False,
                           logging_level="ERROR")
        dashboard_url = context.dashboard_url if dashboard else None
    resources = {key: float(value) for key, value in ray.cluster_resources().items()
                 if key in ("CPU", "GPU", "memory")}
    try:
        notes = _room_for_trials(resources, joined=bool(address), cpus_per_trial=cpus_per_trial,
                                 gpus_per_trial=gpus_per_trial, max_concurrent=max_concurrent)
    except ClusterError:
        ray.shutdown()
        raise
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return RayCluster(resources=resources, joined=bool(address), nodes=nodes, host=socket.gethostname(),
                      dashboard_url=dashboard_url, notes=notes)


def _room_for_trials(resources: dict[str, float], *, joined: bool, cpus_per_trial: float, gpus_per_trial: float,
                     max_concurrent: int | None) -> list[str]:
    """The notes for a cluster that cannot hold a trial now but may later (its autoscaler adds
    nodes); raises ``ClusterError`` for one that never can. On a cluster `ray up` launched, its
    config says which nodes the autoscaler can add: ``resources`` gets how many trials they
    hold (``autoscaler_max_trials``) when trials wait for GPUs."""
    config = read_launcher_config() if joined else None
    max_trials = config and autoscaler_max_trials(config, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial)
    waits_for_gpus = gpus_per_trial > 0 and resources.get("GPU", 0) == 0
    holds_one = not joined or _holds_a_trial_now(cpus_per_trial, gpus_per_trial)
    if max_trials and (waits_for_gpus or not holds_one):
        resources["autoscaler_max_trials"] = float(max_trials)
    notes = []
    if waits_for_gpus:
        if not joined:
            raise ClusterError(f"--gpus-per-trial is {gpus_per_trial}, but this Ray cluster has no GPU: "
                               f"use --gpus-per-trial 0 or run on a GPU cluster (see README)")
        notes.append(waiting_for_gpus_note(gpus_per_trial, max_trials=max_trials, max_concurrent=max_concurrent))
    if config is not None and not max_trials and not holds_one:
        bundle = trial_bundle(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial)
        raise ClusterError(f"no node of this cluster, nor any node type its autoscaler can start "
                           f"(~/ray_bootstrap_config.yaml), holds a trial of {describe_bundle(bundle)}: ask for "
                           f"less with --cpus-per-trial / --gpus-per-trial, or add such a node type to cluster.yaml")
    # A launched cluster's autoscaler adds the nodes (its head holds no CPU for trials);
    # elsewhere, CPUs that are not there now are refused.
    if cpus_per_trial > resources.get("CPU", 0) and not waits_for_gpus and not max_trials:
        raise ClusterError(f"--cpus-per-trial is {cpus_per_trial}, but the Ray cluster has "
                           f"{resources.get('CPU', 0):g} CPUs: ask for at most that many")
    return notes


def shutdown_ray() -> None:
    ray.shutdown()


def wait_for_first_trial(cluster: RayCluster, *, cpus_per_trial: float, gpus_per_trial: float,
                         trials_at_once: int = 1, limit_s: float | None = None, poll_s: float = NODE_POLL_S,
                         report_s: float = NODE_REPORT_S, say: Callable[[str], None] | None = None) -> RayCluster:
    """On a joined cluster none of whose nodes holds one trial (no GPU node yet, say): ask
    the autoscaler for the resources of ``trials_at_once`` trials (those the search will run
    at once, so that it starts all their nodes together rather than one after the other),
    wait until a node that holds one trial has joined, then withdraw the request (nodes
    already launching go on starting; the search's pending trials keep them). Returns
    ``cluster`` with ``waited_for_nodes_s`` (and its node count) updated; at once, unchanged,
    where a node holds a trial or Ray runs embedded here.

    Raises ``NodeWaitTimeout`` after ``limit_s`` (default ``node_wait_limit_s()``: 30 minutes,
    or MNIST_SEARCH_NODE_WAIT_S). SIGTERM during the wait (``ray job stop``) is taken as
    Ctrl-C: KeyboardInterrupt, with the request withdrawn, so that no node is kept for a
    search that is gone."""
    bundle = trial_bundle(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial)
    if not cluster.joined or _holds_a_trial_now(cpus_per_trial, gpus_per_trial):
        return cluster
    say = say or _to_stderr
    limit_s = node_wait_limit_s() if limit_s is None else limit_s
    started = time.monotonic()
    with _sigterm_as_interrupt():
        request_resources(bundles=[bundle] * max(1, trials_at_once))
        try:
            say(waiting_line(bundle, 0.0))
            next_line = report_s
            while not _holds_a_trial_now(cpus_per_trial, gpus_per_trial):
                waited_s = time.monotonic() - started
                if waited_s >= limit_s:
                    raise NodeWaitTimeout(gave_up_line(bundle, limit_s))
                if waited_s >= next_line:
                    say(waiting_line(bundle, waited_s))
                    next_line += report_s
                time.sleep(min(poll_s, max(limit_s - waited_s, 0.01)))
        finally:
            request_resources(bundles=[])
    waited_s = time.monotonic() - started
    say(joined_line(waited_s))
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return replace(cluster, waited_for_nodes_s=waited_s, nodes=nodes)


def _holds_a_trial_now(cpus_per_trial: float, gpus_per_trial: float) -> bool:
    """Whether one of the cluster's live nodes holds a trial (by its total resources)."""
    nodes = [node.get("Resources") or {} for node in ray.nodes() if node.get("Alive")]
    return holds_a_trial(nodes, trial_bundle(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial))


def _to_stderr(line: str) -> None:
    print(f"search.run: {line}", file=sys.stderr, flush=True)


class _sigterm_as_interrupt:
    """SIGTERM raises KeyboardInterrupt inside the block (in the main thread; elsewhere the
    block changes nothing)."""

    def __enter__(self) -> None:
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _check_address_answers(address: str) -> None:
    """A HOST:PORT address must accept a TCP connection within a few seconds."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address!r} is not HOST:PORT or 'auto': write it like 10.0.0.5:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as error:
        raise ClusterError(f"--address {address!r} does not answer ({error}): start the cluster "
                           f"(ray start --head) or fix the address")
