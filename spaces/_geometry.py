"""The image a configuration's convolutions work on, and what they do to it: the side of the
image, the heads a CNN can end with, and the feature-map arithmetic. Plain Python, one
definition: the CNN space offers these heads and pads by this arithmetic, and the model
builders (``mnist_models``) build and count parameters by it, so the two cannot disagree."""

from __future__ import annotations

from typing import Sequence

IMAGE_SIDE = 28
# A CNN's heads: flatten + dense (the notebook's), global average pooling, a 1x1 convolution to
# the classes. The last two pool globally: the last block's convolutions feed them directly,
# without the 2x2 pooling every other block ends with.
HEADS = ("flatten", "gap", "conv1x1")
GLOBAL_HEADS = ("gap", "conv1x1")


class ConfigError(ValueError):
    """A configuration that does not describe a buildable model."""


def feature_map_sides(kernels: Sequence[int], *, padding: str, convs_per_block: int = 1,
                      pools_last: bool = True) -> list[int]:
    """The side of the feature maps after each convolution block: its ``convs_per_block``
    convolutions of ``kernels[block]`` (which trim ``kernel - 1`` pixels each with 'valid'
    padding), then 2x2 pooling unless it is the last block and the head pools globally
    (``pools_last`` False). Raises ``ConfigError`` when a block would leave no pixels (three
    5x5 'valid' blocks)."""
    side, sides = IMAGE_SIDE, []
    for block, kernel in enumerate(kernels):
        if padding == "valid":
            side -= convs_per_block * (int(kernel) - 1)
        if block < len(kernels) - 1 or pools_last:
            side //= 2
        if side < 1:
            raise ConfigError(
                f"conv block {block} leaves no pixels ({len(kernels)} blocks of {convs_per_block} "
                f"convolution(s), kernels {list(kernels)}, padding {padding!r}): use padding 'same' "
                f"or fewer blocks"
            )
        sides.append(side)
    return sides
