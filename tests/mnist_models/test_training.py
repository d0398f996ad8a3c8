"""Training a configuration: seeded, reproducible on CPU, threads matched to the trial."""

from __future__ import annotations

import numpy as np

from mnist_models import fit_config, load_mnist, search_split, trial_seed
from spaces import notebook_config


def test_the_trial_seed_depends_on_the_run_seed_and_the_configuration() -> None:
    config = notebook_config("cnn_small")
    assert trial_seed(0, config) == trial_seed(0, dict(config))
    assert trial_seed(0, config) != trial_seed(1, config)
    assert trial_seed(0, config) != trial_seed(0, {**config, "learning_rate": 0.002})


def test_re_running_a_configuration_gives_the_same_curve() -> None:
    split = search_split(load_mnist(), seed=0, train_limit=1_000)
    config = dict(notebook_config("cnn_small"), epochs=2, batch_size=64)
    seed = trial_seed(0, config)
    val = (split.x_val[:500], split.y_val[:500])
    _, first = fit_config(config, split.x_train, split.y_train, seed=seed, validation_data=val)
    _, second = fit_config(config, split.x_train, split.y_train, seed=seed, validation_data=val)
    assert first.history["val_accuracy"] == second.history["val_accuracy"]
    assert np.allclose(first.history["loss"], second.history["loss"], rtol=0, atol=0)


def test_the_curve_is_the_one_keras_gives_for_the_same_arrays_and_no_warning_is_raised() -> None:
    """fit_config feeds Keras's own tf.data pipeline with autotuning off (its tuning thread
    stalled the end of fit by seconds on a busy machine): same batches, same order, same curve."""
    import warnings

    import keras

    from mnist_models._builders import build_model

    split = search_split(load_mnist(), seed=0, train_limit=1_000)
    # 1,000 / 48 leaves a partial batch; cosine decay counts the steps.
    config = dict(notebook_config("cnn_small"), epochs=2, batch_size=48, lr_schedule="cosine")
    val = (split.x_val[:700], split.y_val[:700])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, ours = fit_config(config, split.x_train, split.y_train, seed=7, validation_data=val)
    keras.utils.set_random_seed(7)
    model = build_model(config, decay_steps=2 * 21)
    keras_own = model.fit(split.x_train, split.y_train, batch_size=48, epochs=2, validation_data=val,
                          validation_batch_size=1024, verbose=0)
    assert ours.history["val_accuracy"] == keras_own.history["val_accuracy"]
    assert ours.history["loss"] == keras_own.history["loss"]


def test_a_model_trained_with_label_smoothing_resumes_from_its_checkpoint_and_loads_with_plain_keras(tmp_path) -> None:
    """Label smoothing is the project's own loss class. A fresh process resuming a trial loads
    its checkpoint before it builds any model; a user loads the saved model with Keras alone.
    Both are fresh processes here, as they are in a search and on the user's side."""
    import os
    import subprocess
    import textwrap

    from tests.conftest import PROJECT_ROOT, PYTHON

    save = textwrap.dedent(f"""
        from pathlib import Path
        from mnist_models import fit_config, load_mnist, save_for_plain_keras, search_split
        from mnist_models._training import save_checkpoint
        split = search_split(load_mnist(), 0, train_limit=300)
        config = {{"family": "dense", "n_layers": 1, "units_0": 16, "dropout_0": 0.0, "activation": "relu",
                  "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 64,
                  "label_smoothing": 0.1, "epochs": 1}}
        model, _ = fit_config(config, split.x_train, split.y_train, seed=0)
        save_checkpoint(model, Path({str(tmp_path)!r}), epochs_done=1)
        save_for_plain_keras(model, Path({str(tmp_path)!r}) / "plain.keras")
    """)
    resume = textwrap.dedent(f"""
        from pathlib import Path
        from mnist_models._training import load_checkpoint
        model, epochs_done = load_checkpoint(Path({str(tmp_path)!r}))
        assert epochs_done == 1 and model.loss.smoothing == 0.1, model.loss
    """)
    plain = textwrap.dedent(f"""
        import sys
        import keras, numpy as np
        model = keras.saving.load_model({str(tmp_path / "plain.keras")!r})
        assert not any(name.startswith("mnist_models") for name in sys.modules)
        loss, accuracy = model.evaluate(np.zeros((4, 28, 28), "float32"), np.zeros(4, "int64"), verbose=0)
        assert 0 <= accuracy <= 1 and loss > 0
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for code in (save, resume, plain):
        completed = subprocess.run([PYTHON, "-c", code], cwd=tmp_path if code is plain else PROJECT_ROOT, env=env,
                                   capture_output=True, text=True, timeout=180)
        assert completed.returncode == 0, completed.stderr[-2000:]
