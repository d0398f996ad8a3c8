"""A real Ray cluster of several nodes on this machine, joined with ``--address``.

Each test starts its own cluster (``ray.cluster_utils.Cluster``: a head node and worker
nodes of one CPU each) and shuts it down itself. Ray's temporary folder is private to the
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
# One trial at a time, of 3 epochs: the first trial is alone at ASHA's first rung, so it is
# never stopped early, and its node can be lost while it trains its second or third epoch
# (8,000 images: an epoch of about 2 s, long enough to see its report and kill the node
# before the trial ends).
LOST_NODE_SEARCH = ["--space", "cnn", "--train-limit", "8000", "--num-samples", "2", "--max-epochs", "3",
                    "--max-concurrent", "1", "--no-confirm", "--no-dashboard", "--name", "on-two-nodes"]
TIMEOUT_S = 180


def _cluster(request, monkeypatch, *, head_cpus: int, workers: int):
    """A head node of ``head_cpus`` CPUs and ``workers`` worker nodes of one CPU each, in a Ray
    temporary folder of their own; shut down when the test ends. Returns (cluster, workers,
    that folder)."""
    from ray.cluster_utils import Cluster

    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    request.addfinalizer(lambda: shutil.rmtree(ray_tmp, ignore_errors=True))
    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={"num_cpus": head_cpus, "include_dashboard": False,
                                      "dashboard_port": _free_port()})
    request.addfinalizer(cluster.shutdown)
    nodes = [cluster.add_node(num_cpus=1) for _ in range(workers)]
    cluster.wait_for_nodes()
    return cluster, nodes, Path(ray_tmp)


@pytest.fixture
def two_nodes(request, monkeypatch):
    """A head node and a worker node, one CPU each."""
    cluster, [worker], _ = _cluster(request, monkeypatch, head_cpus=1, workers=1)
    return cluster, worker


@pytest.fixture
def head_and_two_workers(request, monkeypatch):
    """A head node that holds no CPU for trials (as cluster.yaml's) and two workers of one CPU."""
    return _cluster(request, monkeypatch, head_cpus=0, workers=2)


def _free_port() -> int:
    """A port for the head's (minimal) dashboard process, so it never takes 8265 from a user's Ray."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _search(cluster, logs: Path, results: str, search: list[str] = SEARCH) -> subprocess.Popen:
    """The search, joined to ``cluster``; its output goes to files in ``logs`` (a pipe nobody
    reads could fill up and stall it)."""
    with (logs / "stdout.txt").open("w") as stdout, (logs / "stderr.txt").open("w") as stderr:
        return subprocess.Popen([PYTHON, "-m", "search.run", *search, "--address", cluster.address,
                                 "--results", results], cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr)


def _finish(search: subprocess.Popen, logs: Path) -> str:
    """Wait for the search to end; returns its stderr."""
    search.wait(timeout=TIMEOUT_S)
    return (logs / "stderr.txt").read_text()


def _rows(results: Path) -> list[dict]:
    return pq.read_table(results / "on-two-nodes" / "trials.parquet").to_pylist()


def _epochs_reported(ray_tmp: Path) -> dict[str, list[dict]]:
    """Each trial's reports so far, by its folder name: the result.json that Tune's driver
    writes, one line a report, into its staging folder under the Ray session (with results
    at a storage URI, Tune uploads them from there later)."""
    reports = {}
    for path in ray_tmp.glob("**/driver_artifacts/*/result.json"):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        try:
            reports[path.parent.name] = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            continue  # a line being written
    return reports


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


def test_a_lost_worker_node_costs_only_the_epoch_in_flight(head_and_two_workers, tmp_path, monkeypatch) -> None:
    """The worker node of the first trial dies after the trial's first epoch, while it trains
    the next: the search goes on, the trial is retried on the other worker (--max-failures 1,
    the default) from its last finished epoch, and its epochs add up to its plan, each run
    once. The results go to a storage URI (file:// here; s3:// on a real cluster)."""
    cluster, workers, ray_tmp = head_and_two_workers
    monkeypatch.setenv("MNIST_SEARCH_STAGING", str(tmp_path / "staging"))
    shared = tmp_path / "shared"
    by_id = {node.node_id: node for node in workers}
    started = time.monotonic()
    search = _search(cluster, tmp_path, f"file://{shared}", LOST_NODE_SEARCH)
    lost = None
    while lost is None:
        assert search.poll() is None, "the search ended before a trial finished an epoch"
        assert time.monotonic() - started < TIMEOUT_S, "no trial ever finished an epoch"
        for trial_dir, reports in _epochs_reported(ray_tmp).items():
            if reports and reports[-1].get("node_id") in by_id and reports[-1]["epoch"] < 3:
                lost = trial_dir, reports[-1]["node_id"], reports[-1]["epoch"]
        time.sleep(0.1)
    trial_dir, lost_node, epochs_before = lost
    killed_at = time.monotonic() - started
    cluster.remove_node(by_id[lost_node], allow_graceful=False)
    stderr = _finish(search, tmp_path)
    wall_s = time.monotonic() - started
    assert search.returncode == 0, stderr[-3000:]

    rows = _rows(shared)
    assert len(rows) == 2 and len({row["trial_id"] for row in rows}) == 2
    assert all(row["state"] in ("completed", "early_stopped") and row["error"] is None for row in rows), rows
    run = shared / "on-two-nodes"
    # The lost trial failed once there (Tune kept its error) and was retried on the other worker.
    [failed_once] = list((run / "tune").glob("*/error.txt"))
    assert failed_once.parent.name == trial_dir and "actor" in failed_once.read_text().lower()
    [retried] = [row for row in rows if trial_dir.startswith(f"train_trial_{row['trial_id']}")]
    survivor = next(node_id for node_id in by_id if node_id != lost_node)
    assert retried["state"] == "completed" and retried["node_id"] == survivor
    # Its epochs add up to its plan: 1, 2, 3, each once; the retry went on from its last
    # finished epoch instead of starting again from epoch 1.
    reports = [json.loads(line) for line in (run / "tune" / trial_dir / "result.json").read_text().splitlines()
               if line.strip()]
    assert [report["epoch"] for report in reports] == [1, 2, 3], [r["epoch"] for r in reports]
    assert {report["node_id"] for report in reports} == {lost_node, survivor}
    assert retried["epochs_run"] == 3 and len(retried["val_accuracy_per_epoch"]) == 3
    # Everything reached the URI: our files (the SQLite study uploaded at the end) and Tune's.
    assert json.loads((run / "run.json").read_text())["state"] == "finished"
    assert (run / "study.db").stat().st_size > 0 and len(list((run / "tune").glob("*/result.json"))) == 2
    resumed_at = next(report["epoch"] for report in reports if report["node_id"] == survivor)
    print(f"\nlost node: killed at {killed_at:.1f} s after epoch {epochs_before} of 3, the retry went on "
          f"from epoch {resumed_at}, {len(rows)} of 2 rows, {wall_s:.1f} s")
