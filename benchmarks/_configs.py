"""The fixed CNN configurations the overhead and GPU benchmarks train (points of the cnn space).

A fixed list, so every way of running it trains the same models: the notebook's
``cnn_small`` first, then varied depths, widths, optimizers and batch sizes, one with
augmentation. Each is a full point of the space (every suggested value, no constants),
so the service's study searcher enqueues it as it is.
"""

from __future__ import annotations

from typing import Any

from spaces import NOTEBOOK_POINTS


def _cnn(n_blocks: int, filters: tuple[int, ...], kernels: tuple[int, ...], *, pooling: str, batch_norm: bool,
         dropout: float, dense_units: int, dense_dropout: float, augment: bool, optimizer: str,
         learning_rate: float, lr_schedule: str, batch_size: int) -> dict[str, Any]:
    point: dict[str, Any] = {"n_blocks": n_blocks}
    for block in range(n_blocks):
        point[f"filters_{block}"] = filters[block]
        point[f"kernel_{block}"] = kernels[block]
    point.update(pooling=pooling, batch_norm=batch_norm, dropout=dropout, dense_units=dense_units,
                 dense_dropout=dense_dropout, augment=augment, optimizer=optimizer,
                 learning_rate=learning_rate, lr_schedule=lr_schedule, batch_size=batch_size)
    return point


_NOTEBOOK = {key: value for key, value in NOTEBOOK_POINTS["cnn_small"].items() if key != "epochs"}

FIXED_CNN_POINTS: tuple[dict[str, Any], ...] = (
    _NOTEBOOK,
    _cnn(2, (32, 32), (3, 3), pooling="max", batch_norm=False, dropout=0.25, dense_units=128,
         dense_dropout=0.0, augment=False, optimizer="adam", learning_rate=1e-3, lr_schedule="cosine", batch_size=128),
    _cnn(1, (16,), (5,), pooling="max", batch_norm=True, dropout=0.1, dense_units=64,
         dense_dropout=0.2, augment=False, optimizer="rmsprop", learning_rate=1e-3, lr_schedule="constant",
         batch_size=64),
    _cnn(2, (16, 32), (3, 3), pooling="avg", batch_norm=False, dropout=0.2, dense_units=128,
         dense_dropout=0.3, augment=False, optimizer="adamw", learning_rate=3e-3, lr_schedule="cosine", batch_size=128),
    _cnn(3, (16, 32, 32), (3, 3, 3), pooling="max", batch_norm=True, dropout=0.25, dense_units=128,
         dense_dropout=0.0, augment=False, optimizer="adamw", learning_rate=2e-3, lr_schedule="constant",
         batch_size=128),
    _cnn(1, (32,), (3,), pooling="max", batch_norm=False, dropout=0.0, dense_units=256,
         dense_dropout=0.5, augment=False, optimizer="adam", learning_rate=5e-4, lr_schedule="constant",
         batch_size=256),
    _cnn(2, (24, 32), (5, 5), pooling="max", batch_norm=True, dropout=0.3, dense_units=96,
         dense_dropout=0.1, augment=True, optimizer="adam", learning_rate=1e-3, lr_schedule="cosine", batch_size=128),
    _cnn(2, (8, 16), (3, 3), pooling="max", batch_norm=False, dropout=0.1, dense_units=64,
         dense_dropout=0.0, augment=False, optimizer="rmsprop", learning_rate=5e-4, lr_schedule="constant",
         batch_size=64),
    _cnn(1, (32,), (3,), pooling="avg", batch_norm=True, dropout=0.2, dense_units=128,
         dense_dropout=0.2, augment=False, optimizer="adamw", learning_rate=1e-3, lr_schedule="cosine", batch_size=256),
    _cnn(2, (16, 32), (5, 3), pooling="max", batch_norm=True, dropout=0.3, dense_units=256,
         dense_dropout=0.3, augment=False, optimizer="adam", learning_rate=5e-3, lr_schedule="cosine", batch_size=64),
    _cnn(3, (8, 16, 32), (3, 3, 3), pooling="avg", batch_norm=False, dropout=0.1, dense_units=64,
         dense_dropout=0.0, augment=False, optimizer="adam", learning_rate=2e-3, lr_schedule="constant",
         batch_size=128),
    _cnn(2, (32, 32), (3, 3), pooling="max", batch_norm=False, dropout=0.4, dense_units=256,
         dense_dropout=0.4, augment=False, optimizer="rmsprop", learning_rate=3e-4, lr_schedule="constant",
         batch_size=128),
)


def fixed_points(count: int, *, epochs: int) -> list[dict[str, Any]]:
    """The first ``count`` fixed configurations, each set to train ``epochs`` epochs; a count
    above the list's length cycles through it again (the same configuration twice)."""
    if count < 1 or epochs < 1:
        raise ValueError(f"count is {count} and epochs {epochs}, but both must be >= 1")
    return [{**FIXED_CNN_POINTS[index % len(FIXED_CNN_POINTS)], "epochs": epochs} for index in range(count)]


def same_points(index: int, count: int, *, epochs: int) -> list[dict[str, Any]]:
    """``count`` copies of the fixed configuration at ``index``, each set to train ``epochs``
    epochs: the same work per trial whatever the count (the GPU benchmark compares counts)."""
    if not 0 <= index < len(FIXED_CNN_POINTS):
        raise ValueError(f"configuration {index} is not in the fixed list: give 0 to {len(FIXED_CNN_POINTS) - 1}")
    return [{**FIXED_CNN_POINTS[index], "epochs": epochs} for _ in range(count)]


def point_index(config: dict[str, Any], points: list[dict[str, Any]]) -> int | None:
    """The position in ``points`` of the first point ``config`` agrees with on every key."""
    for index, point in enumerate(points):
        if all(config.get(key) == value for key, value in point.items()):
            return index
    return None
