"""Training in a process of its own: what a trial slot trains, and memory that stays flat.

TensorFlow keeps native memory for every model a process trains (measured in
docs/PERFORMANCE.md: 18 MB a one-epoch CNN trial in a reused trial actor before this
design). The training process is recycled once it has grown ``RECYCLE_MB`` past its size
after its first model, so a trial slot's memory is bounded whatever TensorFlow keeps.
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from mnist_models import TrainingProcess, load_mnist, search_split
from mnist_models._training_process import RECYCLE_MB, TrainingFailed
from search.study import METRIC
from search.tuning._curves import SCALAR_TAGS
from spaces import notebook_config
from tests.conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data():
    split = search_split(load_mnist(), 0, train_limit=300)
    return split.x_train, split.y_train, split.x_val[:500], split.y_val[:500]


def tiny_cnn(filters: int, epochs: int = 1) -> dict:
    return {**notebook_config("cnn_small"), "filters_0": filters, "filters_1": 2 * filters, "epochs": epochs}


def test_a_model_trains_there_epoch_by_epoch_with_a_checkpoint_each(data) -> None:
    process = TrainingProcess(threads=2, use_gpu=False)
    seen, names = [], []
    try:
        process.train(tiny_cnn(4, epochs=2), data, seed=0, resume_dir=None,
                      on_epoch=lambda figures, folder: (seen.append((figures["epoch"], sorted(os.listdir(folder)))),
                                                        names.append(set(figures))))
        assert process.threads_in_use == {"intra_op": 2, "inter_op": 2}
    finally:
        process.close()
    assert seen == [(1, ["model.keras", "state.json"]), (2, ["model.keras", "state.json"])]
    # What the service reads of each epoch: the metric Optuna and ASHA rank by, TensorBoard's curves.
    assert all({METRIC, *SCALAR_TAGS, "epoch_seconds", "num_params"} <= keys for keys in names), names


def test_what_the_callback_raises_stops_the_training_and_is_raised_again(data) -> None:
    process = TrainingProcess(threads=1, use_gpu=False)

    def stop_after_first(figures: dict, folder: str) -> None:
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            process.train(tiny_cnn(4, epochs=3), data, seed=0, resume_dir=None, on_epoch=stop_after_first)
        epochs = []
        process.train(tiny_cnn(4), data, seed=0, resume_dir=None, on_epoch=lambda f, d: epochs.append(f["epoch"]))
        assert epochs == [1], "the same process goes on with the next model"
    finally:
        process.close()


def test_a_diverging_model_fails_with_its_own_error_in_one_line(data) -> None:
    process = TrainingProcess(threads=1, use_gpu=False)
    try:
        with pytest.raises(TrainingFailed, match="NonFiniteLossError: training loss became (nan|inf) in epoch 1"):
            process.train({**tiny_cnn(4), "learning_rate": 1e30}, data, seed=0, resume_dir=None,
                          on_epoch=lambda f, d: None)
    finally:
        process.close()


def test_the_process_is_recycled_once_it_has_grown(data) -> None:
    process = TrainingProcess(threads=1, use_gpu=False, recycle_mb=0.0)
    try:
        process.train(tiny_cnn(4), data, seed=0, resume_dir=None, on_epoch=lambda f, d: None)
        first = process.pid
        assert process.recycle_if_grown() and process.pid is None
        process.train(tiny_cnn(4), data, seed=0, resume_dir=None, on_epoch=lambda f, d: None)
        assert process.pid not in (None, first) and process.started == 2
    finally:
        process.close()


def test_a_slots_memory_stays_flat_over_thirty_models(data) -> None:
    """Without recycling the process grew 6-14 MB a CNN (docs/PERFORMANCE.md); recycled, it
    never holds more than RECYCLE_MB above its size after its first model plus one model."""
    process = TrainingProcess(threads=1, use_gpu=False)
    sizes = []
    try:
        for index in range(30):
            process.train(tiny_cnn(4 + index % 5), data, seed=index, resume_dir=None, on_epoch=lambda f, d: None)
            sizes.append(process.resident_mb())
            process.recycle_if_grown()
    finally:
        process.close()
    assert max(sizes[5:]) - sizes[4] < RECYCLE_MB + 60, sizes


def test_an_eagerly_built_model_leaves_little_behind_in_the_process_that_trains_it() -> None:
    """The optimizer's and metrics' variables made before the first step: a dense model left
    4.7 MB each in its process before (their traced initialisers stayed in TensorFlow's
    context), 1.4-1.9 MB after (measured over 30 models, docs/PERFORMANCE.md)."""
    code = textwrap.dedent("""
        import gc
        from mnist_models import build_model, configure_tensorflow, load_mnist, search_split
        configure_tensorflow(threads=1, use_gpu=False)
        split = search_split(load_mnist(), 0, train_limit=1500)
        config = {"family": "dense", "n_layers": 1, "units_0": 32, "dropout_0": 0.0, "activation": "relu",
                  "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 128}
        def resident():
            return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6
        sizes = []
        for _ in range(30):
            model = build_model(config)
            model.fit(split.x_train, split.y_train, batch_size=128, epochs=1, verbose=0)
            del model
            gc.collect()
            sizes.append(resident())
        print((sizes[-1] - sizes[9]) / 20)
    """)
    completed = subprocess.run([PYTHON, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert float(completed.stdout.split()[-1]) < 3.0
