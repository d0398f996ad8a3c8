"""The convolutional search space."""

from __future__ import annotations

from typing import Any, Sequence

import optuna

from spaces._common import suggest_training
from spaces._geometry import GLOBAL_HEADS, HEADS, ConfigError, feature_map_sides

MAX_CONV_BLOCKS = 3
MAX_CONVS_PER_BLOCK = 3
FILTERS_RANGE = (8, 32)
CNN_OPTIMIZERS = ("adam", "adamw", "rmsprop")
CNN_LEARNING_RATE_RANGE = (3e-4, 1e-2)
# What a size-aware search adds (--objective pareto, --max-params): fewer filters, and heads
# and convolutions that cost few parameters (every head: spaces._geometry.HEADS).
SMALL_FILTERS_RANGE = (4, 32)
# The values the size-aware keys have in a configuration without them (the notebook's model,
# and every configuration of a search for accuracy alone).
FIXED_WHEN_NOT_SIZE_AWARE = {"head": "flatten", "separable": False, "convs_per_block": 1}
# Where a size-aware search starts besides the notebook's model: small designs of the kind
# published for MNIST under 5,000 parameters (3x3 convolutions with batch norm, several to a
# block, and a global average pooling head on the last block's maps), so that the search
# begins on the small end of the front instead of waiting for TPE to find it. The designs
# measured for it: docs/PERFORMANCE.md, "Choices measured".
_SMALL_TRAINING = {"pooling": "max", "batch_norm": True, "dropout": 0.0, "augment": False, "optimizer": "adam",
                   "learning_rate": 3e-3, "lr_schedule": "cosine", "batch_size": 64, "epochs": 15}
# Where a CNN search starts besides the notebook's model: the design with the best validation
# accuracy in the earlier default-budget searches of this space (docs/PERFORMANCE.md, "Choices
# measured"), its values rounded to two figures. Searches that drew a different path settled
# on shorter, weaker configurations; from this point TPE has a strong trial from the start.
DESIGN_START_POINTS = {
    "two_blocks_5x5_3x3": {"n_blocks": 2, "filters_0": 24, "kernel_0": 5, "filters_1": 24, "kernel_1": 3,
                           "pooling": "max", "batch_norm": False, "dropout": 0.18, "dense_units": 145,
                           "dense_dropout": 0.22, "augment": False, "optimizer": "adam", "learning_rate": 3.1e-3,
                           "lr_schedule": "cosine", "batch_size": 32, "epochs": 5},
}
# A search that trains long (an epoch cap of LONG_TRAINING_MIN_EPOCHS or more: --max-epochs, or
# the longer cap of a search of an hour or more) also offers a second convolution in each block.
# It pays only with longer training: two 3x3 convolutions a block with batch norm scored higher
# on validation in 10 and 15 epochs than the space's one-convolution designs did in 12
# (docs/PERFORMANCE.md, "Choices measured"). Such a search starts from that design too.
LONG_TRAINING_MIN_EPOCHS = 10
LONG_TRAINING_CONVS_PER_BLOCK = 2
FIXED_WHEN_NOT_LONG_TRAINING = {"convs_per_block": 1}
LONG_TRAINING_START_POINTS = {
    # Two blocks of two 'valid' 3x3 convolutions (16 and 32 filters): 28 -> 24 -> 12 -> 8 -> 4. 83,610 parameters.
    "double_conv_16_32": {"n_blocks": 2, "filters_0": 16, "kernel_0": 3, "filters_1": 32, "kernel_1": 3,
                          "convs_per_block": 2, "pooling": "max", "batch_norm": True, "dropout": 0.25,
                          "dense_units": 128, "dense_dropout": 0.3, "augment": False, "optimizer": "adam",
                          "learning_rate": 2e-3, "lr_schedule": "cosine", "batch_size": 64, "epochs": 15},
}
SMALL_START_POINTS = {
    # Two blocks of three 'valid' convolutions (8 and 11 filters): 28 -> 22 -> 11 -> 5. 4,542 parameters.
    "deep_gap": {"n_blocks": 2, "filters_0": 8, "kernel_0": 3, "filters_1": 11, "kernel_1": 3, "convs_per_block": 3,
                 "head": "gap", "separable": False, **_SMALL_TRAINING},
}


