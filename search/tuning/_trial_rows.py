"""One row of ``trials.parquet`` per Tune trial, from Tune's trials and their results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from search._text import last_line
from search.run_folder import (
    COMPLETED,
    CUT_AT_TARGET,
    CUT_BY_BUDGET,
    DEVICE_COLUMNS,
    EARLY_STOPPED,
    FAILED,
    INTERRUPTED,
    config_columns,
)
from search.study import METRIC

ITERATION = "training_iteration"


def trial_rows(trials: Iterable[Any], results: Iterable[Any], stopped_early: set[str], *,
               interrupted: bool = False, at_target: bool = False, columns: dict[str, Any] | None = None,
               ) -> list[dict[str, Any]]:
    """One row per Tune trial: id, state, every hyperparameter, epochs, scores, node, where it
    trained (the ``device_*`` columns of its last report; None where it reported nothing) and
    how many times Tune ran it again after a failure (``retries``).

    ``trials`` are Tune's trials and ``results`` the ``Result`` objects of their
    ``ResultGrid``, paired by their trial folder;
    ``stopped_early`` holds the ids of trials that ASHA stopped before their last epoch;
    when the search was ``interrupted``, trials cut short are "interrupted" (resumable), and when
    it ended ``at_target`` (``--stop-at``) "cut_at_target", not "cut_by_budget"; a trial that
    failed but was to be run again (Tune's status not ERROR) is "interrupted" too when the
    search was, with its error kept in ``error``. ``columns`` are
    the same on every row (the run's objective and parameter budget).
    """
    by_path = {str(result.path): result for result in results}
    cut = INTERRUPTED if interrupted else (CUT_AT_TARGET if at_target else CUT_BY_BUDGET)
    rows = [{**_trial_row(trial, by_path.get(str(trial.path)), stopped_early, cut), **(columns or {})}
            for trial in trials]
    rows.sort(key=lambda row: row["trial_id"])
    return rows


def _trial_row(trial: Any, result: Any, stopped_early: set[str], cut: str) -> dict[str, Any]:
    config = dict(trial.config or (result.config if result is not None else None) or {})
    history = result.metrics_dataframe if result is not None else None
    curve = _reported(history, METRIC)
    epoch_times = _reported(history, "epoch_seconds")
    metrics = (result.metrics if result is not None else None) or {}
    error = result.error if result is not None else None
    trial_id = str(trial.trial_id)
    epochs_run = len(curve)
    planned_epochs = int(config.get("epochs", 0) or 0)
    if trial.status == "ERROR" or (error is not None and cut != INTERRUPTED):
        state = FAILED
    elif epochs_run >= planned_epochs and epochs_run > 0:
        state = COMPLETED
    elif trial_id in stopped_early:
        state = EARLY_STOPPED
    elif trial.status != "TERMINATED":
        state = INTERRUPTED
    else:
        state = cut
    best_epoch = int(max(range(epochs_run), key=curve.__getitem__)) + 1 if curve else None
    row: dict[str, Any] = {
        "trial_id": trial_id,
        "state": state,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "best_val_accuracy": max(curve) if curve else None,
        "last_val_accuracy": curve[-1] if curve else None,
        "val_accuracy_per_epoch": curve,
        "num_params": _int_or_none(metrics.get("num_params")),
        "wall_seconds": _float_or_none(metrics.get("time_total_s")),
        # The epochs alone, without the worker's start and the model's building: what a
        # retraining of the same epochs costs (the confirmation plans its budget with it).
        "training_seconds": sum(epoch_times) if epoch_times else None,
        "worker_rss_mb": _float_or_none(metrics.get("worker_rss_mb")),
        "node_id": metrics.get("node_id"),
        "node_ip": metrics.get("node_ip"),
        "error": _error_text(error) or _error_text_of(trial),
        "retries": _retries(trial),
    }
    row.update({column: metrics.get(column) for column in DEVICE_COLUMNS})
    row.update(config_columns(config))
    return row


def _retries(trial: Any) -> int:
    """How many times Tune ran the trial again after a failure: every failure it counted
    (``num_failures``: a lost node, a crash), but the last one where nothing ran after it (a
    trial that failed for good, or one still waiting for its retry when the search stopped)."""
    failures = int(getattr(trial, "num_failures", 0) or 0)
    return max(0, failures - 1) if trial.status in ("ERROR", "PENDING") else failures


def _reported(history: Any, column: str) -> list[float]:
    """One figure a trial reported, epoch by epoch (NaN left out), from its metrics table.

    An epoch reported twice (a trial run again from an older checkpoint after its driver was
    killed) counts once, with its last report."""
    if history is None or column not in getattr(history, "columns", ()):
        return []
    values = history[column].tolist()
    if ITERATION in history.columns:
        by_epoch = dict(zip(history[ITERATION].tolist(), values))
        values = [by_epoch[epoch] for epoch in sorted(by_epoch)]
    return [float(value) for value in values if value == value]


def _error_text_of(trial: Any) -> str | None:
    """The last line of the error file Tune wrote for a failed trial (plain text)."""
    error_file = getattr(trial, "error_file", None) if trial.status == "ERROR" else None
    if not error_file or not Path(error_file).is_file():
        return None
    return _error_text(RuntimeError(Path(error_file).read_text(errors="replace")))


def _error_text(error: BaseException | None) -> str | None:
    """The line of a trial's error that names it (its traceback's last)."""
    return None if error is None else last_line(error)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
