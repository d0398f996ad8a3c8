"""What a configuration's model is, without building it (no Keras): its feature map sizes and its
parameter count, the same number ``keras.Model.count_params`` gives for the built model.

The image side, the heads and the feature-map arithmetic are defined once, beside the spaces
that offer them (``spaces``' geometry); the builders and the counts here follow them."""

from __future__ import annotations

from typing import Any, Mapping

from spaces import GLOBAL_HEADS, IMAGE_SIDE, ConfigError, feature_map_sides

CLASSES = 10


def convs_per_block(config: Mapping[str, Any]) -> int:
    """How many convolutions each block of a CNN has before its pooling (1: the notebook's)."""
    return int(config.get("convs_per_block", 1))


def pools_last_block(config: Mapping[str, Any]) -> bool:
    """Whether the last block ends with 2x2 pooling (a flatten head) or feeds a global one."""
    return config.get("head", "flatten") not in GLOBAL_HEADS


def conv_sides(config: Mapping[str, Any]) -> list[int]:
    """The side of the feature maps after each convolution block of ``config``
    (``feature_map_sides``); raises ``ConfigError`` when a block would leave no pixels."""
    kernels = [int(config[f"kernel_{block}"]) for block in range(int(config["n_blocks"]))]
    return feature_map_sides(kernels, padding=config["padding"], convs_per_block=convs_per_block(config),
                             pools_last=pools_last_block(config))


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
        for conv in range(convs_per_block(config)):
            if is_separable(config, block, conv):
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
    if head in GLOBAL_HEADS:
        return total + channels * CLASSES + CLASSES
    raise ConfigError(f"head is {head!r}, but must be 'flatten', 'gap' or 'conv1x1'")


def is_separable(config: Mapping[str, Any], block: int, conv: int) -> bool:
    """Whether convolution ``conv`` of block ``block`` is depthwise-separable: all of them with
    ``separable``, but the model's first, which sees one channel (no saving there)."""
    return bool(config.get("separable", False)) and (block, conv) != (0, 0)
