"""The run a benchmark of a run reads (``asha``, ``ensemble_members``, ``longer_training --run``)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._errors import BenchError
from search.run_folder import RUN_FILE, TRIALS_FILE, is_run_folder


def finished_run_folder(path: str) -> Path:
    """``path`` as a run folder whose search finished (it has run.json and trials.parquet);
    raises ``BenchError`` naming what it lacks otherwise."""
    run_dir = Path(path).expanduser()
    if not is_run_folder(run_dir) or not (run_dir / TRIALS_FILE).is_file():
        raise BenchError(f"{str(run_dir)!r} is not a finished run's folder (it needs {RUN_FILE} and {TRIALS_FILE}): "
                         f"give RESULTS/NAME of a run whose search finished")
    return run_dir
