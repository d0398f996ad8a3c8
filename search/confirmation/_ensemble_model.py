"""``ensemble_model.keras``: the ensemble as one Keras model, built on the cluster.

The members' saved models are loaded and joined under one input: each member sees the images
and their one-pixel shifts (``mnist_models.shift_layer``), and Keras's ``Average`` layer takes
the mean of all their class probabilities. Images in, probabilities out, built of Keras's own
layers, so ``keras.saving.load_model`` loads it with nothing of this project and ``predict``
gives what the ensemble was scored with. It is built in a Ray task, as the confirmation's jobs
train: the driver never imports Keras.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import ray

from mnist_models import SHIFTS, configure_tensorflow, shift_layer

ENSEMBLE_MODEL_NAME = "ensemble"


def ensemble_model_bytes(member_models: Sequence[bytes]) -> bytes:
    """The members (each a ``.keras`` file's bytes), each on the images and their shifts,
    averaged into one model; its ``.keras`` bytes."""
    import keras  # Lazy: this runs where the members trained, not in the driver.

    with tempfile.TemporaryDirectory() as folder:
        members = []
        for index, payload in enumerate(member_models):
            path = Path(folder) / f"member_{index}.keras"
            path.write_bytes(payload)
            member = keras.saving.load_model(path, compile=False)
            member.name = f"member_{index}"  # the members share their builder's name; a model's layers may not
            members.append(member)
        images = keras.Input(shape=tuple(members[0].inputs[0].shape[1:]), name="images")
        views = [images if (rows, columns) == (0, 0) else shift_layer(rows, columns)(images)
                 for rows, columns in SHIFTS]
        probabilities = keras.layers.Average(name="mean_probabilities")(
            [member(view) for member in members for view in views])
        ensemble = keras.Model(images, probabilities, name=ENSEMBLE_MODEL_NAME)
        path = Path(folder) / "ensemble.keras"
        ensemble.save(path)
        return path.read_bytes()


def _build(member_models: Sequence[bytes], threads: int) -> bytes:
    configure_tensorflow(threads=threads, use_gpu=False)
    return ensemble_model_bytes(member_models)


def build_on_cluster(member_models: Sequence[bytes], *, cpus: float) -> bytes:
    """``ensemble_model_bytes`` in a Ray task that holds ``cpus`` CPUs (no GPU: it only loads and saves)."""
    task = ray.remote(num_cpus=cpus, num_gpus=0, max_retries=1)(_build)
    return ray.get(task.remote(list(member_models), max(1, int(cpus))))
