"""The run a benchmark of a run reads (``asha``, ``ensemble_members``, ``longer_training --run``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._errors import BenchError
from search.run_folder import RUN_FILE, TRIALS_FILE, RunFileError, RunRecord, is_run_folder, load_record, read_rows


@dataclass(frozen=True)
class FinishedRun:
    """A run whose search finished: its folder, its run.json and its trials' rows."""

    folder: Path
    record: RunRecord
    rows: list[dict[str, Any]]


def finished_run(path: str) -> FinishedRun:
    """The run in folder ``path``; raises ``BenchError`` naming what it lacks, or the file
    that cannot be read, otherwise."""
    run_dir = Path(path).expanduser()
    if not is_run_folder(run_dir) or not (run_dir / TRIALS_FILE).is_file():
        raise BenchError(f"{str(run_dir)!r} is not a finished run's folder (it needs {RUN_FILE} and {TRIALS_FILE}): "
                         f"give RESULTS/NAME of a run whose search finished")
    try:
        return FinishedRun(run_dir, load_record(run_dir), read_rows(run_dir / TRIALS_FILE))
    except RunFileError as error:
        raise BenchError(f"{error}: give a run whose files are whole") from error
