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
