"""The service's search spaces, asked through KerasTuner's hyperparameters.

A space of ``spaces/`` is a define-by-run function that only calls ``trial.suggest_*``;
``KerasTunerTrial`` answers those calls with KerasTuner's ``hp.Int``/``hp.Float``/``hp.Choice``,
so KerasTuner searches exactly the service's space (same names, ranges, scales and
conditional parameters) with no second copy to keep in step. KerasTuner's Hyperband decides
the epochs itself, so ``epochs`` is answered with its maximum and not searched; KerasTuner
has no way to start from given points, so the notebook's model is not tried first.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import keras
import keras_tuner

from mnist_models import build_model, trial_seed
from spaces import get_space

EPOCHS = "epochs"


class KerasTunerTrial:
    """Enough of ``optuna.Trial`` for a define-by-run space: each suggestion becomes a
    KerasTuner hyperparameter of the same name and range."""

    def __init__(self, hp: keras_tuner.HyperParameters) -> None:
        self.hp = hp
        self.params: dict[str, Any] = {}

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        if name == EPOCHS:
            value = high  # Hyperband sets the epochs.
        else:
            value = self.hp.Int(name, low, high, step=None if log else step, sampling="log" if log else "linear")
        self.params[name] = value
        return value

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        value = self.hp.Float(name, low, high, step=step, sampling="log" if log else "linear")
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        value = self.hp.Choice(name, list(choices))
        self.params[name] = value
        return value


def config_from_hp(space: str, hp: keras_tuner.HyperParameters, *, max_epochs: int) -> dict[str, Any]:
    """The configuration (suggested values and constants) ``space`` gives for ``hp``."""
    trial = KerasTunerTrial(hp)
    constants = get_space(space, max_epochs=max_epochs)(trial)
    return {**trial.params, **constants}


def hypermodel(space: str, *, run_seed: int, max_epochs: int, train_images: int,
               on_trial: Callable[[dict[str, Any]], None] | None = None) -> keras_tuner.HyperModel:
    """A HyperModel building ``space``'s models with ``mnist_models``, each seeded like a
    service trial and trained on ``train_images`` images; the batch size comes from the
    hyperparameters."""
    class SpaceHyperModel(keras_tuner.HyperModel):
        def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
            config = config_from_hp(space, hp, max_epochs=max_epochs)
            if on_trial is not None:
                on_trial(config)
            keras.utils.set_random_seed(trial_seed(run_seed, config))
            # Hyperband picks the epochs itself: a cosine schedule decays over the most a trial
            # may train (max_epochs on the search's training images), as fit_config's would.
            steps = max_epochs * math.ceil(train_images / int(config["batch_size"]))
            return build_model(config, decay_steps=steps)

        def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)

    return SpaceHyperModel()
