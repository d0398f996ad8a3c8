"""Live progress in the terminal: a compact table that fits 100 columns.

Tune's own table shows every column of every trial; this one shows what a user watches:
trials done out of the budget, time left, the best score so far, and one row per trial
worth a look (the running ones, the ones that ended since the last table, the best one),
with its state, epoch, validation accuracy and the space's main hyperparameters::

    [2:10 elapsed, 7:50 left] trials 9/200 done, 2 running, 1 pending
      6 completed, 2 stopped by ASHA, 1 failed
      best val_accuracy so far 0.9874 (trial 3f2a9c1d, epoch 4)
    trial    state      epoch val_acc    best  model                      optimizer      lr sched batch
    3f2a9c1d running      4/6  0.9874  0.9874  conv 32-64 bn              adam      1.2e-03 cos     128

A table is printed when something changed and ``refresh_s`` (15 s) has passed since the
last one, at least every ``heartbeat_s`` (60 s), and once at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

from ray.tune import Callback

from search.study import METRIC
from spaces import describe

WIDTH = 100
REFRESH_SECONDS = 15.0
HEARTBEAT_SECONDS = 60.0
MAX_ROWS = 12

# What a trial's row says about it.
RUNNING, PENDING, COMPLETED, STOPPED, FAILED, RETRYING, CUT, UNFINISHED = (
    "running", "pending", "completed", "stopped", "failed", "retrying", "cut", "unfinished")
_ROW = ("{trial:<8} {state:<10} {epoch:>5} {score:>7} {best:>7}  {model:<26} {optimizer:<9} {lr:>7} {schedule:<5} "
        "{batch:>5}")
_SCHEDULES = {"constant": "const", "cosine": "cos"}  # the learning-rate schedule, in the row's 5 characters


class CompactProgress(Callback):
    """A Tune callback printing the compact table to ``stream`` (standard output)."""

    def __init__(self, *, space: str, num_samples: int, time_budget_s: float, stream: TextIO | None = None,
                 refresh_s: float = REFRESH_SECONDS, heartbeat_s: float = HEARTBEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._space = space
        self._num_samples = num_samples
        self._time_budget_s = time_budget_s
        self._stream = stream
        self._refresh_s = refresh_s
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._reset()

    def _reset(self) -> None:
        self._started = self._clock()
        self._last_print: float | None = None
        self._changed = True
        self._epoch: dict[str, int] = {}
        self._score: dict[str, float] = {}
        self._trial_best: dict[str, float] = {}
        self._ended: dict[str, str] = {}
        self._ended_since_print: list[str] = []
        self._best: tuple[float, str, int | None] | None = None
        self._restored_adopted = False

    # Tune's hooks -------------------------------------------------------------------------

    def setup(self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None,
              time_budget_s: Any = None, **info: Any) -> None:
        """Tune's own figures win (they are the budget it enforces, also after a resume)."""
        if isinstance(total_num_samples, int) and 0 < total_num_samples < sys.maxsize:
            self._num_samples = total_num_samples
        if time_budget_s is not None:
            self._time_budget_s = float(getattr(time_budget_s, "total_seconds", lambda: time_budget_s)())
        self._reset()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended.pop(trial.trial_id, None)
        self._changed = True

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        score = float(result.get(METRIC, float("nan")))
        epoch = int(result.get("training_iteration", 0))
        trial_id = trial.trial_id
        self._epoch[trial_id] = epoch
        self._score[trial_id] = score
        if score == score:
            self._trial_best[trial_id] = max(score, self._trial_best.get(trial_id, score))
            self._note_best(score, trial_id, epoch)
        self._changed = True

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial.trial_id, self._completion(trial))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial.trial_id, FAILED)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial.trial_id, RETRYING)

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if not self._restored_adopted:
            self._adopt_restored(trials)
        now = self._clock()
        since = None if self._last_print is None else now - self._last_print
        if since is None or (self._changed and since >= self._refresh_s) or since >= self._heartbeat_s:
            self._print(trials, now)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        now = self._clock()
        budget_spent = now - self._started >= self._time_budget_s
        for trial in trials:
            if trial.status == "ERROR" and self._ended.get(trial.trial_id) != FAILED:
                self._end(trial.trial_id, FAILED)  # failed without an error callback (actor reuse)
            elif trial.trial_id not in self._ended and trial.status == "TERMINATED":
                self._end(trial.trial_id, CUT if budget_spent else UNFINISHED)
        self._print(trials, now)

    def _adopt_restored(self, trials: list) -> None:
        """Trials that ended in an earlier session of a resumed run: Tune restores them ended, so
        no hook reports them. They count as done by the rule of ``on_trial_complete`` (ran its
        planned epochs or was stopped) and their best score joins the best so far; they are not
        listed as just ended."""
        self._restored_adopted = True
        for trial in trials:
            if trial.status not in ("TERMINATED", "ERROR") or trial.trial_id in self._ended:
                continue
            last = getattr(trial, "last_result", None) or {}
            epoch = int(last.get("training_iteration", 0) or 0)
            best = (getattr(trial, "metric_analysis", None) or {}).get(METRIC, {}).get("max", last.get(METRIC))
            self._epoch[trial.trial_id] = epoch
            if METRIC in last:
                self._score[trial.trial_id] = float(last[METRIC])
            if best is not None and best == best:
                self._trial_best[trial.trial_id] = float(best)
                self._note_best(float(best), trial.trial_id, None)  # at an epoch Tune does not keep
            self._ended[trial.trial_id] = FAILED if trial.status == "ERROR" else self._completion(trial)

    def _completion(self, trial: Any) -> str:
        """How a trial that ended without an error ended: it ran its planned epochs, or was stopped."""
        planned = int((trial.config or {}).get("epochs", 0) or 0)
        return COMPLETED if self._epoch.get(trial.trial_id, 0) >= planned > 0 else STOPPED

    def _note_best(self, score: float, trial_id: str, epoch: int | None) -> None:
        if self._best is None or score > self._best[0]:
            self._best = (score, trial_id, epoch)

    # The table ----------------------------------------------------------------------------

    def render(self, trials: list, now: float) -> list[str]:
        """The lines of one table, each at most ``WIDTH`` characters."""
        elapsed = now - self._started
        left = max(0.0, self._time_budget_s - elapsed)
        ended = [self._ended.get(t.trial_id) for t in trials]
        done = sum(1 for state in ended if state in (COMPLETED, STOPPED, FAILED, CUT))
        counts = [f"{ended.count(state)} {label}" for state, label in
                  ((COMPLETED, "completed"), (STOPPED, "stopped by ASHA"), (FAILED, "failed"),
                   (CUT, "cut by the time budget")) if ended.count(state)]
        running = [t for t in trials if t.status == "RUNNING" and t.trial_id not in self._ended]
        pending = sum(1 for t in trials if t.status == "PENDING")
        lines = [f"[{_clock(elapsed)} elapsed, {_clock(left)} left] trials {done}/{self._num_samples} done"
                 + (f", {len(running)} running" if running else "")
                 + (f", {pending} pending" if pending else "")]
        if counts:
            lines.append("  " + ", ".join(counts))
        if self._best:
            score, trial_id, epoch = self._best
            at = f", epoch {epoch}" if epoch is not None else ", before the resume"
            lines.append(f"  best {METRIC} so far {score:.4f} (trial {trial_id}{at})")
        rows = self._rows_to_show(trials, running)
        if rows:
            lines.append(_ROW.format(trial="trial", state="state", epoch="epoch", score="val_acc", best="best",
                                     model="model", optimizer="optimizer", lr="lr", schedule="sched",
                                     batch="batch"))
            lines.extend(self._row(trial) for trial in rows)
        return [line[:WIDTH].rstrip() for line in lines]

    def _rows_to_show(self, trials: list, running: list) -> list:
        by_id = {trial.trial_id: trial for trial in trials}
        chosen = list(running)
        chosen += [by_id[i] for i in self._ended_since_print if i in by_id]
        if self._best and self._best[1] in by_id:
            chosen.append(by_id[self._best[1]])
        unique = list({trial.trial_id: trial for trial in chosen}.values())
        return unique[:MAX_ROWS]

    def _row(self, trial: Any) -> str:
        config = trial.config or {}
        trial_id = trial.trial_id
        state = self._ended.get(trial_id) or (RUNNING if trial.status == "RUNNING" else PENDING)
        score = self._score.get(trial_id)
        best = self._trial_best.get(trial_id)
        return _ROW.format(
            trial=str(trial_id)[:8], state=state,
            epoch=f"{self._epoch.get(trial_id, 0)}/{config.get('epochs', '?')}",
            score="-" if score is None or score != score else f"{score:.4f}",
            best="-" if best is None else f"{best:.4f}",
            model=describe({"family": self._space, **config}, detail="model")[:26], optimizer=str(config.get("optimizer", "-"))[:9],
            lr=_number(config.get("learning_rate")), schedule=_SCHEDULES.get(config.get("lr_schedule"), "-"),
            batch=str(config.get("batch_size", "-")),
        )

    def _end(self, trial_id: str, state: str) -> None:
        self._ended[trial_id] = state
        if trial_id not in self._ended_since_print:
            self._ended_since_print.append(trial_id)
        self._changed = True

    def _print(self, trials: list, now: float) -> None:
        print("\n".join(self.render(trials, now)), file=self._stream or sys.stdout, flush=True)
        self._last_print = now
        self._changed = False
        self._ended_since_print = []


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1e}"
