"""What the confirmation retrains: the search's best distinct configurations and the notebook's models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from search.run_folder import FAILED, config_from_row
from search.verdict import NOTEBOOK_KIND, SEARCHED_KIND
from spaces import NOTEBOOK_POINTS, notebook_config, notebook_model_of

# Seconds per epoch on all 60,000 training images with one TensorFlow thread, two jobs at a
# time on the project's 2-core CPU machine, rounded up from what two default runs' confirmations
# measured (docs/PERFORMANCE.md, "Choices measured"). Only
# for a notebook model the search did not run: to order the jobs and to fit the
# confirmation into its budget.
NOTEBOOK_EPOCH_SECONDS = {"dense_256": 1.5, "dense_deep": 3.0, "cnn_small": 6.5}
FULL_TRAIN_IMAGES = 60_000
SEARCH_TRAIN_IMAGES = 54_000  # what a search trains on when nothing else is known


@dataclass(frozen=True)
class Candidate:
    """One configuration to confirm: a searched trial's, or a notebook model's."""

    name: str  # the trial id, or the notebook model's name
    kind: str  # SEARCHED_KIND or NOTEBOOK_KIND
    config: dict[str, Any]  # full configuration; "epochs" is what confirmation trains
    trial_id: str | None = None
    best_val_accuracy: float | None = None
    search_epochs: int | None = None  # the epochs the trial was given in the search
    epoch_seconds: float | None = None  # estimated, on the confirmation's training images
    num_params: int | None = None

    @property
    def epochs(self) -> int:
        return int(self.config["epochs"])


def confirm_seeds(run_seed: int, count: int) -> tuple[int, ...]:
    """The seeds every confirmed model is trained with: the run's seed and the next ones.

    Runs with the same ``--seed`` share seeds, so the notebook models' cached measurements
    are reused by every such run.
    """
    return tuple(run_seed + index for index in range(count))


def select_top_configurations(
    rows: Iterable[Mapping[str, Any]], k: int | None, *, train_images: int | None = None,
) -> list[Candidate]:
    """The K best distinct configurations by best validation accuracy, each to be trained for
    the epoch at which its trial peaked.

    Distinct means: differing in some hyperparameter other than epochs (of two trials that
    differ only in epochs, the better one stands). Failed trials and the notebook's own
    models are not candidates (they are re-measured anyway). Ties on validation accuracy go
    to the earlier trial id. ``k=None`` ranks them all.
    """
    scored = [row for row in rows
              if row.get("best_val_accuracy") is not None and row.get("best_epoch")
              and row.get("state") != FAILED and notebook_model_of(config_from_row(row)) not in NOTEBOOK_POINTS]
    scored.sort(key=lambda row: (-float(row["best_val_accuracy"]), str(row["trial_id"])))
    chosen: list[Candidate] = []
    seen: set[tuple] = set()
    for row in scored:
        config = config_from_row(row)
        identity = tuple(sorted((key, repr(value)) for key, value in config.items() if key != "epochs"))
        if identity in seen:
            continue
        seen.add(identity)
        chosen.append(Candidate(
            name=str(row["trial_id"]),
            kind=SEARCHED_KIND,
            config={**config, "epochs": int(row["best_epoch"])},
            trial_id=str(row["trial_id"]),
            best_val_accuracy=float(row["best_val_accuracy"]),
            search_epochs=int(config.get("epochs") or row["best_epoch"]),
            epoch_seconds=epoch_seconds_from_trial(row, train_images),
            num_params=None if row.get("num_params") is None else int(row["num_params"]),
        ))
        if len(chosen) == k:
            break
    return chosen


# The order in which the front's size budgets claim a place in the confirmation (the
# budget may not hold them all): the most accurate model, then the target of a small model.
FRONT_BUDGET_ORDER = (None, 5_000, 3_000, 20_000, 2_000, 10_000, 1_000, 50_000)


def select_front_configurations(rows: Iterable[Mapping[str, Any]], *,
                                train_images: int | None = None) -> list[Candidate]:
    """For ``--objective pareto``: the distinct configurations of the validation front (none
    more accurate at its size or smaller), ranked so that the confirmation, taking them in
    order, spreads over sizes: the best within each size budget first (``FRONT_BUDGET_ORDER``),
    then the rest of the front from small to large, then every other configuration by accuracy."""
    ranked = select_top_configurations(rows, None, train_images=train_images)
    front: list[Candidate] = []
    for candidate in ranked:  # most accurate first: on the front when smaller than all before it
        if candidate.num_params is not None and all(candidate.num_params < kept.num_params for kept in front):
            front.append(candidate)
    ordered: list[Candidate] = []
    for budget in FRONT_BUDGET_ORDER:
        best = next((c for c in front if budget is None or c.num_params <= budget), None)
        if best is not None and best not in ordered:
            ordered.append(best)
    ordered += [c for c in sorted(front, key=lambda c: c.num_params) if c not in ordered]
    return ordered + [c for c in ranked if c not in ordered]


def notebook_candidates(rows: Iterable[Mapping[str, Any]] = (), *, train_images: int | None = None,
                        max_epochs: int | None = None) -> list[Candidate]:
    """The notebook's three models with their own epochs, batch sizes and optimizers
    (epochs capped at ``max_epochs`` in smoke mode only); their epoch times from the search's
    trials of them where it ran them."""
    measured = {}
    for row in rows:
        model = notebook_model_of(config_from_row(row))
        seconds = epoch_seconds_from_trial(row, train_images) if model in NOTEBOOK_POINTS else None
        if seconds:
            measured[model] = seconds
    scale = (train_images or FULL_TRAIN_IMAGES) / FULL_TRAIN_IMAGES
    return [
        Candidate(name=model, kind=NOTEBOOK_KIND, config=_capped(notebook_config(model), max_epochs),
                  epoch_seconds=measured.get(model) or NOTEBOOK_EPOCH_SECONDS[model] * scale)
        for model in NOTEBOOK_POINTS
    ]


def epoch_seconds_from_trial(row: Mapping[str, Any], train_images: int | None) -> float | None:
    """A trial's seconds per epoch in the search, scaled to the confirmation's training images.

    From the epochs' own times where the table has them: a trial's wall time also holds its
    worker's start and TensorFlow's import, which is most of a 1-epoch trial that ASHA
    stopped, and would make the budget pass over good configurations. Tables written before
    that column fall back to the wall time.
    """
    epochs = row.get("epochs_run")
    seconds = row.get("training_seconds") or row.get("wall_seconds")
    if not seconds or not epochs:
        return None
    search_images = row.get("search_train_images") or SEARCH_TRAIN_IMAGES
    return float(seconds) / int(epochs) * (train_images or FULL_TRAIN_IMAGES) / float(search_images)


def _capped(config: dict[str, Any], max_epochs: int | None) -> dict[str, Any]:
    return config if max_epochs is None else {**config, "epochs": min(int(config["epochs"]), max_epochs)}
