"""A Ray cluster started with `ray start` as a user starts one on this machine, with token
authentication (``ray_start_head``, one head node for the module):

- a search submitted as a Ray job exactly as docs/CLUSTER.md writes it, stopped with
  `ray job stop`, and continued with `--resume` in a second job (the job's driver joins the
  running cluster by RAY_ADDRESS, which Ray sets for every job);
- a search that asks for GPUs the cluster does not have yet: it waits, outside its time
  budget, until a node with one (logical) GPU joins a few seconds later. Ray hands a trial a
  logical GPU without a real one; the device check would refuse it, so this node's processes
  carry the project's explicit test seam (``mnist_models.TEST_SEAM_ENV``) and
  train on the CPU, recording that they did, so the search runs to its end. This test adds
  that node: it runs last.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pyarrow.parquet as pq
import pytest

from mnist_models import TEST_SEAM_ENV
from tests.cluster._local_ray import RAY, LocalRay
from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

EXCLUDES = '{"excludes": ["/.venv/", "/.git/", "/results/"]}'
DELAY_S = 5.0  # after the search says it waits, the GPU node is started (it takes seconds more to join)
TIMEOUT_S = 150


@pytest.fixture(scope="module")
def ray_start_head(tmp_path_factory):
    """A head node started as a user starts one here: `ray get-auth-token --generate`, then
    `ray start --head` with no RAY_AUTH_MODE (Ray 2.60 turns token authentication on because
    a token exists), 2 CPUs, no GPU, the dashboard on loopback, and RAY_JOB_STOP_WAIT_TIME_S=60
    in its environment as cluster.yaml starts the head. Tests may add nodes to it."""
    cluster = LocalRay(tmp_path_factory.mktemp("ray"), token_auth=True)
    try:
        env = {key: value for key, value in cluster.env.items() if key != "RAY_AUTH_MODE"}
        cluster.start_head(num_cpus=2, dashboard=True, env={**env, "RAY_JOB_STOP_WAIT_TIME_S": "60"})
        yield cluster
    finally:
        cluster.stop()


def _job_line(cluster: LocalRay, *search: str) -> list[str]:
    """The arguments of `ray job submit` as docs/CLUSTER.md writes it (run from the project folder)."""
    return ["job", "submit", "--address", cluster.dashboard_url, "--working-dir", ".",
            "--runtime-env-json", EXCLUDES, "--", "python", "-m", "search.run", *search]


def test_a_job_with_token_authentication_stopped_with_ray_job_stop_and_resumed(ray_start_head, tmp_path) -> None:
    cluster = ray_start_head
    assert "Token authentication is enabled for this Ray cluster" in (cluster.folder / "head.log").read_text()
    without_mode = {key: value for key, value in cluster.env.items() if key != "RAY_AUTH_MODE"}
    refused = cluster.ray("job", "list", "--address", cluster.dashboard_url, env=without_mode)
    assert refused.returncode != 0 and "Authentication required" in refused.stdout + refused.stderr, (
        "a shell without RAY_AUTH_MODE=token is refused: the docs must say to set it")

    # The search as a job, its logs followed as `ray job submit` does by default; 4 trials of 2
    # epochs on 5,000 images, so that it is still searching when `ray job stop` arrives.
    results, log = tmp_path / "results", tmp_path / "submit.log"
    started = time.monotonic()
    with log.open("w") as output:
        submit = subprocess.Popen(
            [RAY, *_job_line(cluster, "--space", "dense", "--num-samples", "4", "--max-epochs", "2", "--train-limit",
                             "5000", "--max-concurrent", "1", "--no-confirm", "--no-dashboard", "--results",
                             str(results), "--name", "job-test")],
            cwd=PROJECT_ROOT, env=cluster.env, stdout=output, stderr=subprocess.STDOUT)
    try:
        while not any(path.stat().st_size for path in (results / "job-test" / "tune").glob("*/result.json")):
            assert submit.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < 90, "no trial of the job ever reported an epoch"
            time.sleep(0.2)
        first_result_s = time.monotonic() - started
        [job_id] = set(re.findall(r"raysubmit_\w+", log.read_text()))
        stop_at = time.monotonic()
        cluster.ray("job", "stop", "--address", cluster.dashboard_url, job_id, check=True)
        stopped_s = time.monotonic() - stop_at
        submit.wait(timeout=30)  # following the logs ends with the job
    finally:
        if submit.poll() is None:
            submit.kill()
    status = cluster.ray("job", "status", "--address", cluster.dashboard_url, job_id)
    assert "was stopped" in status.stdout + status.stderr
    run = json.loads((results / "job-test" / "run.json").read_text())
    assert run["state"] == "interrupted", "the search had no time to save: RAY_JOB_STOP_WAIT_TIME_S"

    resume_at = time.monotonic()
    resumed = cluster.ray(*_job_line(cluster, "--resume", "job-test", "--results", str(results)), cwd=PROJECT_ROOT,
                          timeout=150)
    resume_s = time.monotonic() - resume_at
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0 and "succeeded" in output, output[-4000:]
    run = json.loads((results / "job-test" / "run.json").read_text())
    rows = pq.read_table(results / "job-test" / "trials.parquet").to_pylist()
    assert run["state"] == "finished" and len(rows) == 4 and len({row["trial_id"] for row in rows}) == 4
    assert all(row["state"] in ("completed", "early_stopped") for row in rows), [row["state"] for row in rows]
    print(f"\njob: first epoch reported {first_result_s:.1f} s after the submission; the job ended "
          f"{stopped_s:.1f} s after `ray job stop` with run.json interrupted; the --resume job finished all "
          f"{len(rows)} trials in {resume_s:.1f} s")


def test_the_budget_does_not_run_while_the_cluster_starts_its_first_gpu_node(ray_start_head, tmp_path) -> None:
    cluster = ray_start_head
    stderr_path, stdout_path = tmp_path / "stderr.txt", tmp_path / "stdout.txt"
    started = time.monotonic()
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        search = subprocess.Popen(
            [PYTHON, "-m", "search.run", "--space", "dense", "--num-samples", "2", "--max-epochs", "1",
             "--train-limit", "1000", "--no-confirm", "--no-dashboard", "--gpus-per-trial", "0.5",
             "--time-budget", "90s", "--address", cluster.address, "--results", str(tmp_path / "results"),
             "--name", "late-node"],
            cwd=PROJECT_ROOT, env=cluster.env, stdout=stdout, stderr=stderr)
    try:
        while "waiting for the cluster to start a node with 1 CPU and 0.5 GPU" not in stderr_path.read_text():
            assert search.poll() is None, stderr_path.read_text()[-3000:]
            assert time.monotonic() - started < 60, "the search never said it waits for a node"
            time.sleep(0.2)
        said_wait = time.monotonic()
        assert not (tmp_path / "results" / "late-node").exists(), "nothing is written while the search waits"
        time.sleep(DELAY_S)
        cluster.add_node(num_cpus=1, num_gpus=1, env=TEST_SEAM_ENV)
        joined = time.monotonic() - said_wait
        search.wait(timeout=TIMEOUT_S)
    finally:
        if search.poll() is None:
            search.kill()
    wall_s = time.monotonic() - started
    stderr = stderr_path.read_text()
    assert search.returncode == 0, stderr[-3000:]

    waited = re.search(r"a node for the first trial joined after (\d+) s", stderr)
    assert waited, stderr[-3000:]
    waited_s = float(waited.group(1))
    assert DELAY_S <= waited_s <= joined + 5, (waited_s, joined)
    run = json.loads((tmp_path / "results" / "late-node" / "run.json").read_text())
    assert run["state"] == "finished"
    # The search's own clock, which its budget is counted against, started after the wait.
    assert run["search_wall_s"] < wall_s - waited_s, (run["search_wall_s"], wall_s, waited_s)
    if "waited_for_nodes_s" in run:  # recorded by the pipeline from RayCluster.waited_for_nodes_s
        assert abs(run["waited_for_nodes_s"] - waited_s) <= 1.5
    rows = pq.read_table(tmp_path / "results" / "late-node" / "trials.parquet").to_pylist()
    assert len(rows) == 2 and all(row["state"] == "completed" for row in rows), rows
    print(f"\nlate node: joined {joined:.1f} s after the wait began, the search waited {waited_s:.0f} s, "
          f"searched {run['search_wall_s']:.1f} s, {wall_s:.1f} s in all")
