"""What every benchmark arm shares: the data split, the clock, the per-trial records and the
per-epoch guard of the in-process peers. No Ray and no Keras here: each arm's process
imports only what its own peer uses (``_service_arms``, ``_plain_arms``).

Every arm returns plain values (JSON): phase times, and one entry per trial with its epoch
seconds and validation accuracies. Times ``*_at`` are seconds since the parent spawned the
process (``spec["spawned_at"]``, a ``time.time()``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from mnist_models import load_mnist, search_split
from benchmarks._configs import point_index
from search.run_folder import load_record
from search.study import WarmStart, load_warm_start
from spaces import parameter_names


class SearchOver(BaseException):
    """Raised from an epoch callback to end a peer's search at once (target reached or cap
    passed). A BaseException, so Optuna and KerasTuner let it through instead of recording a
    failed trial and carrying on."""


def split_of(spec: dict[str, Any]):
    return search_split(load_mnist(spec.get("data")), int(spec["seed"]), train_limit=spec.get("train_limit"))


def warm_start_of(folder: Path, *, space: str, max_epochs: int) -> WarmStart:
    """What ``search.run --warm-start`` reads from the earlier run in ``folder`` (raises
    ``WarmStartError`` for a run that cannot be started from, ``RunFileError`` for a damaged
    run.json)."""
    return load_warm_start([(folder.name, folder, load_record(folder).to_json())], space=space, objective="accuracy",
                           parameter_names=parameter_names(space, max_epochs=max_epochs))


def since(spec: dict[str, Any]) -> float:
    return time.time() - float(spec["spawned_at"])


def trial_records(results: list[dict[str, Any]], points: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Results as Tune reported them (one per epoch) -> one record per trial."""
    trials: dict[str, dict[str, Any]] = {}
    for result in results:
        trial = trials.setdefault(result["trial_id"], {
            "trial_id": result["trial_id"], "config": result["config"],
            "config_index": point_index(result["config"], points) if points else None,
            "epoch_seconds": [], "val_accuracy": [], "ended_at": []})
        trial["epoch_seconds"].append(result["epoch_seconds"])
        trial["val_accuracy"].append(result["val_accuracy"])
        trial["ended_at"].append(result["at"])
    return list(trials.values())


def plain_values(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if isinstance(value, (str, int, float, bool))}


def target_outcome(spec: dict[str, Any], reached_at: float | None, trials: list[dict[str, Any]],
                    **extra: Any) -> dict[str, Any]:
    scores = [score for trial in trials for score in trial["val_accuracy"] if score == score]
    return {"reached": reached_at is not None and reached_at <= float(spec["cap_s"]),
            "time_to_target_s": reached_at, "ended_at": since(spec), "trials_started": len(trials),
            "epochs_trained": sum(len(trial["val_accuracy"]) for trial in trials),
            "best_val_accuracy": max(scores, default=None), "trials": trials, **extra}


def epoch_guard(spec: dict[str, Any], trials: list[dict[str, Any]],
                 also: Callable[[int, float], None] | None = None):
    """The per-epoch hook of the in-process peers: record the epoch, end the search when it
    reaches the target or the cap has passed, then let ``also`` (pruning) decide."""
    target, cap_s = float(spec["target"]), float(spec["cap_s"])
    state: dict[str, float | None] = {"reached_at": None}

    def on_epoch(epoch: int, accuracy: float, ended: float) -> None:
        at = ended - float(spec["spawned_at"])
        trials[-1]["val_accuracy"].append(accuracy)
        trials[-1]["ended_at"].append(at)
        if accuracy >= target:
            state["reached_at"] = at
            raise SearchOver("target reached")
        if at >= cap_s:
            raise SearchOver("cap passed")
        if also is not None:
            also(epoch, accuracy)

    return on_epoch, state
