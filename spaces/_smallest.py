"""The smallest models a space can build: one configuration per structural choice, every width
at its lowest. Their parameter counts bound ``--max-params`` from below."""

from __future__ import annotations

import itertools
from typing import Any, Iterator

from spaces._geometry import HEADS
from spaces._cnn import FILTERS_RANGE, MAX_CONV_BLOCKS, MAX_CONVS_PER_BLOCK, SMALL_FILTERS_RANGE
from spaces._dense import MAX_HIDDEN_LAYERS
from spaces._registry import config_from_point

# Budgets of model size, in parameters, that a user choosing a model weighs: the report's size
# table gives the best confirmed model within each, and --objective pareto's ASHA compares
# trials only within the band between two of them.
SIZE_BUDGETS = (1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 50_000)

_TRAINING = {"optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 32, "epochs": 1}


def smallest_candidates(space_name: str, *, size_aware: bool) -> Iterator[dict[str, Any]]:
    """Full configurations of ``space_name``: every structure (blocks, kernels, head, ...) with
    its widths at their lowest; the smallest model the space can build is among them."""
    if space_name == "dense":
        for layers in range(1, MAX_HIDDEN_LAYERS + 1):
            point = {"n_layers": layers, **{f"units_{n}": 32 for n in range(layers)},
                     **{f"dropout_{n}": 0.0 for n in range(layers)}, "activation": "relu", "batch_norm": False,
                     "augment": False, "label_smoothing": 0.0, **_TRAINING}
            yield config_from_point("dense", point, max_epochs=1)
        return
    low = (SMALL_FILTERS_RANGE if size_aware else FILTERS_RANGE)[0]
    structures = itertools.product(range(1, MAX_CONVS_PER_BLOCK + 1) if size_aware else (1,),
                                   HEADS if size_aware else ("flatten",), (False, True) if size_aware else (None,))
    for convs, head, separable in structures:
        for blocks in range(1, MAX_CONV_BLOCKS + 1):
            for kernels in itertools.product((3, 5), repeat=blocks):
                if separable and blocks == 1 and convs == 1:
                    continue  # nothing to make separable: the model's first convolution never is
                point = {"n_blocks": blocks, **{f"filters_{b}": low for b in range(blocks)},
                         **{f"kernel_{b}": k for b, k in enumerate(kernels)}, "pooling": "max",
                         "batch_norm": False, "dropout": 0.0, "augment": False, **_TRAINING}
                if size_aware:
                    point.update(convs_per_block=convs, head=head)
                    if blocks > 1 or convs > 1:
                        point["separable"] = separable
                if head == "flatten":
                    point.update(dense_units=32, dense_dropout=0.0)
                yield config_from_point("cnn", point, max_epochs=1, size_aware=size_aware)
