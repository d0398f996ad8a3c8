"""Whether the search was still improving when it ended: when its best validation accuracy last
rose, and by how much over the last third of the search.

From the results Tune wrote per trial (``tune/*/result.json``), every epoch of every trial
in the order of its time stamp: the best validation accuracy so far is a step function of the
time since the search's first trial began. A search whose best still rose over its last third
would likely gain from more budget (``--time-budget``); one that stopped rising long before its
end would not. A resumed search counts the time between its sessions too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from search.run_folder import trial_results
from search.study import METRIC

LAST_PART = 1 / 3  # "the last third of the search"


@dataclass(frozen=True)
class SearchProgress:
    best: float  # the search's best validation accuracy
    last_improved_s: float  # when the best was first reached, seconds since the search's first trial began
    span_s: float  # from the first trial's start to the last result
    best_before_last_part: float | None  # the best when the last third began; None: nothing had reported yet

    @property
    def gain_over_last_part(self) -> float | None:
        return None if self.best_before_last_part is None else self.best - self.best_before_last_part


def search_progress(run_dir: Path) -> SearchProgress | None:
    """The search's progress from its trials' results; None when there are none (Tune's folder is gone)."""
    return progress_of(trial_results(run_dir))


def progress_of(trials: Sequence[Sequence[dict[str, Any]]]) -> SearchProgress | None:
    """``search_progress`` of each trial's result lines (``timestamp``, ``time_total_s``, the metric)."""
    points: list[tuple[float, float]] = []
    starts: list[float] = []
    for lines in trials:
        for line in lines:
            score, stamp = number_or_none(line.get(METRIC)), number_or_none(line.get("timestamp"))
            if score is None or stamp is None:
                continue
            points.append((stamp, score))
            starts.append(stamp - (number_or_none(line.get("time_total_s")) or 0.0))
    if not points:
        return None
    origin = min(starts)
    points.sort()
    best, improved_at = points[0][1], points[0][0]
    for stamp, score in points:
        if score > best:
            best, improved_at = score, stamp
    span = max(stamp for stamp, _ in points) - origin
    cut = origin + span * (1 - LAST_PART)
    before = [score for stamp, score in points if stamp <= cut]
    return SearchProgress(best=best, last_improved_s=improved_at - origin, span_s=span,
                          best_before_last_part=max(before) if before else None)


def progress_line(progress: SearchProgress | None) -> str:
    """One line for the closing lines and the report."""
    if progress is None:
        return "progress: not known (Tune's per-trial results are gone)"
    line = (f"progress: the best validation accuracy ({progress.best:.4f}) was last reached "
            f"{_minutes(progress.last_improved_s)} into a search of {_minutes(progress.span_s)}")
    gain = progress.gain_over_last_part
    if gain is None:
        return line + "; nothing had reported before its last third"
    if gain > 0:
        return (line + f"; over the last third it rose by {gain:+.4f} (from {progress.best_before_last_part:.4f}): "
                       f"a longer search (--time-budget) may find more")
    return line + "; it did not rise over the last third: more budget is unlikely to pay much"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def number_or_none(value: Any) -> float | None:
    """A figure read from a file as a float; None for a missing, unreadable or NaN one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None
