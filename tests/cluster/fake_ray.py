"""A pretend Ray cluster for the tests that start or join one: ``ray.init`` & co. replaced,
so that a GPU cluster, or one whose autoscaler adds nodes, can be driven on this CPU machine."""

from __future__ import annotations

from typing import Any

import ray

import search.cluster._ray_cluster as ray_cluster


class FakeRay:
    """ray.init & co. for a cluster of ``nodes`` nodes with ``resources`` (each node holds all of
    them: enough for these tests); records init's arguments and the autoscaler requests.
    ``joins_after`` polls of ``ray.nodes()``, a node of ``joining`` resources joins. The head's
    launcher config (``~/ray_bootstrap_config.yaml``) reads as ``launcher_config``: None, as off
    a cluster that `ray up` launched, unless given."""

    def __init__(self, monkeypatch, *, resources: dict, nodes: int, joining: dict | None = None,
                 joins_after: int = 0, launcher_config: dict[str, Any] | None = None) -> None:
        self.init_kwargs: dict = {}
        self.shut_down = False
        self.requests: list = []
        self.polls = 0
        self._resources, self._nodes = resources, nodes
        self._joining, self._joins_after = joining, joins_after
        monkeypatch.setattr(ray, "init", self._init)
        monkeypatch.setattr(ray, "cluster_resources", lambda: dict(resources))
        monkeypatch.setattr(ray, "nodes", self._list_nodes)
        monkeypatch.setattr(ray, "shutdown", lambda: setattr(self, "shut_down", True))
        monkeypatch.setattr(ray_cluster, "_check_address_answers", lambda address: None)
        monkeypatch.setattr(ray_cluster, "request_resources", lambda bundles: self.requests.append(bundles))
        monkeypatch.setattr(ray_cluster, "read_launcher_config", lambda: launcher_config)

    def _init(self, **kwargs):
        self.init_kwargs = kwargs
        return type("Context", (), {"dashboard_url": ""})()

    def _list_nodes(self) -> list[dict]:
        self.polls += 1
        listed = [{"Alive": True, "Resources": dict(self._resources)}] * self._nodes
        if self._joining is not None and self.polls > self._joins_after:
            listed.append({"Alive": True, "Resources": dict(self._joining)})
        return listed + [{"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]
