"""The runs in a results folder (``python -m search.runs``), one line each.

For every ``RESULTS/NAME/run.json``: name, space, objective and parameter budget, start time, trials, best validation
accuracy, best confirmed test accuracy and verdict (where the run was confirmed), state
(finished, interrupted, failed, running, or "driver gone": it says running but its driver
died, see ``run_folder.driver_gone``; ``--resume`` continues it), and where its trials trained
("CPU", "NVIDIA A10G"). Reads JSON and Parquet only: nothing in a results
folder is unpickled or executed. A storage URI (``s3://``, ``gs://``, ``file://``, as
``search.run --results`` takes) is read the same way: each run's ``run.json``, Parquet files
and, for a run with neither trial table nor trial count, Tune's ``result.json`` files are
downloaded into a temporary folder first.

Where the figures come from, first found wins:
- trials and best validation accuracy: ``trials.parquet``; else ``run.json`` (``trials``,
  ``best_val_accuracy``); else, for a run still going, Tune's ``tune/*/result.json`` lines;
- where the trials trained: the ``device`` column of ``trials.parquet``; else ``run.json``'s
  ``trial_devices``;
- best confirmed test accuracy, the ensemble's and the verdict: ``confirm.parquet`` (written by
  the confirmation): the best mean test accuracy over seeds of a searched configuration, the
  test accuracy of the ensemble of the confirmed models, and how many configurations beat the
  notebook by the rule of ``search.verdict``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from search.reporting._progress import number_or_none
from search.run_folder import (
    CONFIRM_FILE,
    RUN_FILE,
    RunRecord,
    TRIALS_FILE,
    TUNE_FOLDER,
    driver_gone,
    folder_names_at,
    is_run_folder,
    join_uri,
    load_record,
    pull_files,
    read_rows,
    trial_results,
)
from search.study import METRIC
from search.verdict import ENSEMBLE_KIND, NOTEBOOK_KIND, SEARCHED_KIND, beats_notebook, published_bar, summarize

# The columns of confirm.parquet a verdict needs (not the per-image correctness).
_CONFIRM_COLUMNS = ("name", "kind", "seed", "test_accuracy", "test_loss", "epochs", "num_params", "seconds",
                    "cached", "error")
_ROW = ("{name:<26} {space:<5} {search:<14} {started:<16} {trials:>6} {val:>8} {test:>9} {ensemble:>8}  {verdict:<12} "
        "{state:<12} {trained}")


@dataclass(frozen=True)
class RunSummary:
    name: str
    space: str
    started: str
    trials: int | None
    best_val_accuracy: float | None
    best_test_accuracy: float | None
    verdict: str | None
    state: str
    search: str = "accuracy"  # the objective, and the parameter budget if any: "pareto <=5k"
    trained: str | None = None  # where the trials trained: "CPU", "NVIDIA A10G", "CPU, NVIDIA A10G"
    ensemble_test_accuracy: float | None = None  # of the ensemble of the confirmed models


def list_runs(results: Path) -> list[RunSummary]:
    """Every run (a folder with a run.json) in ``results``, oldest first."""
    runs = [summarize_run(folder) for folder in sorted(Path(results).iterdir())
            if folder.is_dir() and is_run_folder(folder)]
    return sorted(runs, key=lambda run: (run.started, run.name))


def list_runs_at(uri: str) -> list[RunSummary]:
    """Every run (a folder with a run.json) at the storage URI ``uri``, oldest first."""
    with tempfile.TemporaryDirectory(prefix="mnist-search-runs-") as scratch:
        runs = []
        for name in folder_names_at(uri):
            folder_uri, local = join_uri(uri, name), Path(scratch, name)
            pull_files(folder_uri, local, (RUN_FILE, TRIALS_FILE, CONFIRM_FILE))
            if not (local / RUN_FILE).is_file():
                continue
            if not (local / TRIALS_FILE).is_file() and not _has_trial_count(local):
                pull_files(folder_uri, local, (), results_named=TUNE_FOLDER)
            runs.append(summarize_run(local))
    return sorted(runs, key=lambda run: (run.started, run.name))


def _has_trial_count(run_dir: Path) -> bool:
    try:
        return load_record(run_dir).trials is not None
    except (OSError, ValueError):
        return False


def summarize_run(run_dir: Path) -> RunSummary:
    try:
        record = load_record(run_dir)
    except (OSError, ValueError):
        return RunSummary(run_dir.name, "?", "?", None, None, None, None, "unreadable run.json")
    trials, best_val = _trial_figures(run_dir, record)
    trained = _trained_on(run_dir) or record.trial_devices
    best_test, ensemble, verdict = _confirmation(run_dir, threshold=published_bar(record.data_file))
    return RunSummary(
        name=str(record.name or run_dir.name),
        space=str(record.space or "?"),
        started=_local_time(record.started),
        trials=trials,
        best_val_accuracy=best_val,
        best_test_accuracy=best_test,
        verdict=verdict,
        state="driver gone" if driver_gone(record) else str(record.state or "unknown"),
        search=record.objective + (f" <={int(record.max_params) / 1000:g}k"
                                   if record.max_params is not None else "")
        + (f" {record.keras_backend}" if record.keras_backend not in (None, "tensorflow") else ""),
        trained=trained,
        ensemble_test_accuracy=ensemble,
    )


def _trial_figures(run_dir: Path, record: RunRecord) -> tuple[int | None, float | None]:
    trials_file = run_dir / TRIALS_FILE
    if trials_file.is_file():
        try:
            rows = read_rows(trials_file, columns=["trial_id", "best_val_accuracy"])
            scores = [score for row in rows if (score := number_or_none(row.get("best_val_accuracy"))) is not None]
            return len(rows), max(scores, default=None)
        except (OSError, KeyError, ValueError):
            pass
    if record.trials is not None:
        return int(record.trials), number_or_none(record.best_val_accuracy)
    return _live_trial_figures(run_dir)


def _trained_on(run_dir: Path) -> str | None:
    """The devices the run's trials trained on, from ``trials.parquet`` ("CPU", "NVIDIA A10G";
    several joined); None where no trial recorded its device (an older run, or none trained)."""
    trials_file = run_dir / TRIALS_FILE
    if not trials_file.is_file():
        return None
    try:
        devices = {row["device"] for row in read_rows(trials_file, columns=["device"]) if row.get("device")}
    except (OSError, ValueError):
        return None
    return ", ".join(sorted(str(device).removeprefix("GPU: ") for device in devices)) or None


def _live_trial_figures(run_dir: Path) -> tuple[int | None, float | None]:
    """Trials and best score of a run still going, from Tune's per-trial results."""
    if not (run_dir / TUNE_FOLDER).is_dir():
        return None, None
    trials = trial_results(run_dir)
    scores = [score for lines in trials for line in lines if (score := number_or_none(line.get(METRIC))) is not None]
    return len(trials), max(scores, default=None)


