"""The trial: TensorFlow is configured (threads, GPU memory growth) before it starts, and only
in the process that trains.

Thread pools and GPU memory growth can only be set before TensorFlow initializes its
runtime, which its first op does; after that the settings are silently kept as they were.
So the checks run in fresh interpreters, like a trial's training process.
"""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.conftest import PROJECT_ROOT, PYTHON


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-c", textwrap.dedent(code)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_trial_actor_imports_neither_keras_nor_tensorflow() -> None:
    """The actor hands the training to its training process (``mnist_models.TrainingProcess``),
    which configures TensorFlow's threads before it imports Keras; the actor itself, like the
    driver, never loads either."""
    completed = _python("""
        import sys
        import search.tuning._trainable
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-2:] == ["False", "False"]


@pytest.mark.parametrize("op_first, threads_kept", [(False, 2), (True, 0)])
def test_settings_hold_only_when_made_before_the_first_op(op_first: bool, threads_kept: int) -> None:
    """What a trial's actor loads (the trainable, Ray Tune) does not start TensorFlow, so the
    trial's settings hold; a reused actor's next trial repeats them harmlessly. The control
    case (an op first) shows the check can tell."""
    completed = _python(f"""
        import search.tuning._trainable, ray.tune
        import tensorflow as tf
        from mnist_models import configure_tensorflow

        if {op_first}:
            tf.constant(1.0) + 1
        configure_tensorflow(threads=2, use_gpu=True)
        tf.constant(1.0) + 1
        configure_tensorflow(threads=2, use_gpu=True)  # the next trial in a reused actor
        print(tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads())
    """)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-2:] == [str(threads_kept)] * 2
