"""What a joined Ray cluster offers trials that ask for resources it does not have yet.

A cluster started with ``ray up cluster.yaml`` begins with its head node only, which holds
no CPU for trials; the autoscaler starts worker nodes when work asks for them. So on a
joined cluster ``--gpus-per-trial`` is never refused for want of a GPU (only Ray embedded on
this machine refuses it): the search first waits, outside its time budget, until a node
that holds one trial has joined (``_ray_cluster.wait_for_first_trial``), and how many
trials are asked for at once decides how many nodes the autoscaler starts. Tune keeps as
many trials pending as ``max_concurrent_trials``, so that number is the lever
(``--max-concurrent``); its default here is what the autoscaler's node types can hold, read
from the launcher's config on the head node.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# `ray up` writes the cluster's config here on the head node (Tune looks for it too, in
# ray/tune/execution/cluster_info.py, to tell an autoscaling cluster).
BOOTSTRAP_CONFIG = Path("~/ray_bootstrap_config.yaml")

# How long a search waits for its cluster to start a node that holds one trial before it
# gives up; MNIST_SEARCH_NODE_WAIT_S changes it. A GPU node of cluster.yaml boots and
# installs Python, the project, TensorFlow and its CUDA wheels in an estimated 5-10 minutes.
NODE_WAIT_LIMIT_S = 30 * 60.0
NODE_WAIT_ENV = "MNIST_SEARCH_NODE_WAIT_S"

# What EC2's DescribeInstanceTypes says of the instance types cluster.yaml uses or suggests
# (the fields Ray's AWS node provider reads to fill in a node type's `resources`:
# ray/autoscaler/_private/aws/node_provider.py, fillout_available_node_types_resources).
# `ray up` asks EC2 itself; this table stands in for it where the cluster's config comes
# without resources (cluster.yaml as written, checked offline) and for the autoscaler's
# room below.
EC2_INSTANCE_TYPES: dict[str, dict[str, Any]] = {
    name: {
        "InstanceType": name,
        "VCpuInfo": {"DefaultVCpus": vcpus},
        "MemoryInfo": {"SizeInMiB": memory_mib},
        **({"GpuInfo": {"Gpus": [{"Name": gpu, "Manufacturer": "NVIDIA", "Count": 1,
                                  "MemoryInfo": {"SizeInMiB": gpu_mib}}]}} if gpu else {}),
    }
    for name, vcpus, memory_mib, gpu, gpu_mib in [
        ("m5.large", 2, 8192, None, 0),
        ("m5.xlarge", 4, 16384, None, 0),
        ("m5.2xlarge", 8, 32768, None, 0),
        ("g4dn.xlarge", 4, 16384, "T4", 16384),
        ("g5.xlarge", 4, 16384, "A10G", 24576),
        ("g5.2xlarge", 8, 32768, "A10G", 24576),
        ("g6.xlarge", 4, 16384, "L4", 22888),
        ("g6.2xlarge", 8, 32768, "L4", 22888),
    ]
}


def read_launcher_config(path: Path = BOOTSTRAP_CONFIG) -> dict[str, Any] | None:
    """The cluster launcher's config on this (head) node, or None off a launched cluster."""
    path = Path(path).expanduser()
    try:
        with path.open() as stream:
            config = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def node_type_resources(spec: Mapping[str, Any]) -> dict[str, float]:
    """The CPUs and GPUs one node of a launcher node type has: its ``resources`` where the
    config gives them (``ray up`` fills them in from EC2 before it writes the head's copy),
    else what ``EC2_INSTANCE_TYPES`` knows of its instance type; {} when neither does."""
    declared = spec.get("resources")
    if declared:
        return {key: float(value) for key, value in declared.items() if key in ("CPU", "GPU")}
    instance = EC2_INSTANCE_TYPES.get((spec.get("node_config") or {}).get("InstanceType", ""))
    if instance is None:
        return {}
    gpus = sum(gpu["Count"] for gpu in instance.get("GpuInfo", {}).get("Gpus", []))
    return {"CPU": float(instance["VCpuInfo"]["DefaultVCpus"]), **({"GPU": float(gpus)} if gpus else {})}


