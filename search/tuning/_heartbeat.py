"""The search's heartbeat in ``run.json``: how a run whose driver died is told from a running one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from search.run_folder import HEARTBEAT_INTERVAL_S, RecordWriter, now


class Heartbeat(Callback):
    """Every ``interval_s`` while Tune runs, stamps the run's record with the time (``heartbeat``)
    and the search seconds spent so far (``search_wall_s``), so that a run whose driver was
    killed (SIGKILL, a lost head node, a restarted machine) is told from a running one, and
    its resume counts the budget from what was spent.

    It holds only the run folder's path and writes through the writer open for it
    (``RecordWriter.of``): Tune pickles its callbacks with the experiment, and a resumed
    search gets this one back unpickled.
    """

    def __init__(self, run_dir: Path, *, interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self._run_dir = Path(run_dir)
        self._interval_s = interval_s
        self._started = time.monotonic()
        self._last = self._started
        self._spent_before = 0.0

    def setup(self, **info: Any) -> None:
        """Tune calls this as a search starts, and as a resumed one starts again."""
        self._started = self._last = time.monotonic()
        self._spent_before = RecordWriter.of(self._run_dir).record.search_seconds

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if time.monotonic() - self._last >= self._interval_s:
            self.beat()

    def beat(self) -> None:
        self._last = time.monotonic()
        RecordWriter.of(self._run_dir).update(
            heartbeat=now(), search_wall_s=round(self._spent_before + self._last - self._started, 1))
