"""The launcher's private names against the pinned Ray: ``cluster.yaml`` prepared offline as
``ray up`` prepares it. A Ray upgrade that moves one fails here, not in a user's ``ray up``."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from search.cluster._autoscaler import EC2_INSTANCE_TYPES
from search.cluster._ray_launcher import launcher_prepared

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"


def test_the_cluster_file_passes_rays_own_checks_and_a_broken_copy_does_not() -> None:
    config = yaml.safe_load(CLUSTER_YAML.read_text())
    prepared = launcher_prepared(config)
    assert prepared["cluster_name"] == config["cluster_name"]
    broken = copy.deepcopy(config)
    broken["head_node_type"] = "no-such-type"
    with pytest.raises(ValueError):
        launcher_prepared(broken)


def test_node_types_without_resources_get_them_from_rays_own_aws_fill_out() -> None:
    """`ray up` fills in a node type's resources from EC2's answer about its instance type
    (Ray's AWS node provider); ``launcher_prepared`` runs the same code with the answer given."""
    config = yaml.safe_load(CLUSTER_YAML.read_text())
    worker = config["available_node_types"]["gpu_worker"]
    assert "resources" not in worker
    filled = launcher_prepared(config)["available_node_types"]["gpu_worker"]["resources"]
    assert filled["CPU"] == 4 and filled["GPU"] == 1 and filled["accelerator_type:A10G"] == 1
    assert filled["memory"] == int(16384 * 2**20 * 0.7), "Ray's share of the instance's memory for tasks"
    answer = {"m5.xlarge": EC2_INSTANCE_TYPES["m5.xlarge"]}  # EC2 does not know the worker's type
    with pytest.raises(jsonschema.ValidationError, match="'resources' is a required property"):
        launcher_prepared(config, answer)
