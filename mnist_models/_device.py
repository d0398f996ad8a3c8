"""Where a process trains: the Keras backend, the devices it sees, and the check that a process
given a share of a GPU can use one.

Ray hands a trial its GPU share and device ids (``CUDA_VISIBLE_DEVICES``) from what a node
advertises, whatever the backend can use: a node whose TensorFlow finds no CUDA library still
takes GPU trials, and they would train on one CPU thread. ``check_placement`` refuses that at
the start of the training process, in one line that says what was found and how to mend it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

CPU = "CPU"
# The test seam: with this variable set to this exact value, a process given a share of a
# logical GPU (Ray's ``num_gpus`` on a machine with none) trains on the CPU instead of being
# refused, and records that it did. For tests of GPU scheduling on a CPU machine only: no flag
# of the service sets it, and a value a user could type by chance does not turn it on.
TEST_SEAM_VARIABLE = "MNIST_MODELS_TEST_SEAM"
TEST_SEAM_VALUE = "tests: logical GPUs train on the CPU"
TEST_SEAM_ENV = {TEST_SEAM_VARIABLE: TEST_SEAM_VALUE}  # what a test adds to a node's environment


class DeviceError(RuntimeError):
    """A process was given a share of a GPU that its Keras backend cannot use."""


@dataclass(frozen=True)
class Placement:
    """Where one process trains (``search.run_folder.device_columns`` turns it into the
    ``device_*`` columns of a trial or confirmation row)."""

    backend: str  # Keras's backend: tensorflow, jax, torch
    device: str  # "GPU: NVIDIA A10G", or "CPU"
    devices_seen: list[str] = field(default_factory=list)  # every accelerator the backend lists
    visible_ids: str = ""  # CUDA_VISIBLE_DEVICES as Ray set it ("" where unset)
    gpu_share: float = 0.0  # the share of a GPU the process was given
    node: str = ""  # the host name
    test_seam: bool = False  # a test's logical GPU, trained on the CPU (TEST_SEAM_VARIABLE)

    @property
    def on_gpu(self) -> bool:
        return self.device != CPU


def gpu_names(backend: str) -> list[str]:
    """The GPUs the backend lists in this process (imports the backend: call it where training
    happens, after the backend's threads are set)."""
    if backend == "tensorflow":
        import tensorflow as tf  # Lazy: only a process that trains pays for TensorFlow.

        return [_tensorflow_name(tf, gpu) for gpu in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax  # Lazy: as above.

        return [str(getattr(device, "device_kind", device)) for device in jax.devices()
                if device.platform in ("gpu", "cuda", "rocm")]
    if backend == "torch":
        import torch  # Lazy: as above.

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return []


def _tensorflow_name(tf: Any, gpu: Any) -> str:
    try:
        return str(tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name)
    except (RuntimeError, ValueError):
        return str(gpu.name)


def placement(backend: str, *, gpu_share: float, gpus: list[str] | None = None) -> Placement:
    """Where a process of this ``backend`` with ``gpu_share`` of a GPU trains (``gpus``: the
    backend's GPU list, found with ``gpu_names`` when not given)."""
    seen = gpu_names(backend) if gpus is None else list(gpus)
    device = f"GPU: {seen[0]}" if gpu_share > 0 and seen else CPU
    seam = gpu_share > 0 and not seen and os.environ.get(TEST_SEAM_VARIABLE) == TEST_SEAM_VALUE
    return Placement(backend=backend, device=device, devices_seen=seen,
                     visible_ids=os.environ.get("CUDA_VISIBLE_DEVICES", ""), gpu_share=float(gpu_share),
                     node=socket.gethostname(), test_seam=seam)


def check_placement(where: Placement) -> None:
    """Raise ``DeviceError`` (one line: the node, the backend, what it found, the fix) when a
    process given a share of a GPU sees none."""
    if where.gpu_share <= 0 or where.devices_seen or where.test_seam:
        return
    ids = f"CUDA_VISIBLE_DEVICES={where.visible_ids!r}" if where.visible_ids else "CUDA_VISIBLE_DEVICES unset"
    raise DeviceError(
        f"node {where.node}: given {where.gpu_share:g} of a GPU ({ids}), but Keras's {where.backend} backend "
        f"lists no GPU and would train on the CPU: {_fix(where.backend)}, or run with --gpus-per-trial 0")


def _fix(backend: str) -> str:
    if backend == "tensorflow":
        return ("install TensorFlow's CUDA libraries on the GPU nodes (pip install \"tensorflow[and-cuda]\" "
                "-c cluster-constraints.txt) and check the NVIDIA driver with nvidia-smi")
    if backend == "jax":
        return "install JAX's CUDA build on the GPU nodes (pip install \"jax[cuda13]\") and check nvidia-smi"
    return f"install {backend}'s CUDA build on the GPU nodes and check nvidia-smi"
