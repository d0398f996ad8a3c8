"""Live progress in the terminal: a compact table that fits 100 columns.

Tune's own table shows every column; this one shows what a user watches: trials done out
of the budget, time left, the best score so far, and the running trials' main values.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ray.tune import Callback

from search.metrics import METRIC

# The hyperparameters worth a column, per space (the rest are in trials.parquet).
MAIN_HYPERPARAMETERS = {
    "cnn": ("n_blocks", "optimizer", "learning_rate", "batch_size"),
    "dense": ("n_layers", "optimizer", "learning_rate", "batch_size"),
}
REFRESH_SECONDS = 15.0


class CompactProgress(Callback):
    def __init__(self, *, space: str, num_samples: int, time_budget_s: float,
                 stream: TextIO | None = None, refresh_s: float = REFRESH_SECONDS) -> None:
        self._space = space
        self._num_samples = num_samples
        self._time_budget_s = time_budget_s
        self._stream = stream or sys.stdout
        self._refresh_s = refresh_s
        self._started = time.monotonic()
        self._last_print = 0.0
        self._last_epoch: dict[str, int] = {}
        self._last_score: dict[str, float] = {}
        self._best: tuple[float, str] | None = None
        self._finished: dict[str, str] = {}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        score = float(result.get(METRIC, float("nan")))
        self._last_epoch[trial.trial_id] = int(result.get("training_iteration", 0))
        self._last_score[trial.trial_id] = score
        if score == score and (self._best is None or score > self._best[0]):
            self._best = (score, trial.trial_id)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished[trial.trial_id] = "done"

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finished[trial.trial_id] = "failed"

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if now - self._last_print >= self._refresh_s:
            self._last_print = now
            self._print(trials)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._print(trials)

    def _print(self, trials: list) -> None:
        elapsed = time.monotonic() - self._started
        left = max(0.0, self._time_budget_s - elapsed)
        done = sum(1 for trial in trials if trial.status in ("TERMINATED", "ERROR"))
        failed = sum(1 for trial in trials if trial.status == "ERROR")
        running = [trial for trial in trials if trial.status == "RUNNING"]
        best = f"{self._best[0]:.4f} ({self._best[1]})" if self._best else "-"
        lines = [
            f"[{_clock(elapsed)} elapsed, {_clock(left)} left] trials {done}/{self._num_samples} done"
            f" ({failed} failed), {len(running)} running; best {METRIC} {best}"
        ]
        names = MAIN_HYPERPARAMETERS.get(self._space, ())
        if running:
            header = f"  {'trial':<12} {'epoch':>5} {METRIC:>12}  " + " ".join(f"{_short(n):>10}" for n in names)
            lines.append(header[:100])
            for trial in running[:8]:
                score = self._last_score.get(trial.trial_id)
                values = " ".join(f"{_fmt(trial.config.get(n)):>10}" for n in names)
                line = (f"  {trial.trial_id:<12} {self._last_epoch.get(trial.trial_id, 0):>5} "
                        f"{'-' if score is None else f'{score:.4f}':>12}  {values}")
                lines.append(line[:100])
        print("\n".join(lines), file=self._stream, flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _short(name: str) -> str:
    return {"learning_rate": "lr", "batch_size": "batch", "n_blocks": "blocks", "n_layers": "layers"}.get(name, name)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2e}" if value < 0.01 else f"{value:.3g}"
    return "-" if value is None else str(value)
