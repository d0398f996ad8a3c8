"""Worker processes that train models on the search's split, one thread each: each loads
the split once, when it starts (the ``ensemble_members`` and ``longer_training`` benchmarks)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from mnist_models import SearchSplit, configure_tensorflow, load_mnist, search_split

_SPLIT: SearchSplit | None = None  # this worker's copy


def split_workers(processes: int, *, data: str | None, seed: int, train_limit: int | None) -> ProcessPoolExecutor:
    """``processes`` fresh processes (spawned: none inherits this one's TensorFlow state),
    each with TensorFlow on one thread and the split of ``data`` (None: the shipped MNIST)
    that ``worker_split`` returns."""
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=_load_split,
                               initargs=(data, seed, train_limit))


def worker_split() -> SearchSplit:
    """The split this worker loaded when it started (in a ``split_workers`` process only)."""
    if _SPLIT is None:
        raise RuntimeError("worker_split() is for the processes split_workers() starts")
    return _SPLIT


def _load_split(data: str | None, seed: int, train_limit: int | None) -> None:
    global _SPLIT
    configure_tensorflow(threads=1, use_gpu=False)
    _SPLIT = search_split(load_mnist(data), seed, train_limit=train_limit)
