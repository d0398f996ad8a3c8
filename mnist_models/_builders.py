"""Keras models built from plain configuration values (the contract with ``spaces/``)."""

from __future__ import annotations

from typing import Any, Mapping

import keras
import numpy as np
from keras import layers

from mnist_models._architecture import ConfigError, conv_sides, convs_per_block, is_separable, pools_last_block
from mnist_models._data import IMAGE_SHAPE, NUM_CLASSES

AUGMENT_SHIFT = 0.1  # fraction of the image: up to about 3 pixels
AUGMENT_ROTATION = 0.05  # fraction of a full turn: up to 18 degrees
# Run 8 training steps per call into TensorFlow: less time per epoch on one CPU thread, the
# same accuracy (docs/PERFORMANCE.md, "Choices measured").
STEPS_PER_EXECUTION = 8


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
    smoothing = float(config.get("label_smoothing", 0.0))
    model.compile(
        optimizer=make_optimizer(config["optimizer"], learning_rate_of(config, decay_steps)),
        loss=SmoothedSparseCrossentropy(smoothing) if smoothing > 0 else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    _create_training_variables(model)
    return model


@keras.saving.register_keras_serializable(package="mnist_models")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy with label smoothing for integer labels (Keras's sparse loss has none): the
    true class's target is 1 - smoothing + smoothing / 10, every other class's smoothing / 10."""

    def __init__(self, smoothing: float = 0.0, name: str = "smoothed_sparse_crossentropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        log_p = keras.ops.log(keras.ops.clip(y_pred, 1e-7, 1.0 - 1e-7))
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1, 1)), "int32")
        true_class = -keras.ops.squeeze(keras.ops.take_along_axis(log_p, labels, axis=-1), axis=-1)
        return (1.0 - self.smoothing) * true_class + self.smoothing * -keras.ops.mean(log_p, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "smoothing": self.smoothing}


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


def _augmentation() -> list[layers.Layer]:
    """Light augmentation of (28, 28, 1) images, active only while training."""
    return [layers.RandomTranslation(AUGMENT_SHIFT, AUGMENT_SHIFT, fill_mode="constant"),
            layers.RandomRotation(AUGMENT_ROTATION, fill_mode="constant")]


def _build_dense(config: Mapping[str, Any]) -> keras.Model:
    model_layers: list[layers.Layer] = [keras.Input(shape=IMAGE_SHAPE)]
    if config.get("augment", False):
        model_layers += [layers.Reshape((*IMAGE_SHAPE, 1)), *_augmentation()]
    model_layers.append(layers.Flatten())
    batch_norm = bool(config.get("batch_norm", False))
    for layer in range(int(config["n_layers"])):
        units = int(config[f"units_{layer}"])
        if batch_norm:
            model_layers += [layers.Dense(units, use_bias=False), layers.BatchNormalization(),
                             layers.Activation(config["activation"])]
        else:
            model_layers.append(layers.Dense(units, activation=config["activation"]))
        dropout = float(config[f"dropout_{layer}"])
        if dropout > 0:
            model_layers.append(layers.Dropout(dropout))
    model_layers.append(layers.Dense(NUM_CLASSES, activation="softmax"))
    return keras.Sequential(model_layers, name="dense")


def _build_cnn(config: Mapping[str, Any]) -> keras.Model:
    model_layers: list[layers.Layer] = [keras.Input(shape=IMAGE_SHAPE), layers.Reshape((*IMAGE_SHAPE, 1))]
    if config["augment"]:
        model_layers += _augmentation()
    padding = config["padding"]
    pooling = layers.MaxPooling2D if config["pooling"] == "max" else layers.AveragePooling2D
    conv_sides(config)  # refuses blocks that leave no pixels
    blocks = int(config["n_blocks"])
    for block in range(blocks):
        kernel, filters = int(config[f"kernel_{block}"]), int(config[f"filters_{block}"])
        for conv in range(convs_per_block(config)):
            convolution = layers.SeparableConv2D if is_separable(config, block, conv) else layers.Conv2D
            if config["batch_norm"]:
                model_layers += [
                    convolution(filters, kernel, padding=padding, use_bias=False),
                    layers.BatchNormalization(),
                    layers.Activation("relu"),
                ]
            else:
                model_layers.append(convolution(filters, kernel, padding=padding, activation="relu"))
        if block < blocks - 1 or pools_last_block(config):
            model_layers.append(pooling(2))
    if float(config["dropout"]) > 0:
        model_layers.append(layers.Dropout(float(config["dropout"])))
    return keras.Sequential(model_layers + _cnn_head(config), name="cnn")


def _cnn_head(config: Mapping[str, Any]) -> list[layers.Layer]:
    """flatten: Flatten, a dense layer, the classifier (the notebook's); gap: global average
    pooling, the classifier; conv1x1: a 1x1 convolution to the 10 classes, then global average
    pooling (no dense layer at all)."""
    head = config.get("head", "flatten")
    if head == "flatten":
        model_layers = [layers.Flatten(), layers.Dense(int(config["dense_units"]), activation="relu")]
        if float(config["dense_dropout"]) > 0:
            model_layers.append(layers.Dropout(float(config["dense_dropout"])))
        return model_layers + [layers.Dense(NUM_CLASSES, activation="softmax")]
    if head == "gap":
        return [layers.GlobalAveragePooling2D(), layers.Dense(NUM_CLASSES, activation="softmax")]
    if head == "conv1x1":
        return [layers.Conv2D(NUM_CLASSES, 1), layers.GlobalAveragePooling2D(), layers.Activation("softmax")]
    raise ConfigError(f"head is {head!r}, but must be 'flatten', 'gap' or 'conv1x1'")
