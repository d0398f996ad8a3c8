"""GPU scheduling without a GPU: Ray started here with 2 logical GPUs, trials of 0.5 GPU each.

Ray hands each trial its share and a device id whatever the machine has, so 4 trials start at
once; their training processes find no GPU and refuse, and the first refusal ends the search
within seconds with its one line: exit status 1, run.json "failed" with the line, every file
of the run kept. Then the cluster is "mended": a new head whose processes carry the project's
explicit test seam (``mnist_models.TEST_SEAM_ENV``: a logical GPU's share trains on the CPU,
recorded as such), and ``--resume`` runs the refused trials to their end, 4 at once, each
recording its share and its device id.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mnist_models import TEST_SEAM_ENV
from search.run_folder import trial_results
from tests.cluster._local_ray import LocalRay
from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e

NAME = "gpu-trials"
REFUSED_WITHIN_S = 60
SEARCH = ["--space", "dense", "--num-samples", "4", "--max-epochs", "1", "--train-limit", "1000", "--no-confirm",
          "--no-dashboard", "--gpus-per-trial", "0.5", "--max-concurrent", "4"]


def search_run(cluster: LocalRay, results: Path, *arguments: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    completed = subprocess.run([PYTHON, "-m", "search.run", *arguments, "--address", cluster.address,
                                "--results", str(results)], cwd=PROJECT_ROOT, env=cluster.env, capture_output=True,
                               text=True, timeout=180)
    return completed, time.monotonic() - started


def test_trials_refused_their_gpu_stop_the_search_at_once_and_resume_on_a_mended_cluster(tmp_path: Path) -> None:
    results, run_dir = tmp_path / "results", tmp_path / "results" / NAME
    unmended = LocalRay(tmp_path / "unmended", token_auth=False)
    try:
        unmended.start_head(num_cpus=4, num_gpus=2)
        refused, refused_s = search_run(unmended, results, *SEARCH, "--name", NAME)
    finally:
        unmended.stop()
    assert refused.returncode == 1, refused.stderr[-3000:]
    assert refused_s < REFUSED_WITHIN_S, f"the search ended {refused_s:.0f} s after it started"
    failed = re.findall(r"^search\.run: failed: (.+)$", refused.stderr, flags=re.MULTILINE)
    assert len(failed) == 1, refused.stderr[-3000:]
    line = failed[0]
    assert re.fullmatch(r"node \S+: given 0\.5 of a GPU \(CUDA_VISIBLE_DEVICES='[01]'\), but Keras's tensorflow "
                        r"backend lists no GPU .*--gpus-per-trial 0", line), line
    run = json.loads((run_dir / "run.json").read_text())
    assert run["state"] == "failed" and run["error"] == line
    assert {"run.json", "trials.parquet", "study.db", "tune"} <= {path.name for path in run_dir.iterdir()}
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert rows and all(row["state"] == "interrupted" for row in rows), "resumable, the refused one too"
    assert all(row["epochs_run"] == 0 and row["device"] is None for row in rows), rows
    assert "trial_devices" not in run, "no trial trained anywhere"

    mended = LocalRay(tmp_path / "mended", token_auth=False)
    try:
        mended.start_head(num_cpus=4, num_gpus=2, env={**mended.env, **TEST_SEAM_ENV})
        resumed, resumed_s = search_run(mended, results, "--resume", NAME, "--no-dashboard")
    finally:
        mended.stop()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["state"] == "finished" and "error" not in run, run
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    assert len(rows) == 4 and all(row["state"] == "completed" for row in rows), [row["state"] for row in rows]
    assert {row["device_gpu_share"] for row in rows} == {0.5}
    assert {row["device_visible_ids"] for row in rows} <= {"0", "1"}
    assert {row["device"] for row in rows} == {"CPU (a test's logical GPU)"}
    assert run["trial_devices"] == "4 trials on CPU (a test's logical GPU)" and run["trial_retries"] <= 4
    assert f"trained: {run['trial_devices']}" in resumed.stdout
    # 4 trials at once: every trial's time window (its start to its last report) holds a common instant.
    last = {lines[-1]["trial_id"]: lines[-1] for lines in trial_results(run_dir) if lines}
    windows = [(result["timestamp"] - result["time_total_s"], result["timestamp"]) for result in last.values()]
    assert len(windows) == 4 and max(start for start, _ in windows) < min(end for _, end in windows), windows
    print(f"\nrefused: the search ended {refused_s:.1f} s after it started; resumed on the mended cluster: "
          f"{resumed_s:.1f} s")
