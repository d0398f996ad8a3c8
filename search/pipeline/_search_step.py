"""The search step: Tune runs the trials; their rows go to ``trials.parquet``, the state to
``run.json``, and the closing table to the terminal."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray import tune

from search.pipeline._signals import fit_with_signals
from search.reporting import progress_line, search_progress, summary_table, trained_line
from search.run_folder import (RUN_FAILED, RUN_FINISHED, RUN_INTERRUPTED, STUDY_FILE, TRIALS_FILE, RecordWriter, RunRecord,
                               now, rows_table, where, where_trained, write_parquet)
from search.study import close_study_storage
from search.tuning import SearchPlan, remove_trial_checkpoints, result_grid_trials, trial_rows


class RunFailed(RuntimeError):
    """The search ran but produced nothing usable (every trial failed), or stopped at a trial
    refused its GPU; the message is the one line it ended with."""


@dataclass(frozen=True)
class SearchOutcome:
    rows: list[dict[str, Any]]
    interrupted: bool
    search_wall_s: float


def run_search(tuner: tune.Tuner, *, plan: SearchPlan, scheduler: Any, writer: RecordWriter) -> SearchOutcome:
    """Fit ``tuner``; write ``trials.parquet`` and the run's state (through ``writer``, the run's
    record open in this process); print the closing table.

    ``scheduler`` is the one the tuner runs with (its ``stopped_early`` names the trials ASHA
    stopped). A search that finished drops its trials' checkpoints (an interrupted one keeps
    them for ``--resume``). Raises ``RunFailed`` when no trial reported an epoch, or when a
    trial was refused its GPU (the tuner's ``DeviceRefusal`` stopped the search as Ctrl-C
    does and wrote the line to the record): the run is then "failed" with that line, its
    files kept, and ``--resume`` on a mended cluster goes on.
    """
    # What the heartbeat and the target's stopper read: when this session began, and what the
    # sessions before it spent.
    writer.update(session_started=now(), session_spent_before_s=writer.record.search_seconds)
    started = time.monotonic()
    try:
        grid, interrupted = fit_with_signals(tuner)
    except KeyboardInterrupt:
        record_state(writer, RUN_INTERRUPTED, started)
        raise
    except BaseException:
        record_state(writer, RUN_FAILED, started)
        raise
    reached = writer.record.stopped_at_target  # written by the target's stopper, through the same writer
    refused = writer.record.error  # written by the tuner's DeviceRefusal, through the same writer
    rows = trial_rows(result_grid_trials(grid), list(grid), getattr(scheduler, "stopped_early", set()),
                      interrupted=interrupted, at_target=reached is not None,
                      columns={"objective": plan.objective, "max_params": plan.max_params})
    write_parquet(writer.run_dir / TRIALS_FILE, rows_table(rows))
    close_study_storage(writer.run_dir / STUDY_FILE)
    if not interrupted:
        remove_trial_checkpoints(plan)
    succeeded = [row for row in rows if row["best_val_accuracy"] is not None]
    failure = refused or (None if succeeded or interrupted else _all_failed(rows))
    state = RUN_FAILED if failure else (RUN_INTERRUPTED if interrupted else RUN_FINISHED)
    search_wall_s = record_state(writer, state, started, rows=rows, error=failure)
    _print_closing(rows, search_wall_s, record=writer.record, run_dir=writer.run_dir)
    if refused:
        print(f"\nThe search stopped at a trial refused its GPU; its trials and Tune's state are kept. Once the "
              f"GPU nodes are mended, `--resume {writer.run_dir.name}` goes on.", flush=True)
    if failure:
        raise RunFailed(failure)
    return SearchOutcome(rows=rows, interrupted=interrupted, search_wall_s=search_wall_s)


def _all_failed(rows: list[dict[str, Any]]) -> str:
    first_error = next((row["error"] for row in rows if row["error"]), "no trial reported an epoch")
    return f"all {len(rows)} trials failed; the first error: {first_error}"


def _print_closing(rows: list[dict[str, Any]], search_wall_s: float, *, record: RunRecord, run_dir: Path) -> None:
    print()
    print(summary_table(rows))
    print(f"\n{len(rows)} trials, {search_wall_s:.0f} s of search; "
          + ", ".join(f"{count} {name}" for name, count in sorted(count_states(rows).items()))
          + f"; results in {where(run_dir)}")
    print(trained_line(record.trial_devices, record.trial_retries))
    print(progress_line(search_progress(run_dir)))
    reached = record.stopped_at_target
    if reached:
        print(f"the search stopped at its target: trial {reached.trial_id} reached validation accuracy "
              f"{reached.val_accuracy:.4f} (--stop-at {reached.target:g}) at epoch {reached.epoch}, "
              f"{reached.search_wall_s:.0f} s into the search")


def record_state(writer: RecordWriter, state: str, started: float, rows: list[dict] | None = None,
                 error: str | None = None) -> float:
    """Record in run.json the state, the end time and the search time spent so far (this
    session's, counted from ``started``, added to what earlier sessions spent); with the trials'
    ``rows``, what they gave, where they trained and the retries they cost; ``error``: the line
    a failed search ended with."""
    # Not the record's search_wall_s: the heartbeat has moved it on during this session.
    search_wall_s = float(writer.record.session_spent_before_s or 0.0) + (time.monotonic() - started)
    update: dict[str, Any] = {"state": state, "ended": now(), "search_wall_s": round(search_wall_s, 1)}
    if rows is not None:
        scored = [row["best_val_accuracy"] for row in rows if row["best_val_accuracy"] is not None]
        update.update(trials=len(rows), best_val_accuracy=max(scored, default=None),
                      trial_states=count_states(rows), trial_devices=where_trained(rows, noun="trial"),
                      trial_retries=sum(int(row.get("retries") or 0) for row in rows), error=error)
    writer.update(**update)
    return search_wall_s


def count_states(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def resume_command(run_dir: Path, results: str) -> str:
    return f"python -m search.run --resume {run_dir.name} --results {results}"
