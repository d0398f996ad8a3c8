"""Tune's per-trial results: ``tune/<trial folder>/result.json``, one JSON object per reported epoch.

Read as text, line by line: a line being written when the file is read (a run still going)
or a damaged one is skipped, never unpickled or executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from search.run_folder._layout import TUNE_FOLDER, TUNE_RESULT_FILE


def trial_result_files(run_dir: Path) -> list[Path]:
    """Every trial's ``result.json`` under the run's Tune folder, sorted; none when it is gone."""
    return sorted(Path(run_dir, TUNE_FOLDER).glob(f"*/{TUNE_RESULT_FILE}"))


def read_result_lines(path: Path) -> list[dict[str, Any]]:
    """The results one trial reported, in order (lines that are not a JSON object left out)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    results = []
    for line in text.splitlines():
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict):
            results.append(result)
    return results


def trial_results(run_dir: Path) -> list[list[dict[str, Any]]]:
    """For every trial folder of the run, the results it reported (a trial restarted after an
    interruption may have several folders)."""
    return [read_result_lines(path) for path in trial_result_files(run_dir)]
