"""cluster.yaml: checked the way `ray up` checks it, offline, plus the project's own rules.

`ray up` runs ``prepare_config`` (merge with the AWS defaults shipped in the ray
package, split setup commands, fill per-type worker limits) and then
``validate_config`` (the JSON schema ``ray/autoscaler/ray-schema.json`` and the
head-node rules) before it talks to AWS. Both run here without network access.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from search.tuning import launcher_prepared

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"

# vCPUs and GPUs of instance types the file mentions; declared resources must not exceed them.
KNOWN_INSTANCE_TYPES = {
    "m5.large": (2, 0),
    "m5.xlarge": (4, 0),
    "m5.2xlarge": (8, 0),
    "g4dn.xlarge": (4, 1),
    "g5.xlarge": (4, 1),
    "g5.2xlarge": (8, 1),
    "g6.xlarge": (4, 1),
    "g6.2xlarge": (8, 1),
}
WORLD = {"0.0.0.0/0", "::/0"}


@pytest.fixture(scope="module")
def raw() -> dict:
    with CLUSTER_YAML.open() as f:
        return yaml.safe_load(f)


@pytest.fixture()
def config(raw) -> dict:
    """A fresh copy of the file as loaded, for each test to read or mutate."""
    return copy.deepcopy(raw)


def check(config: dict) -> dict:
    """What `ray up` does to the file before it contacts the cloud; raises if it is invalid."""
    return launcher_prepared(config)


def gpu_worker_types(config: dict) -> dict:
    head = config["head_node_type"]
    return {
        name: spec
        for name, spec in config["available_node_types"].items()
        if name != head and spec.get("resources", {}).get("GPU", 0) >= 1
    }


def world_open_ports(config: dict) -> set:
    """Ports that provider.security_group opens to any address (0.0.0.0/0 or ::/0)."""
    ports = set()
    for rule in config["provider"].get("security_group", {}).get("IpPermissions", []):
        ranges = {r.get("CidrIp") for r in rule.get("IpRanges", [])}
        ranges |= {r.get("CidrIpv6") for r in rule.get("Ipv6Ranges", [])}
        if not ranges & WORLD:
            continue
        low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
        if str(rule.get("IpProtocol", "")).lower() == "-1" or low == -1:
            ports.add("all")
        else:
            ports.update(range(int(low), int(high) + 1))
    return ports


def dashboard_hosts(commands: list[str]) -> list[str]:
    return re.findall(r"--dashboard-host[= ]+(\S+)", " ".join(commands))


# --- what `ray up` itself checks ---------------------------------------------------------


def test_ray_up_accepts_the_file(config):
    prepared = check(config)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["provider"]["region"]
    assert prepared["head_node_type"] in prepared["available_node_types"]


def _float_gpu(c):
    next(iter(gpu_worker_types(c).values()))["resources"]["GPU"] = 0.5


def _no_head_type_entry(c):
    del c["available_node_types"][c["head_node_type"]]


def _head_type_unknown(c):
    c["head_node_type"] = "no-such-node-type"


def _resources_missing(c):
    next(iter(gpu_worker_types(c).values())).pop("resources")


def _unknown_top_level_key(c):
    c["max_worker"] = 4


def _min_workers_above_global_max(c):
    next(iter(gpu_worker_types(c).values()))["min_workers"] = c["max_workers"] + 1


@pytest.mark.parametrize(
    "break_it, error, message",
    [
        (_float_gpu, jsonschema.ValidationError, "is not of type 'integer'"),
        (_no_head_type_entry, ValueError, "must be one of `available_node_types`"),
        (_head_type_unknown, ValueError, "must be one of `available_node_types`"),
        (_resources_missing, jsonschema.ValidationError, "'resources' is a required property"),
        (_unknown_top_level_key, jsonschema.ValidationError, "'max_worker' was unexpected"),
        (_min_workers_above_global_max, ValueError, "smaller than the sum of `min_workers`"),
    ],
)
def test_ray_up_rejects_a_broken_copy(config, break_it, error, message):
    """The same check refuses configs that `ray up` would refuse: it is not a no-op."""
    break_it(config)
    with pytest.raises(error, match=re.escape(message)):
        check(config)


# --- the project's rules ------------------------------------------------------------------


def test_an_autoscaling_gpu_worker_type(config):
    prepared = check(config)
    workers = gpu_worker_types(prepared)
    assert workers, "no worker node type declares resources GPU >= 1"
    for name, spec in workers.items():
        assert isinstance(spec["resources"]["GPU"], int), name
        assert spec["min_workers"] == 0, f"{name}: min_workers must be 0 (no idle GPUs billed)"
        assert spec["max_workers"] >= 1, f"{name}: max_workers must allow at least one node"
    assert prepared["max_workers"] >= 1


def test_head_node_is_cpu_only(config):
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0


def test_declared_resources_fit_the_instance_types(config):
    for name, spec in config["available_node_types"].items():
        instance_type = spec["node_config"]["InstanceType"]
        if instance_type not in KNOWN_INSTANCE_TYPES:
            continue
        cpus, gpus = KNOWN_INSTANCE_TYPES[instance_type]
        assert spec["resources"].get("CPU", 0) <= cpus, f"{name}: more CPUs than a {instance_type} has"
        assert spec["resources"].get("GPU", 0) <= gpus, f"{name}: more GPUs than a {instance_type} has"


def test_every_node_sets_the_same_image(config):
    images = {spec["node_config"].get("ImageId") for spec in config["available_node_types"].values()}
    assert None not in images, "every node type needs an ImageId (Ray's default AMI is too old)"
    assert len(images) == 1, f"head and workers should share one AMI (one OS, one Python): {images}"


def test_no_docker(config):
    assert not check(config).get("docker"), "the Deep Learning AMI runs Ray directly, without Docker"


def test_file_mounts_copy_the_project(config):
    mounts = config["file_mounts"]
    project = [remote for remote, local in mounts.items() if local.rstrip("/") in (".", "./")]
    assert project, f"no file mount copies the project folder '.': {mounts}"
    excluded = " ".join(config.get("rsync_exclude", []))
    assert ".venv" in excluded, "a local .venv (GBs) would be copied to every node"


def test_setup_commands_install_the_project(config):
    prepared = check(config)
    project_dirs = [remote for remote, local in config["file_mounts"].items() if local.rstrip("/") in (".", "./")]
    for role in ("head_setup_commands", "worker_setup_commands"):
        installs = [c for c in prepared[role] if "pip install" in c]
        assert any(
            re.search(rf"(-e|--editable)\s+{re.escape(d)}(\s|$)", c) for c in installs for d in project_dirs
        ), f"{role} never pip-installs the project dir {project_dirs}: {installs}"
    assert any("boto3" in c for c in prepared["head_setup_commands"]), "the autoscaler on the head needs boto3"
    assert any("and-cuda" in c for c in prepared["worker_setup_commands"]), (
        "GPU workers need tensorflow[and-cuda] for TensorFlow to find CUDA"
    )


def test_start_commands_are_the_standard_ones(config):
    head = config["head_start_ray_commands"]
    workers = config["worker_start_ray_commands"]
    assert head[0] == "ray stop" and workers[0] == "ray stop"
    head_start = " ".join(head)
    assert "ray start --head" in head_start
    assert "--port=6379" in head_start
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head_start
    assert "--address=$RAY_HEAD_IP:6379" in " ".join(workers)


def test_dashboard_binds_to_loopback_only(config):
    assert dashboard_hosts(config["head_start_ray_commands"]) == ["127.0.0.1"]
    keys = ("setup_commands", "head_setup_commands", "worker_setup_commands",
            "head_start_ray_commands", "worker_start_ray_commands")
    everything = " ".join(command for key in keys for command in config.get(key, []))
    assert "0.0.0.0" not in everything


def test_dashboard_check_catches_a_public_dashboard(config):
    config["head_start_ray_commands"][-1] = config["head_start_ray_commands"][-1].replace(
        "--dashboard-host=127.0.0.1", "--dashboard-host=0.0.0.0"
    )
    assert dashboard_hosts(config["head_start_ray_commands"]) == ["0.0.0.0"]


def test_only_ssh_is_open_to_the_world(config):
    assert world_open_ports(config) <= {22}


@pytest.mark.parametrize(
    "rule, expected",
    [
        ({"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, {8265}),
        ({"FromPort": 10000, "ToPort": 10001, "IpProtocol": "tcp", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
         {10000, 10001}),
        ({"FromPort": -1, "ToPort": -1, "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, {"all"}),
        ({"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, set()),
    ],
)
def test_port_check_catches_an_open_port(config, rule, expected):
    config["provider"].setdefault("security_group", {}).setdefault("IpPermissions", []).append(rule)
    check(config)  # the schema allows it: only our own rule stops it
    assert world_open_ports(config) - {22} == expected
