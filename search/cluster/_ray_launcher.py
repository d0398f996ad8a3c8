"""``cluster.yaml`` checked offline as ``ray up`` would check it: the one place the service
reaches into Ray's private launcher names (``ray up`` has no public dry run).

Ray is pinned (``pyproject.toml``); ``tests/cluster/test_ray_launcher.py`` checks these against
the installed Ray, so an upgrade that moves a name fails there first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from unittest import mock

from ray.autoscaler._private.util import prepare_config, validate_config

from search.cluster._autoscaler import EC2_INSTANCE_TYPES


def launcher_prepared(cluster_config: dict[str, Any],
                      instance_types: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``cluster.yaml`` as ``ray up`` makes it before it contacts the cloud: merged with the
    provider's defaults shipped in Ray, setup commands split, per-type worker limits filled,
    node types without ``resources`` filled in from their instance types; raises when the
    file is invalid (Ray's JSON schema and its head-node rules).

    ``ray up`` asks EC2 (DescribeInstanceTypes) for the instance types; here
    ``instance_types`` answers instead, in EC2's shape (default ``EC2_INSTANCE_TYPES``). As in
    ``ray up``, a type it does not know leaves the resources unfilled, and the schema check
    then refuses the file.

    Missing public API: ``ray up`` has no dry run (Ray 2.60); these are the functions it
    calls first, in ``ray.autoscaler._private.commands._bootstrap_config``: ``prepare_config``,
    ``AWSNodeProvider.fillout_available_node_types_resources`` (which reads EC2 through the
    module's ``list_ec2_instances``) and ``validate_config``.
    """
    prepared = prepare_config(copy.deepcopy(cluster_config))
    if prepared.get("provider", {}).get("type") == "aws":
        prepared = _filled_out_from(prepared, EC2_INSTANCE_TYPES if instance_types is None else instance_types)
    validate_config(prepared)
    return prepared


def _filled_out_from(config: dict[str, Any], instance_types: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Ray's own fill-out of missing node resources, with EC2's answer given. Like ``ray up``,
    a failure (an instance type not in the answer; boto3 missing) leaves the config as it was."""
    try:
        # Lazy: the module needs boto3, which `ray up` on AWS needs too but the search does not.
        from ray.autoscaler._private.aws import node_provider
    except ImportError:
        return config
    answer = [dict(instance) for instance in instance_types.values()]
    with mock.patch.object(node_provider, "list_ec2_instances", lambda region, aws_credentials=None: answer):
        try:
            return node_provider.AWSNodeProvider.fillout_available_node_types_resources(config)
        except ValueError:
            return config