def _confirmation(run_dir: Path, *, threshold: float | None) -> tuple[float | None, float | None, str | None]:
    """Best mean test accuracy of a searched configuration, the ensemble's test accuracy, and
    the verdict: 'beats (N)' when N configurations beat the notebook by the rule of
    ``search.verdict``, else 'no'."""
    confirm_file = run_dir / CONFIRM_FILE
    if not confirm_file.is_file():
        return None, None, None
    try:
        rows = read_rows(confirm_file, columns=_CONFIRM_COLUMNS)
        summaries = summarize(rows)
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, "unreadable"
    ensemble = next((s.mean for s in summaries if s.kind == ENSEMBLE_KIND), None)
    searched = [s for s in summaries if s.kind == SEARCHED_KIND and s.mean is not None and not s.failed_seeds]
    notebook = [s for s in summaries if s.kind == NOTEBOOK_KIND and s.mean is not None]
    best = max((s.mean for s in searched), default=None)
    if not searched or not notebook:
        return best, ensemble, None
    baseline = max(s.mean for s in notebook)
    beating = sum(1 for s in searched if beats_notebook(s.accuracies, baseline, threshold=threshold))
    return best, ensemble, f"beats ({beating})" if beating else "no"


def format_runs(runs: list[RunSummary], results: Path | str) -> str:
    if not runs:
        return f"no runs in {results} (a run is a folder with a {RUN_FILE})"
    header = _ROW.format(name="name", space="space", search="search", started="started", trials="trials",
                         val="best val", test="best test", ensemble="ensemble", verdict="verdict", state="state",
                         trained="trained on")
    lines = [f"{len(runs)} run(s) in {results}", header, "-" * len(header)]
    for run in runs:
        lines.append(_ROW.format(
            name=run.name if len(run.name) <= 26 else run.name[:25] + "…",
            space=run.space[:5], search=run.search[:14], started=run.started[:16],
            trials="-" if run.trials is None else str(run.trials),
            val=_score(run.best_val_accuracy), test=_score(run.best_test_accuracy),
            ensemble=_score(run.ensemble_test_accuracy),
            verdict=(run.verdict or "-")[:12], state=run.state, trained=run.trained or "-",
        ))
    return "\n".join(lines)


def _local_time(text: Any) -> str:
    try:
        return datetime.fromisoformat(str(text)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "?"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
