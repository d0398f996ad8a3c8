"""What a run leaves on disk: ``run.json`` and ``trials.parquet``, written atomically.

Every file is written to a temporary file beside it and renamed into place, so a kill in
the middle leaves the previous version whole.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from search.metrics import METRIC
from search.storage import mirror_file

TRIAL_STATES = ("completed", "early_stopped", "cut_by_budget", "failed", "interrupted")


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``path`` whole or not at all; a run folder mirrored to a storage URI (``--results
    s3://...``) gets the same file there too (``search.storage``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    mirror_file(path, payload)


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(document, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("ray", "tensorflow", "keras", "optuna", "numpy", "pyarrow"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def trial_rows(trials: Iterable[Any], results: Iterable[Any], stopped_early: set[str], *,
               interrupted: bool = False) -> list[dict[str, Any]]:
    """One row per Tune trial: id, state, every hyperparameter, epochs, scores, node.

    ``trials`` and ``results`` are Tune's trials and their ``Result`` objects, in the same
    order (as ``ResultGrid`` gives them); ``stopped_early`` holds the ids of trials that ASHA
    stopped before their last epoch; when the search was ``interrupted``, trials cut short
    are "interrupted" (resumable), not "cut_by_budget".
    """
    rows = [_trial_row(trial, result, stopped_early, interrupted) for trial, result in zip(trials, results)]
    rows.sort(key=lambda row: row["trial_id"])
    return rows


def _trial_row(trial: Any, result: Any, stopped_early: set[str], interrupted: bool) -> dict[str, Any]:
    config = dict(trial.config or result.config or {})
    history = result.metrics_dataframe
    curve = _reported(history, METRIC)
    epoch_times = _reported(history, "epoch_seconds")
    metrics = result.metrics or {}
    trial_id = str(trial.trial_id)
    epochs_run = len(curve)
    planned_epochs = int(config.get("epochs", 0) or 0)
    if trial.status == "ERROR" or result.error is not None:
        state = "failed"
    elif epochs_run >= planned_epochs and epochs_run > 0:
        state = "completed"
    elif trial_id in stopped_early:
        state = "early_stopped"
    elif trial.status != "TERMINATED" or interrupted:
        state = "interrupted"
    else:
        state = "cut_by_budget"
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
        # retraining of the same epochs costs (``search.confirm`` plans its budget with it).
        "training_seconds": sum(epoch_times) if epoch_times else None,
        "node_id": metrics.get("node_id"),
        "node_ip": metrics.get("node_ip"),
        "error": _error_text(result.error) or _error_text_of(trial),
    }
    for key, value in sorted(config.items()):
        row[f"hp_{key}"] = value
    return row


def _reported(history: Any, column: str) -> list[float]:
    """One figure a trial reported, epoch by epoch (NaN left out), from its metrics table."""
    if history is None or column not in getattr(history, "columns", ()):
        return []
    return [float(value) for value in history[column].tolist() if value == value]


def _error_text_of(trial: Any) -> str | None:
    """The last line of the error file Tune wrote for a failed trial (plain text)."""
    error_file = getattr(trial, "error_file", None) if trial.status == "ERROR" else None
    if not error_file or not Path(error_file).is_file():
        return None
    return _error_text(RuntimeError(Path(error_file).read_text(errors="replace")))


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip().splitlines()
    last = [line for line in text if line.strip()][-1:] or [type(error).__name__]
    return last[0][:500]


def _int_or_none(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def trials_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows -> an Arrow table; hyperparameters a trial did not use are null."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    fixed = [column for column in columns if not column.startswith("hp_")]
    hyper = sorted(column for column in columns if column.startswith("hp_"))
    ordered = fixed + hyper
    return pa.Table.from_pylist([{column: row.get(column) for column in ordered} for row in rows])