def cnn_space(trial: optuna.Trial, *, max_epochs: int, size_aware: bool = False) -> dict[str, Any]:
    """1-3 convolution blocks (filters, kernel), pooling, batch norm, dropout, a dense
    layer, light augmentation on or off, and the training values.

    Every block is convolution -> [batch norm] -> ReLU -> 2x2 pooling. The ranges are sized
    for a CPU, where an epoch's cost grows with the product of neighbouring blocks' filters
    and with the image area a convolution covers:

    - 'valid' padding for one or two blocks (the notebook's); three blocks of 5x5 'valid'
      convolutions would shrink a 28x28 image to nothing, so three blocks pad 'same'.
      'same' padding on fewer blocks costs time without a better validation score.
    - Filters 8-32: wider blocks cost epoch time on a CPU.
    - Adam, AdamW, RMSprop, learning rates 3e-4 to 1e-2: SGD and lower rates were stopped at
      the first rung of the searches that tried them, so they only took time from the others
      (docs/PERFORMANCE.md, "Choices measured").
    - One convolution a block, or up to two where ``max_epochs`` allows long training
      (``LONG_TRAINING_MIN_EPOCHS``): the second pays only with the epochs to train it.

    ``size_aware`` (a search that weighs parameters too) also offers what small models need:
    filters from 4, one to three convolutions a block (depth pays more than width at a few
    thousand parameters), a head of global average pooling ('gap') or of a 1x1 convolution to
    the classes ('conv1x1') instead of flatten + dense, fed by the last block's maps without a
    2x2 pooling, and depthwise-separable convolutions for all but the model's first
    (docs/PERFORMANCE.md, "Choices measured", gives the designs measured for them).
    """
    n_blocks = trial.suggest_int("n_blocks", 1, MAX_CONV_BLOCKS)
    filters_range = SMALL_FILTERS_RANGE if size_aware else FILTERS_RANGE
    kernels = []
    for block in range(n_blocks):
        trial.suggest_int(f"filters_{block}", *filters_range, log=True)
        kernels.append(trial.suggest_categorical(f"kernel_{block}", (3, 5)))
    head, convs = "flatten", 1
    if size_aware:
        convs = trial.suggest_int("convs_per_block", 1, MAX_CONVS_PER_BLOCK)
        head = trial.suggest_categorical("head", HEADS)
        if n_blocks > 1 or convs > 1:
            trial.suggest_categorical("separable", (False, True))
    elif max_epochs >= LONG_TRAINING_MIN_EPOCHS:
        convs = trial.suggest_int("convs_per_block", 1, LONG_TRAINING_CONVS_PER_BLOCK)
    trial.suggest_categorical("pooling", ("max", "avg"))
    trial.suggest_categorical("batch_norm", (False, True))
    trial.suggest_float("dropout", 0.0, 0.5)
    if head == "flatten":
        trial.suggest_int("dense_units", 32, 256, log=True)
        trial.suggest_float("dense_dropout", 0.0, 0.5)
    trial.suggest_categorical("augment", (False, True))
    suggest_training(trial, max_epochs=max_epochs, optimizers=CNN_OPTIMIZERS,
                     learning_rate_range=CNN_LEARNING_RATE_RANGE)
    return {"family": "cnn", "padding": conv_padding(kernels, convs_per_block=convs, pools_last=head not in GLOBAL_HEADS)}


def conv_padding(kernels: Sequence[int], *, convs_per_block: int = 1, pools_last: bool = True) -> str:
    """The padding of a CNN's convolutions, which follows from its blocks: 'valid' (the
    notebook's: cheaper, each convolution trims the image) for one or two blocks, unless the
    image would shrink to nothing on the way (two blocks of three 5x5 convolutions); 'same'
    for three blocks, where 'valid' 5x5 blocks would shrink it to nothing too. The feature maps'
    sides are the arithmetic the models are built by (``feature_map_sides``)."""
    if len(kernels) >= MAX_CONV_BLOCKS:
        return "same"
    try:
        feature_map_sides(kernels, padding="valid", convs_per_block=convs_per_block, pools_last=pools_last)
    except ConfigError:
        return "same"
    return "valid"
