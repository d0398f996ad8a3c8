"""MNIST data and Keras model builders. No Ray here."""

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
from mnist_models._training import configure_tensorflow, count_parameters, fit_config, trial_seed


def build_model(config, *, decay_steps=None):  # noqa: D401 - thin lazy wrapper
    """Build and compile the Keras model ``config`` describes (imports Keras on first use)."""
    from mnist_models._builders import build_model as _build

    return _build(config, decay_steps=decay_steps)


__all__ = [
    "NUM_CLASSES",
    "SHIPPED_MNIST_SHA256",
    "VALIDATION_SIZE",
    "DataError",
    "FinalSplit",
    "Mnist",
    "SearchSplit",
    "build_model",
    "configure_tensorflow",
    "count_parameters",
    "final_split",
    "fit_config",
    "load_mnist",
    "scale_pixels",
    "search_split",
    "shipped_mnist_path",
    "stratified_validation_indices",
    "trial_seed",
]
