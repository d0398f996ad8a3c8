"""MNIST data, a configuration's parameter count (plain Python, by the geometry the spaces
define), the Keras model builders, and where a process trains. No Ray here, and no Keras
until a model is built or trained."""

from mnist_models._architecture import ConfigError, parameter_count
from mnist_models._device import TEST_SEAM_ENV, DeviceError, Placement, check_placement, placement
from mnist_models._data import DataError, FinalSplit, Mnist, SearchSplit, final_split, load_mnist, search_split
from mnist_models._training_process import TrainingProcess
from mnist_models._training import (PREDICTION_BATCH_SIZE, configure_tensorflow, fit_config, keras_backend,
                                    save_for_plain_keras, trial_seed)
from mnist_models._views import SHIFTS, shift_layer, shifted


def build_model(config, *, decay_steps=None):
    """Build and compile the Keras model ``config`` describes (imports Keras on first use)."""
    # Lazy: importing this package must not import Keras (seconds), which the search's driver
    # and the spaces' tests never need; only code that builds a model pays for it.
    from mnist_models._builders import build_model as _build

    return _build(config, decay_steps=decay_steps)


__all__ = [
    "PREDICTION_BATCH_SIZE",
    "SHIFTS",
    "TEST_SEAM_ENV",
    "ConfigError",
    "DataError",
    "DeviceError",
    "FinalSplit",
    "Mnist",
    "Placement",
    "SearchSplit",
    "TrainingProcess",
    "build_model",
    "check_placement",
    "configure_tensorflow",
    "final_split",
    "fit_config",
    "keras_backend",
    "load_mnist",
    "parameter_count",
    "placement",
    "save_for_plain_keras",
    "search_split",
    "shift_layer",
    "shifted",
    "trial_seed",
]
