"""Start Ray on this machine, or join a running cluster, for one search.

GPUs per trial where the cluster has none are refused on Ray embedded here, but not on a
joined cluster: its autoscaler may add GPU nodes for the waiting trials (``_autoscaler``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Mapping

import ray

from search._text import first_line
from search.tuning._autoscaler import autoscaler_max_trials, read_launcher_config, waiting_for_gpus_note

# Keep TensorFlow's C++ start-up chatter out of the terminal, in the driver and in workers;
# RAY_AIR_NEW_OUTPUT=0 keeps Tune's own header out too (with verbose=0 its new output engine
# still prints one, and a TensorBoard command for Ray's staging folder, not the run's).
# TUNE_FUNCTION_THREAD_TIMEOUT_S: before a reused actor takes its next trial, Tune waits this
# long for the stopped trial's training thread to end (default 2 s; read in the actor by
# FunctionTrainable.reset_config). On a loaded machine Keras can take longer to unwind, and
# then Tune fails the *next* trial ("Trainable runner reuse requires reset_config() ...").
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "RAY_AIR_NEW_OUTPUT": "0",
              "TUNE_FUNCTION_THREAD_TIMEOUT_S": "60"}


class ClusterError(ValueError):
    """A Ray cluster this search cannot use; the message is the one line the user sees."""


@dataclass(frozen=True)
class RayCluster:
    """What the search learned of its Ray cluster."""

    resources: dict[str, float]  # CPU, GPU, memory; autoscaler_max_trials on a launched cluster
    joined: bool  # an existing cluster (--address / RAY_ADDRESS), not Ray started here
    nodes: int
    host: str
    dashboard_url: str | None = None
    notes: list[str] = field(default_factory=list)  # one line each, for stderr


def start_ray(*, address: str | None, dashboard: bool, cpus_per_trial: float, gpus_per_trial: float,
              max_concurrent: int | None, worker_env: Mapping[str, str] | None = None,
              num_cpus: int | None = None) -> RayCluster:
    """Join the cluster at ``address`` (or RAY_ADDRESS), or start Ray here on this machine's
    CPUs (``num_cpus`` logical ones instead: a simulated cluster, for the scale benchmark)
    with its dashboard on loopback; ``worker_env`` goes to every worker besides
    ``WORKER_ENV``. Raises ``ClusterError`` for a cluster that cannot run these trials."""
    env = {**WORKER_ENV, **(worker_env or {})}
    os.environ.update(env)
    address = address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": env}
    dashboard_url = None
    if address:
        _check_address_answers(address)
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
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
    notes = []
    if gpus_per_trial > 0 and resources.get("GPU", 0) == 0:
        if not address:
            ray.shutdown()
            raise ClusterError(f"--gpus-per-trial is {gpus_per_trial}, but this Ray cluster has no GPU: "
                               f"use --gpus-per-trial 0 or run on a GPU cluster (see README)")
        notes.append(_waiting_for_gpus(resources, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
                                       max_concurrent=max_concurrent))
    if cpus_per_trial > resources.get("CPU", 0):
        ray.shutdown()
        raise ClusterError(f"--cpus-per-trial is {cpus_per_trial}, but the Ray cluster has "
                           f"{resources.get('CPU', 0):g} CPUs: ask for at most that many")
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return RayCluster(resources=resources, joined=bool(address), nodes=nodes, host=socket.gethostname(),
                      dashboard_url=dashboard_url, notes=notes)


def shutdown_ray() -> None:
    ray.shutdown()


def _waiting_for_gpus(resources: dict[str, float], *, cpus_per_trial: float, gpus_per_trial: float,
                      max_concurrent: int | None) -> str:
    """The note for a joined cluster with no GPU yet; records in ``resources`` how many trials
    the autoscaler's GPU nodes can hold, read from the launcher's config on the head node."""
    config = read_launcher_config()
    max_trials = config and autoscaler_max_trials(config, cpus_per_trial=cpus_per_trial,
                                                  gpus_per_trial=gpus_per_trial)
    if max_trials:
        resources["autoscaler_max_trials"] = float(max_trials)
    return waiting_for_gpus_note(gpus_per_trial, max_trials=max_trials, max_concurrent=max_concurrent)


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
