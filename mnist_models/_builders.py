"""Keras models built from plain configuration values (the contract with ``spaces/``)."""

from __future__ import annotations

from typing import Any, Mapping

import keras
import numpy as np
from keras import layers

from mnist_models._data import IMAGE_SHAPE, NUM_CLASSES

AUGMENT_SHIFT = 0.1  # fraction of the image: up to about 3 pixels
AUGMENT_ROTATION = 0.05  # fraction of a full turn: up to 18 degrees
# Run 8 training steps per call into TensorFlow: measured 22-28 % less time per epoch at
# batch 32 on one CPU thread, the same accuracy (docs/PERFORMANCE.md, `search.bench levers`).
STEPS_PER_EXECUTION = 8


class ConfigError(ValueError):
    """A configuration that does not describe a buildable model."""


def build_model(config: Mapping[str, Any], *, decay_steps: int | None = None) -> keras.Model:
    """Build and compile the model that ``config`` describes (family ``dense`` or ``cnn``).

    With ``lr_schedule`` 'cosine' the learning rate decays to zero over ``decay_steps``
    optimizer steps (all of training: the caller knows the data size and the epochs).
    """
    family = config.get("family")
    if family == "dense":
        model = _build_dense(config)
    elif family == "cnn":
        model = _build_cnn(config)
    else:
        raise ConfigError(f"config family is {family!r}, but must be 'dense' or 'cnn'")
    model.compile(
        optimizer=make_optimizer(config["optimizer"], learning_rate_of(config, decay_steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    _create_training_variables(model)
    return model


def _create_training_variables(model: keras.Model) -> None:
    """Create the optimizer's and the metrics' variables now, eagerly.

    Left to the first training step, TensorFlow creates them inside the traced step, and
    the conditional initialisers it makes for them stay registered in its eager context
    after the model is gone: memory that grows with every model a process trains (a reused
    trial actor; docs/PERFORMANCE.md). Built here, the values are the same (zeros, and the
    metrics are reset), and no random number is drawn (the forward pass is in inference mode).
    """
    if keras.backend.backend() != "tensorflow":
        return
    model.optimizer.build(model.trainable_variables)
    sample = np.zeros((1, *IMAGE_SHAPE), dtype="float32")
    model.compute_metrics(sample, np.zeros((1,), dtype="int32"), model(sample, training=False), None)
    model.reset_metrics()


def learning_rate_of(config: Mapping[str, Any], decay_steps: int | None) -> Any:
    """The configured learning rate: a constant, or a cosine decay to zero over training."""
    schedule = config.get("lr_schedule", "constant")
    if schedule == "constant":
        return float(config["learning_rate"])
    if schedule == "cosine":
        if not decay_steps or decay_steps < 1:
            raise ConfigError("lr_schedule 'cosine' needs decay_steps >= 1 (the number of training steps)")
        return keras.optimizers.schedules.CosineDecay(float(config["learning_rate"]), decay_steps=int(decay_steps))
    raise ConfigError(f"lr_schedule is {schedule!r}, but must be 'constant' or 'cosine'")


def make_optimizer(name: str, learning_rate: Any) -> keras.optimizers.Optimizer:
    """Keras optimizers by name, other settings at Keras defaults (SGD with Nesterov momentum)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)
    raise ConfigError(f"optimizer is {name!r}, but must be one of adam, adamw, rmsprop, sgd")


def _build_dense(config: Mapping[str, Any]) -> keras.Model:
    model_layers: list[layers.Layer] = [keras.Input(shape=IMAGE_SHAPE), layers.Flatten()]
    for layer in range(int(config["n_layers"])):
        model_layers.append(layers.Dense(int(config[f"units_{layer}"]), activation=config["activation"]))
        dropout = float(config[f"dropout_{layer}"])
        if dropout > 0:
            model_layers.append(layers.Dropout(dropout))
    model_layers.append(layers.Dense(NUM_CLASSES, activation="softmax"))
    return keras.Sequential(model_layers, name="dense")


def _build_cnn(config: Mapping[str, Any]) -> keras.Model:
    model_layers: list[layers.Layer] = [keras.Input(shape=IMAGE_SHAPE), layers.Reshape((*IMAGE_SHAPE, 1))]
    if config["augment"]:
        # Light augmentation, active only while training.
        model_layers += [
            layers.RandomTranslation(AUGMENT_SHIFT, AUGMENT_SHIFT, fill_mode="constant"),
            layers.RandomRotation(AUGMENT_ROTATION, fill_mode="constant"),
        ]
    padding = config["padding"]
    pooling = layers.MaxPooling2D if config["pooling"] == "max" else layers.AveragePooling2D
    side = IMAGE_SHAPE[0]
    for block in range(int(config["n_blocks"])):
        kernel = int(config[f"kernel_{block}"])
        side = side - kernel + 1 if padding == "valid" else side
        side //= 2
        if side < 1:
            raise ConfigError(
                f"conv block {block} leaves no pixels ({config['n_blocks']} blocks, kernels "
                f"{[config[f'kernel_{b}'] for b in range(int(config['n_blocks']))]}, padding "
                f"{padding!r}): use padding 'same' or fewer blocks"
            )
        filters = int(config[f"filters_{block}"])
        if config["batch_norm"]:
            model_layers += [
                layers.Conv2D(filters, kernel, padding=padding, use_bias=False),
                layers.BatchNormalization(),
                layers.Activation("relu"),
            ]
        else:
            model_layers.append(layers.Conv2D(filters, kernel, padding=padding, activation="relu"))
        model_layers.append(pooling(2))
    if float(config["dropout"]) > 0:
        model_layers.append(layers.Dropout(float(config["dropout"])))
    model_layers += [layers.Flatten(), layers.Dense(int(config["dense_units"]), activation="relu")]
    if float(config["dense_dropout"]) > 0:
        model_layers.append(layers.Dropout(float(config["dense_dropout"])))
    model_layers.append(layers.Dense(NUM_CLASSES, activation="softmax"))
    return keras.Sequential(model_layers, name="cnn")
