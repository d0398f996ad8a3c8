"""``--stop-at ACC``: the search ends as soon as a trial reaches its target."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ray import tune

from search.run_folder import RecordWriter, TargetHit, now
from search.study import METRIC


class TargetReached(tune.Stopper):
    """Ends the whole search once a result's validation accuracy is at least ``target``; the
    first such result is recorded in the run's record (``stopped_at_target``: the trial, its
    accuracy and epoch, the time and the search seconds spent then).

    It holds the run folder's path and writes through the writer open for it
    (``RecordWriter.of``), not the writer itself: Tune pickles its stopper with the
    experiment, and a resumed search gets this one back unpickled."""

    def __init__(self, run_dir: Path, target: float) -> None:
        self._run_dir = Path(run_dir)
        self.target = float(target)
        self.reached: TargetHit | None = None

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        accuracy = result.get(METRIC)
        if self.reached is None and accuracy is not None and float(accuracy) >= self.target:
            self._record(trial_id, float(accuracy), int(result.get("training_iteration") or 0))
        return False

    def stop_all(self) -> bool:
        return self.reached is not None

    def _record(self, trial_id: str, accuracy: float, epoch: int) -> None:
        writer = RecordWriter.of(self._run_dir)
        started = datetime.fromisoformat(writer.record.session_started or now())
        spent = float(writer.record.session_spent_before_s or 0.0)
        into = spent + (datetime.now(timezone.utc) - started).total_seconds()
        self.reached = TargetHit(target=self.target, trial_id=trial_id, val_accuracy=accuracy, epoch=epoch,
                                 at=now(), search_wall_s=round(into, 1))
        writer.update(stopped_at_target=self.reached)
