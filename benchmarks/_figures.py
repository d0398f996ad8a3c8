"""The arithmetic of the benchmarks, on plain numbers (tested with made-up figures).

Every figure a benchmark prints is computed here from measured times, so its definition
is written down once, next to the formula.
"""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence


def median(values: Iterable[float]) -> float:
    """The median of ``values``; NaN when there are none."""
    values = [float(value) for value in values]
    return statistics.median(values) if values else math.nan


def spread(values: Iterable[float]) -> tuple[float, float]:
    """(lowest, highest) of ``values``; (NaN, NaN) when there are none."""
    values = [float(value) for value in values]
    return (min(values), max(values)) if values else (math.nan, math.nan)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else math.nan


def overhead_per_trial(*, wall_s: float, concurrency: int, training_s: float, trials: int) -> float:
    """Seconds of a trial slot spent on anything but training, per trial.

    ``concurrency`` trials run side by side, so the search offers ``wall_s * concurrency``
    slot-seconds; ``training_s`` of them (the sum, over every trial, of its reported epoch
    times) went to training. The rest (start-up of the workers, model building, reporting,
    scheduling, slots left idle while the last trials finish) is overhead, shared by the
    ``trials``. A sequential loop is the case ``concurrency=1``.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency is {concurrency}, but must be >= 1")
    if trials < 1:
        raise ValueError(f"trials is {trials}, but must be >= 1")
    return (wall_s * concurrency - training_s) / trials


def share(part: float, whole: float) -> float:
    """``part`` as a fraction of ``whole`` (NaN when ``whole`` is not positive)."""
    return ratio(part, whole)


def cpu_shares(*, workers_s: float, ray_s: float, busy_s: float, capacity_s: float) -> dict[str, float]:
    """Where the machine's CPU time went over one interval.

    ``capacity_s`` is wall time × CPUs (every core's time, idle included); ``busy_s`` the part
    not idle (from /proc/stat); ``workers_s`` the CPU time of the trial worker processes and
    ``ray_s`` that of the driver and Ray's own processes. What is busy but neither is
    other programs on the machine (``others``). ``workers_of_available`` leaves those
    others out: the share the trials got of the CPU time the search could have used.
    """
    others_s = max(0.0, busy_s - workers_s - ray_s)
    return {
        "workers": share(workers_s, capacity_s),
        "ray_and_driver": share(ray_s, capacity_s),
        "others": share(others_s, capacity_s),
        "idle": share(max(0.0, capacity_s - busy_s), capacity_s),
        "workers_of_available": share(workers_s, capacity_s - others_s),
    }


def epochs_per_minute(*, epochs: int, wall_s: float) -> float:
    return ratio(epochs * 60.0, wall_s)


def first_reaching(times_and_scores: Sequence[tuple[float, float]], target: float) -> float | None:
    """The earliest time at which a score reached ``target``; None if none did."""
    reached = [time for time, score in times_and_scores if score >= target]
    return min(reached) if reached else None


def trial_spans(trials: Sequence[dict]) -> list[tuple[float, float]]:
    """(start, end) of each trial's training: the end of its last epoch, and the start of its
    first one (that epoch's end minus its seconds). Times are each epoch's ``ended_at``."""
    spans = []
    for trial in trials:
        if trial["epoch_seconds"]:
            spans.append((trial["ended_at"][0] - trial["epoch_seconds"][0], trial["ended_at"][-1]))
    return sorted(spans)


def slot_gaps(spans: Sequence[tuple[float, float]], concurrency: int) -> list[float]:
    """Seconds a trial slot waited between one trial's last epoch and the next trial's first.

    Trials are laid on ``concurrency`` slots in order of start, each on the slot that freed
    up last before it began (the first ``concurrency`` trials open the slots and have no gap).
    The gaps are the steady per-trial cost: model building, the fit's set-up, reporting,
    scheduling and the searcher's suggestion, without the start-up of the workers.
    """
    slot_ends: list[float] = []
    gaps = []
    for start, end in sorted(spans):
        if len(slot_ends) < concurrency:
            slot_ends.append(end)
            continue
        free = [index for index, slot_end in enumerate(slot_ends) if slot_end <= start + 1e-6]
        if not free:  # Overlaps every slot (timing noise): take the one that ends first.
            free = [min(range(len(slot_ends)), key=slot_ends.__getitem__)]
        slot = max(free, key=slot_ends.__getitem__)
        gaps.append(max(0.0, start - slot_ends[slot]))
        slot_ends[slot] = end
    return gaps
