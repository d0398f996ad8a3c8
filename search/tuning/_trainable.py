"""The Ray Tune trainable: train one configuration, report every epoch.

The trainable is handed a ``SearchSplit`` only (training and validation images): the
test set never reaches a search trial.
"""

from __future__ import annotations

from typing import Any

import ray

from mnist_models import SearchSplit, configure_tensorflow, fit_config, trial_seed


def train_trial(
    config: dict[str, Any], *, split: SearchSplit, run_seed: int, threads: int, use_gpu: bool
) -> None:
    """Train ``config`` on ``split`` and report validation accuracy to Tune each epoch."""
    configure_tensorflow(threads=threads, use_gpu=use_gpu)
    # Lazy: the reporter imports Keras, which the driver (which imports this module to hand
    # the function to Tune) must not pay for; a reused trial actor imports it once.
    from search.tuning._epoch_reporter import EpochReporter

    reporter = EpochReporter(node_id=ray.get_runtime_context().get_node_id())
    fit_config(
        config,
        split.x_train,
        split.y_train,
        seed=trial_seed(run_seed, config),
        validation_data=(split.x_val, split.y_val),
        callbacks=[reporter],
    )
