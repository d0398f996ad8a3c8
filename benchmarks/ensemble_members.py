"""``python -m benchmarks ensemble_members RUN``: which members make the best ensemble, measured
on the search's own split (the test set is never read).

Takes run RUN's best ``--top`` distinct configurations, ranked as the confirmation ranks them,
and trains each with ``--seeds`` seeds on the run's search-training images for the epoch at
which its trial peaked (as the confirmation retrains them, but without the validation images),
two processes at a time. Each model's class probabilities on the validation images are then
averaged by each candidate rule:

- ``best config, all seeds``: the seeds of the configuration ranked first;
- ``top 3, first seed``: one model of each of the three best configurations;
- ``top K, all seeds`` for K = 3 (what a default confirmation trains) and K = ``--top``.

Every rule draws on the same configurations, chosen on the same validation images, so all are
optimistic by the same selection; the comparison between them is what this measures.

Each rule is also scored with test-time shifts: every member's probabilities averaged over the
image and its four copies shifted by one pixel (up, down, left, right; the uncovered row or
column black), which costs prediction only. ``--more-views`` also scores two larger sets of
views, each the shifts and four more: the four diagonal one-pixel shifts, or the four
two-pixel shifts up, down, left and right.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

import numpy as np

from benchmarks._errors import BenchError
from benchmarks._finished_run import finished_run
from benchmarks._output import emit, table
from benchmarks._split_workers import split_workers, worker_split
from mnist_models import PREDICTION_BATCH_SIZE, SHIFTS, fit_config, load_mnist, search_split, shifted
from search.confirmation import select_top_configurations

DEFINITIONS = {
    "val_accuracy": "accuracy on the run's validation images of the argmax of the members' averaged class "
                    "probabilities",
    "members": "models averaged by the rule",
    "single_mean": "the members' own validation accuracies, averaged",
    "val_accuracy_shifted": "val_accuracy with each member's probabilities averaged over the image and its "
                            "four one-pixel shifts",
    "single_mean_shifted": "single_mean, each member with its four one-pixel shifts",
    "members_better_shifted": "members whose own validation accuracy is higher with the shifts than without",
    "members_worse_shifted": "members whose own validation accuracy is lower with the shifts than without",
    "val_accuracy_diagonals": "val_accuracy with each member's probabilities averaged over the image, its four "
                              "one-pixel shifts and its four diagonal one-pixel shifts (--more-views)",
    "val_accuracy_two_pixels": "val_accuracy with each member's probabilities averaged over the image, its four "
                               "one-pixel shifts and its four two-pixel shifts (--more-views)",
    "members_better_diagonals": "members whose own validation accuracy is higher with the diagonals added to the "
                                "shifts than with the shifts alone (--more-views)",
    "members_worse_diagonals": "members whose own validation accuracy is lower with the diagonals added",
    "members_better_two_pixels": "members whose own validation accuracy is higher with the two-pixel shifts added",
    "members_worse_two_pixels": "members whose own validation accuracy is lower with the two-pixel shifts added",
}
# The views --more-views adds after SHIFTS, (rows down, columns right), in two sets of four.
DIAGONALS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
TWO_PIXELS = ((-2, 0), (2, 0), (0, -2), (0, 2))


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, **_: Any) -> None:
    parser.add_argument("run", metavar="RUN", help="a finished run's folder, like results/cnn-20261206-051321")
    parser.add_argument("--top", type=positive_int("--top"), default=5,
                        help="configurations to train, the best first (default 5)")
    parser.add_argument("--seeds", type=positive_int("--seeds"), default=3, help="seeds per configuration (default 3)")
    parser.add_argument("--processes", type=positive_int("--processes"), default=2,
                        help="models trained at once, one thread each (default 2)")
    parser.add_argument("--more-views", action="store_true",
                        help="also score the shifts with the four diagonal shifts, and with four two-pixel shifts")


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    finished = finished_run(args.run)
    record = finished.record
    candidates = select_top_configurations(finished.rows, args.top)
    if len(candidates) < 3:
        raise BenchError(f"the run has {len(candidates)} distinct scored configurations, fewer than 3: give a longer run")
    seeds = tuple(int(record.seed or 0) + index for index in range(args.seeds))
    views_scored = SHIFTS + (DIAGONALS + TWO_PIXELS if args.more_views else ())
    jobs = [(candidate.name, dict(candidate.config), seed, views_scored) for candidate in candidates for seed in seeds]
    data = record.data_file
    started = time.perf_counter()
    with split_workers(args.processes, data=data, seed=int(record.seed or 0), train_limit=record.train_limit) as pool:
        outputs = list(pool.map(_train, jobs))
    wall_s = time.perf_counter() - started
    views = {(name, seed): probs for (name, _, seed, _), (probs, _) in zip(jobs, outputs)}  # (views, images, classes)
    labels = _labels(data, int(record.seed or 0), record.train_limit)
    names = [candidate.name for candidate in candidates]
    rules = {
        "best config, all seeds": [(names[0], seed) for seed in seeds],
        "top 3, first seed": [(name, seeds[0]) for name in names[:3]],
        "top 3, all seeds": [(name, seed) for name in names[:3] for seed in seeds],
        f"top {len(names)}, all seeds": [(name, seed) for name in names for seed in seeds],
    }
    conditions = {"run": str(finished.folder), "top": len(names), "seeds": list(seeds), "configurations": names,
                  "validation_images": int(labels.size), "training_wall_s": round(wall_s, 1)}
    base = {"benchmark": "ensemble_members", "record": "rule", "machine": machine, "versions": versions,
            "conditions": conditions, "definitions": DEFINITIONS}
    records = [{**base, "rule": rule, "members": len(members), **_scores(members, views, labels)}
               for rule, members in rules.items()]
    text = table(("rule", "members", "val accuracy", "its members alone (mean)", "with shifts", "members alone",
                  "members better / worse"),
                 [(r["rule"], r["members"], f"{r['val_accuracy']:.4f}", f"{r['single_mean']:.4f}",
                   f"{r['val_accuracy_shifted']:.4f}", f"{r['single_mean_shifted']:.4f}",
                   f"{r['members_better_shifted']} / {r['members_worse_shifted']}") for r in records])
    if args.more_views:
        text += "\n\n" + table(
            ("rule", "with shifts", "and diagonals", "members better / worse", "and two-pixel shifts",
             "members better / worse"),
            [(r["rule"], f"{r['val_accuracy_shifted']:.4f}", f"{r['val_accuracy_diagonals']:.4f}",
              f"{r['members_better_diagonals']} / {r['members_worse_diagonals']}", f"{r['val_accuracy_two_pixels']:.4f}",
              f"{r['members_better_two_pixels']} / {r['members_worse_two_pixels']}") for r in records])
    emit(records, as_json=args.json, stream=stream,
         text=f"ensemble_members: {len(names)} configurations x {len(seeds)} seeds trained on the search split in "
              f"{wall_s:.0f} s; scored on {labels.size:,} validation images\n\n{text}")
    return 0


def _train(job: tuple[str, dict[str, Any], int, tuple[tuple[int, int], ...]]) -> tuple[np.ndarray, float]:
    _, config, seed, views = job
    split = worker_split()
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model, _ = fit_config(config, split.x_train, split.y_train, seed=seed)
    probabilities = np.stack([model.predict(shifted(split.x_val, rows, columns), batch_size=PREDICTION_BATCH_SIZE,
                                            verbose=0)
                              for rows, columns in views]).astype(np.float32)
    return probabilities, time.perf_counter() - started


def _scores(members: list[tuple[str, int]], views: dict[tuple[str, int], np.ndarray],
            labels: np.ndarray) -> dict[str, Any]:
    """A rule's figures (``DEFINITIONS``), without and with the shifts (and the larger sets of
    views where ``views`` holds them); ``views`` holds each model's probabilities on every view
    of the validation images: ``SHIFTS`` (the image first), then ``DIAGONALS`` and ``TWO_PIXELS``."""
    shifts = len(SHIFTS)
    scored = {"": {key: views[key][0] for key in members},
              "_shifted": {key: views[key][:shifts].mean(axis=0) for key in members}}
    more = len(next(iter(views.values()))) > shifts
    if more:
        extra = len(DIAGONALS)
        scored["_diagonals"] = {key: views[key][:shifts + extra].mean(axis=0) for key in members}
        scored["_two_pixels"] = {key: np.concatenate([views[key][:shifts], views[key][shifts + extra:]]).mean(axis=0)
                                 for key in members}
    figures: dict[str, Any] = {}
    for suffix, probabilities in scored.items():
        figures[f"val_accuracy{suffix}"] = _accuracy(np.mean([probabilities[key] for key in members], axis=0), labels)
        if suffix in ("", "_shifted"):
            figures[f"single_mean{suffix}"] = float(np.mean([_accuracy(probabilities[key], labels) for key in members]))
    comparisons = [("_shifted", "", "_shifted")] + ([("_diagonals", "_shifted", "_diagonals"),
                                                     ("_two_pixels", "_shifted", "_two_pixels")] if more else [])
    for name, before, after in comparisons:
        gains = [_accuracy(scored[after][key], labels) - _accuracy(scored[before][key], labels) for key in members]
        figures[f"members_better{name}"] = sum(gain > 0 for gain in gains)
        figures[f"members_worse{name}"] = sum(gain < 0 for gain in gains)
    return figures


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def _labels(data: str | None, seed: int, train_limit: int | None) -> np.ndarray:
    return np.asarray(search_split(load_mnist(data), seed, train_limit=train_limit).y_val, dtype=np.int64)
