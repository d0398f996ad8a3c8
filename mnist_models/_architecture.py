"""What a configuration's model is, without building it (no Keras): its feature map sizes and its
parameter count, the same number ``keras.Model.count_params`` gives for the built model."""

from __future__ import annotations

from typing import Any, Mapping

IMAGE_SIDE = 28
CLASSES = 10
# What a configuration that lacks these keys means (configurations written before they existed,
# and spaces that do not suggest them).
ARCHITECTURE_DEFAULTS = {"head": "flatten", "separable": False, "augment": False, "batch_norm": False,
                         "label_smoothing": 0.0}


class ConfigError(ValueError):
    """A configuration that does not describe a buildable model."""


def conv_sides(config: Mapping[str, Any]) -> list[int]:
    """The side of the feature maps after each convolution block (convolution, then 2x2 pooling);
    raises ``ConfigError`` when a block would leave no pixels (three 5x5 'valid' blocks)."""
    side, sides = IMAGE_SIDE, []
    for block in range(int(config["n_blocks"])):
        kernel = int(config[f"kernel_{block}"])
        side = side - kernel + 1 if config["padding"] == "valid" else side
        side //= 2
        if side < 1:
            raise ConfigError(
                f"conv block {block} leaves no pixels ({config['n_blocks']} blocks, kernels "
                f"{[config[f'kernel_{b}'] for b in range(int(config['n_blocks']))]}, padding "
                f"{config['padding']!r}): use padding 'same' or fewer blocks"
            )
        sides.append(side)
    return sides


def parameter_count(config: Mapping[str, Any]) -> int:
    """The parameters of the model ``config`` describes, trainable or not (batch norm's moving
    statistics included), as Keras counts them."""
    family = config.get("family")
    if family == "dense":
        return _dense_parameters(config)
    if family == "cnn":
        return _cnn_parameters(config)
    raise ConfigError(f"config family is {family!r}, but must be 'dense' or 'cnn'")


def _dense_parameters(config: Mapping[str, Any]) -> int:
    batch_norm = bool(config.get("batch_norm", False))
    inputs, total = IMAGE_SIDE * IMAGE_SIDE, 0
    for layer in range(int(config["n_layers"])):
        units = int(config[f"units_{layer}"])
        total += inputs * units + (4 * units if batch_norm else units)  # batch norm replaces the bias
        inputs = units
    return total + inputs * CLASSES + CLASSES


def _cnn_parameters(config: Mapping[str, Any]) -> int:
    batch_norm = bool(config["batch_norm"])
    channels, total = 1, 0
    for block in range(int(config["n_blocks"])):
        kernel, filters = int(config[f"kernel_{block}"]), int(config[f"filters_{block}"])
        if config.get("separable", False) and block > 0:
            weights = kernel * kernel * channels + channels * filters
        else:
            weights = kernel * kernel * channels * filters
        total += weights + (4 * filters if batch_norm else filters)
        channels = filters
    side = conv_sides(config)[-1]
    head = config.get("head", "flatten")
    if head == "flatten":
        units = int(config["dense_units"])
        return total + side * side * channels * units + units + units * CLASSES + CLASSES
    if head in ("gap", "conv1x1"):
        return total + channels * CLASSES + CLASSES
    raise ConfigError(f"head is {head!r}, but must be 'flatten', 'gap' or 'conv1x1'")