def trials_per_node(resources: Mapping[str, float], *, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials one node with ``resources`` holds at once."""
    per_node = math.floor(float(resources.get("CPU", 0)) / cpus_per_trial + 1e-9)
    if gpus_per_trial > 0:
        per_node = min(per_node, math.floor(float(resources.get("GPU", 0)) / gpus_per_trial + 1e-9))
    return max(per_node, 0)


def autoscaler_max_trials(config: Mapping[str, Any], *, cpus_per_trial: float, gpus_per_trial: float) -> int | None:
    """Most trials at once on the worker nodes the autoscaler may start: the nodes that hold
    the most trials first, each worker type up to its ``max_workers``, all of them together
    up to the cluster's. None when no worker type can hold a trial."""
    head = config.get("head_node_type")
    room = []
    for name, spec in (config.get("available_node_types") or {}).items():
        if name == head:
            continue
        per_node = trials_per_node(node_type_resources(spec), cpus_per_trial=cpus_per_trial,
                                   gpus_per_trial=gpus_per_trial)
        if per_node:
            room.append((per_node, int(spec.get("max_workers", 0))))
    nodes_left = int(config["max_workers"]) if config.get("max_workers") is not None else math.inf
    total = 0
    for per_node, workers in sorted(room, reverse=True):
        workers = int(min(workers, nodes_left))
        total += workers * per_node
        nodes_left -= workers
    return total or None


def trial_bundle(*, cpus_per_trial: float, gpus_per_trial: float) -> dict[str, float]:
    """One trial's resources, as Ray's autoscaler is asked for them."""
    return {"CPU": float(cpus_per_trial), **({"GPU": float(gpus_per_trial)} if gpus_per_trial > 0 else {})}


def holds_a_trial(nodes: list[Mapping[str, float]], bundle: Mapping[str, float]) -> bool:
    """Whether one of the nodes (each its total resources) holds ``bundle``: a trial runs on
    one node, so the cluster's sum does not count."""
    return any(all(float(node.get(key, 0)) + 1e-9 >= value for key, value in bundle.items()) for node in nodes)


def node_wait_limit_s(environ: Mapping[str, str] | None = None) -> float:
    """The longest wait for the first trial's node: MNIST_SEARCH_NODE_WAIT_S, else 30 minutes."""
    text = (os.environ if environ is None else environ).get(NODE_WAIT_ENV, "").strip()
    try:
        value = float(text)
    except ValueError:
        return NODE_WAIT_LIMIT_S
    return value if value > 0 else NODE_WAIT_LIMIT_S


def describe_bundle(bundle: Mapping[str, float]) -> str:
    """'1 CPU and 0.25 GPU'."""
    parts = [f"{bundle['CPU']:g} CPU" if "CPU" in bundle else "", f"{bundle['GPU']:g} GPU" if "GPU" in bundle else ""]
    return " and ".join(part for part in parts if part)


def waiting_line(bundle: Mapping[str, float], waited_s: float) -> str:
    """The line printed now and then while the search waits for its first trial's node."""
    return (f"waiting for the cluster to start a node with {describe_bundle(bundle)} for the first trial: "
            f"{waited_s:.0f} s so far (the time budget starts once it has joined; `ray status` shows the nodes)")


def joined_line(waited_s: float) -> str:
    return (f"a node for the first trial joined after {waited_s:.0f} s; the search starts now, and its time "
            f"budget with it")


def gave_up_line(bundle: Mapping[str, float], limit_s: float) -> str:
    """The one-line error when no node that holds a trial joined in time."""
    return (f"no node with {describe_bundle(bundle)} for a trial joined the cluster within {limit_s / 60:g} min: "
            f"check the EC2 quota for the GPU type (Service Quotas: 'Running On-Demand G and VT instances', or "
            f"'All G and VT Spot Instance Requests' for spot), that the instance type is offered in the region, "
            f"that the head may pass the workers' IAM role (iam:PassRole), and what the autoscaler says "
            f"(`ray monitor cluster.yaml`); {NODE_WAIT_ENV} sets the wait")


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
