"""A real Ray cluster of two nodes on this machine, joined with ``--address``.

Each test starts its own cluster (``ray.cluster_utils.Cluster``: a head node and a worker
node of one CPU each) and shuts it down itself. Ray's temporary folder is private to the
test, so no other Ray on this machine can find this cluster (``ray.init()`` connects to
the cluster recorded in ``$RAY_TMPDIR/ray/ray_current_cluster``). Both nodes share this
machine's disk, so a local ``--results`` behaves like a shared file system here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

SEARCH = ["--space", "cnn", "--train-limit", "2000", "--num-samples", "4", "--max-epochs", "1",
          "--no-confirm", "--no-dashboard", "--name", "on-two-nodes"]
TIMEOUT_S = 180


@pytest.fixture
def two_nodes(request, monkeypatch):
    """A head node and a worker node, one CPU each; shut down when the test ends."""
    from ray.cluster_utils import Cluster

    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    request.addfinalizer(lambda: shutil.rmtree(ray_tmp, ignore_errors=True))
    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False, "dashboard_port": _free_port()})
    request.addfinalizer(cluster.shutdown)
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    return cluster, worker


def _free_port() -> int:
    """A port for the head's (minimal) dashboard process, so it never takes 8265 from a user's Ray."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _search(cluster, logs: Path, results: str) -> subprocess.Popen:
    """The search, joined to ``cluster``; its output goes to files in ``logs`` (a pipe nobody
    reads could fill up and stall it)."""
    with (logs / "stdout.txt").open("w") as stdout, (logs / "stderr.txt").open("w") as stderr:
        return subprocess.Popen([PYTHON, "-m", "search.run", *SEARCH, "--address", cluster.address,
                                 "--results", results], cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr)


def _finish(search: subprocess.Popen, logs: Path) -> str:
    """Wait for the search to end; returns its stderr."""
    search.wait(timeout=TIMEOUT_S)
    return (logs / "stderr.txt").read_text()


def _rows(results: Path) -> list[dict]:
    return pq.read_table(results / "on-two-nodes" / "trials.parquet").to_pylist()


def _training_on(node) -> bool:
    """Whether a trial is training on ``node``: one of its raylet's worker processes is
    running a trainable's ``train`` (Ray titles it ``ray::ImplicitFunc.train``). ``node`` is the
    handle ``Cluster.add_node`` returned, which lists the node's processes by kind."""
    raylet = node.all_processes["raylet"][0].process.pid
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            title = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == raylet and title.startswith("ray::") and title.endswith(".train"):
            return True
    return False


def test_trials_run_on_both_nodes_and_every_result_reaches_the_results_folder(two_nodes, tmp_path) -> None:
    cluster, worker = two_nodes
    started = time.monotonic()
    search = _search(cluster, tmp_path, str(tmp_path))
    stderr = _finish(search, tmp_path)
    wall_s = time.monotonic() - started
    assert search.returncode == 0, stderr[-3000:]

    rows = _rows(tmp_path)
    assert len(rows) == 4 and len({row["trial_id"] for row in rows}) == 4
    for row in rows:
        assert row["state"] == "completed" and row["error"] is None
        assert row["best_val_accuracy"] is not None and len(row["val_accuracy_per_epoch"]) == 1
    per_node = {node_id: sum(row["node_id"] == node_id for row in rows) for node_id in {row["node_id"] for row in rows}}
    assert set(per_node) == {cluster.head_node.node_id, worker.node_id}
    # Tune's folder holds every trial's own results too.
    results = list((tmp_path / "on-two-nodes" / "tune").glob("*/result.json"))
    assert len(results) == 4 and all(path.stat().st_size > 0 for path in results)
    assert "is a local folder: with 2 nodes" in stderr
    print(f"\ntwo nodes: trials per node {sorted(per_node.values())}, {len(rows)} of 4 rows, {wall_s:.1f} s")


def test_a_lost_worker_node_costs_only_the_trial_in_flight(two_nodes, tmp_path, monkeypatch) -> None:
    """The worker node dies while a trial trains on it: the search goes on, the trial is
    retried on the head node (--max-failures 1, the default), and nothing is lost. The
    results go to a storage URI (file:// here; s3:// on a real cluster)."""
    cluster, worker = two_nodes
    monkeypatch.setenv("MNIST_SEARCH_STAGING", str(tmp_path / "staging"))
    shared = tmp_path / "shared"
    started = time.monotonic()
    search = _search(cluster, tmp_path, f"file://{shared}")
    while search.poll() is None and not _training_on(worker):
        assert time.monotonic() - started < TIMEOUT_S, "no trial ever ran on the worker node"
        time.sleep(0.2)
    assert search.poll() is None, "the search ended before a trial ran on the worker node"
    killed_at = time.monotonic() - started
    cluster.remove_node(worker, allow_graceful=False)
    stderr = _finish(search, tmp_path)
    wall_s = time.monotonic() - started
    assert search.returncode == 0, stderr[-3000:]

    rows = _rows(shared)
    assert len(rows) == 4 and len({row["trial_id"] for row in rows}) == 4
    assert all(row["state"] == "completed" and row["error"] is None for row in rows)
    assert {row["node_id"] for row in rows} == {cluster.head_node.node_id}
    # The trial that was on the worker failed once there (Tune kept its error) and was retried.
    run = shared / "on-two-nodes"
    failed_once = list((run / "tune").glob("*/error.txt"))
    assert len(failed_once) == 1 and "actor" in failed_once[0].read_text().lower()
    # Everything reached the URI: our files (the SQLite study uploaded at the end) and Tune's.
    assert json.loads((run / "run.json").read_text())["state"] == "finished"
    assert (run / "study.db").stat().st_size > 0 and len(list((run / "tune").glob("*/result.json"))) == 4
    print(f"\nlost node: killed at {killed_at:.1f} s, {len(rows)} of 4 rows, 1 trial retried, {wall_s:.1f} s")
