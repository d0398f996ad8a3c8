"""Keras training helpers shared by search trials and confirmation (no Ray here)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Mapping


def configure_tensorflow(*, threads: int, use_gpu: bool) -> None:
    """Match TensorFlow's thread pools to the CPUs a trial holds; turn on GPU memory growth.

    Must run before TensorFlow executes its first op in this process; in a reused Ray
    actor it already has, with the same values, so a second call changes nothing.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # Already initialized in this process (a reused actor): keep the first setting.
    if use_gpu:
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass  # Already initialized: memory growth was set by the first trial.


def trial_seed(run_seed: int, config: Mapping[str, Any]) -> int:
    """A seed fixed by the run's seed and the configuration, so a configuration re-run
    on CPU gives the same curve."""
    canonical = json.dumps({"run_seed": run_seed, "config": dict(config)}, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:4], "little") % (2**31 - 1)


def count_parameters(model: Any) -> int:
    return int(model.count_params())
