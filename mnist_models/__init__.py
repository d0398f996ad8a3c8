"""MNIST data and Keras model builders. No Ray here."""

from mnist_models._architecture import ARCHITECTURE_DEFAULTS, ConfigError, conv_sides, parameter_count
from mnist_models._device import TEST_SEAM_ENV, DeviceError, Placement, check_placement, placement
from mnist_models._data import (
    NUM_CLASSES,
    SHIPPED_MNIST_SHA256,
    VALIDATION_SIZE,
    DataError,
    FinalSplit,
    Mnist,
    SearchSplit,
    final_split,
    load_mnist,
    scale_pixels,
    search_split,
    shipped_mnist_path,
    stratified_validation_indices,
)
from mnist_models._training_process import RECYCLE_MB, TrainingFailed, TrainingProcess
from mnist_models._training import (
    configure_tensorflow,
    fit_config,
    keras_backend,
    load_checkpoint,
    save_checkpoint,
    trial_seed,
)


def build_model(config, *, decay_steps=None):
    """Build and compile the Keras model ``config`` describes (imports Keras on first use)."""
    # Lazy: importing this package must not import Keras (seconds), which the search's driver
    # and the spaces' tests never need; only code that builds a model pays for it.
    from mnist_models._builders import build_model as _build

    return _build(config, decay_steps=decay_steps)


__all__ = [
    "ARCHITECTURE_DEFAULTS",
    "NUM_CLASSES",
    "RECYCLE_MB",
    "SHIPPED_MNIST_SHA256",
    "TEST_SEAM_ENV",
    "VALIDATION_SIZE",
    "ConfigError",
    "DataError",
    "DeviceError",
    "FinalSplit",
    "Mnist",
    "Placement",
    "SearchSplit",
    "TrainingFailed",
    "TrainingProcess",
    "build_model",
    "check_placement",
    "configure_tensorflow",
    "conv_sides",
    "final_split",
    "fit_config",
    "keras_backend",
    "load_checkpoint",
    "load_mnist",
    "parameter_count",
    "placement",
    "save_checkpoint",
    "scale_pixels",
    "search_split",
    "shipped_mnist_path",
    "stratified_validation_indices",
    "trial_seed",
]
