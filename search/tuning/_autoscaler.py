"""What a joined Ray cluster offers trials that ask for GPUs it does not have yet.

A cluster started with ``ray up cluster.yaml`` begins with its CPU head node only; the
autoscaler starts GPU nodes when pending trials ask for GPUs. So on a joined cluster
``--gpus-per-trial`` is never refused for want of a GPU (only Ray embedded on this machine
refuses it): the trials wait for the nodes, and how many trials are asked for at once
decides how many nodes the autoscaler starts. Tune keeps as many trials pending as
``max_concurrent_trials``, so that number is the lever (``--max-concurrent``); its default
here is what the autoscaler's node types can hold, read from the launcher's config on the
head node.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import yaml

# `ray up` writes the cluster's config here on the head node (Tune looks for it too, in
# ray/tune/execution/cluster_info.py, to tell an autoscaling cluster).
BOOTSTRAP_CONFIG = Path("~/ray_bootstrap_config.yaml")


def read_launcher_config(path: Path = BOOTSTRAP_CONFIG) -> dict[str, Any] | None:
    """The cluster launcher's config on this (head) node, or None off a launched cluster."""
    path = Path(path).expanduser()
    try:
        with path.open() as stream:
            config = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def autoscaler_max_trials(config: Mapping[str, Any], *, cpus_per_trial: float, gpus_per_trial: float) -> int | None:
    """Most trials at once on the worker nodes the autoscaler may start: for each worker type,
    its ``max_workers`` (capped by the cluster's) times the trials one node holds by its CPUs
    and GPUs. None when no worker type can hold a trial."""
    head = config.get("head_node_type")
    cluster_max = config.get("max_workers")
    total = 0
    for name, spec in (config.get("available_node_types") or {}).items():
        if name == head:
            continue
        resources = spec.get("resources") or {}
        per_node = math.floor(float(resources.get("CPU", 0)) / cpus_per_trial + 1e-9)
        if gpus_per_trial > 0:
            per_node = min(per_node, math.floor(float(resources.get("GPU", 0)) / gpus_per_trial + 1e-9))
        workers = int(spec.get("max_workers", 0))
        if cluster_max is not None:
            workers = min(workers, int(cluster_max))
        total += workers * per_node
    return total or None


def waiting_for_gpus_note(gpus_per_trial: float, *, max_trials: int | None, max_concurrent: int | None) -> str:
    """The line a joined cluster without GPUs gets instead of a refusal."""
    if max_concurrent:
        at_once = f"--max-concurrent {max_concurrent} trials are asked for at once"
    elif max_trials:
        at_once = (f"{max_trials} trials are asked for at once, what the autoscaler's GPU nodes hold "
                   f"(--max-concurrent changes it)")
    else:
        at_once = "--max-concurrent sets how many trials, and so GPU nodes, are asked for at once"
    return (f"this Ray cluster has no GPU now: trials asking for --gpus-per-trial {gpus_per_trial:g} wait "
            f"until its autoscaler adds GPU nodes (`ray status` shows them); {at_once}")
