"""Where a process trains, and the check that refuses a GPU share its backend cannot use.

This machine has no GPU: a process given a share of one must be refused at once, with one
line that names the node, the backend, what it found and the fix, instead of training on the CPU.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from mnist_models import TEST_SEAM_ENV, DeviceError, Placement, TrainingProcess, check_placement, placement
from tests.conftest import PROJECT_ROOT, PYTHON

no_gpu_here = pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")


def test_a_cpu_process_trains_on_the_cpu_and_passes_the_check() -> None:
    where = placement("tensorflow", gpu_share=0.0, gpus=[])
    assert (where.device, where.on_gpu, where.gpu_share) == ("CPU", False, 0.0)
    check_placement(where)


def test_a_gpu_share_with_a_gpu_listed_trains_on_that_gpu() -> None:
    where = placement("jax", gpu_share=0.25, gpus=["NVIDIA A10G"])
    assert where.device == "GPU: NVIDIA A10G" and where.on_gpu
    check_placement(where)
    assert (where.devices_seen, where.gpu_share) == (["NVIDIA A10G"], 0.25)


def test_a_gpu_share_with_no_gpu_listed_is_refused_in_one_line_that_says_the_fix() -> None:
    where = Placement(backend="tensorflow", device="CPU", devices_seen=[], visible_ids="0", gpu_share=0.5,
                      node="worker-7")
    with pytest.raises(DeviceError) as refused:
        check_placement(where)
    line = str(refused.value)
    assert "\n" not in line
    for part in ("node worker-7", "0.5 of a GPU", "CUDA_VISIBLE_DEVICES='0'", "tensorflow backend lists no GPU",
                 "tensorflow[and-cuda]", "cluster-constraints.txt", "--gpus-per-trial 0"):
        assert part in line


def test_the_test_seam_lets_a_logical_gpu_train_on_the_cpu_and_says_so(monkeypatch) -> None:
    [(variable, value)] = TEST_SEAM_ENV.items()
    monkeypatch.setenv(variable, "1")  # a value typed by chance turns nothing on
    with pytest.raises(DeviceError):
        check_placement(placement("tensorflow", gpu_share=0.5, gpus=[]))
    monkeypatch.setenv(variable, value)
    where = placement("tensorflow", gpu_share=0.5, gpus=[])
    check_placement(where)
    assert where.test_seam and where.device == "CPU"
    assert not placement("tensorflow", gpu_share=0.0, gpus=[]).test_seam


@no_gpu_here
def test_the_gpu_nodes_setup_check_fails_on_this_cpu_machine() -> None:
    done = subprocess.run([PYTHON, "-m", "mnist_models.check_device", "--gpu"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "GPUs listed: no GPU" in done.stdout
    assert "check_device: error: node " in done.stderr and "lists no GPU" in done.stderr
    plain = subprocess.run([PYTHON, "-m", "mnist_models.check_device"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0


@no_gpu_here
def test_a_training_process_given_a_gpu_share_here_refuses_before_training() -> None:
    process = TrainingProcess(threads=1, use_gpu=True, gpu_share=0.5)
    empty = np.zeros((1, 28, 28), dtype=np.float32), np.zeros((1,), dtype=np.int32)
    started = time.monotonic()
    try:
        with pytest.raises(DeviceError, match=r"given 0\.5 of a GPU .* lists no GPU"):
            process.train({}, (*empty, *empty), seed=0, resume_dir=None, on_epoch=lambda figures, folder: None)
    finally:
        process.close()
    assert time.monotonic() - started < 60


def test_a_cpu_training_process_records_where_it_trains() -> None:
    process = TrainingProcess(threads=1, use_gpu=False)
    try:
        process._start()
        assert process.placement is not None and process.placement.device == "CPU"
        assert process.placement.backend == "tensorflow" and process.placement.gpu_share == 0.0
    finally:
        process.close()
