"""Fixtures of the cluster's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from search.cluster._ray_launcher import launcher_prepared

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"


@pytest.fixture(scope="module")
def launched_config() -> dict:
    """cluster.yaml as `ray up` leaves it on the head node (~/ray_bootstrap_config.yaml)."""
    with CLUSTER_YAML.open() as stream:
        return launcher_prepared(yaml.safe_load(stream))
