"""The live progress table: what it shows, that it fits 100 columns, and how often it prints."""

from __future__ import annotations

import io
from types import SimpleNamespace

from search.tuning import CompactProgress
from search.tuning._progress import WIDTH

CNN = {"family": "cnn", "n_blocks": 2, "filters_0": 32, "filters_1": 64, "batch_norm": True, "augment": False,
       "optimizer": "adam", "learning_rate": 0.0012, "lr_schedule": "cosine", "batch_size": 128, "epochs": 4}
WIDE_DENSE = {"family": "dense", "n_layers": 4, "units_0": 1024, "units_1": 1024, "units_2": 1024, "units_3": 1024,
              "activation": "relu", "optimizer": "rmsprop", "learning_rate": 0.00001234, "batch_size": 1024,
              "epochs": 20}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def trial(trial_id: str, status: str = "RUNNING", **config) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, status=status, config={**CNN, **config})


def progress(clock: Clock, **kwargs) -> tuple[CompactProgress, io.StringIO]:
    out = io.StringIO()
    reporter = CompactProgress(space="cnn", num_samples=20, time_budget_s=600, stream=out, clock=clock, **kwargs)
    reporter.setup(total_num_samples=20, time_budget_s=600)
    return reporter, out


def result(epoch: int, score: float) -> dict:
    return {"training_iteration": epoch, "val_accuracy": score}


def test_the_table_shows_each_trials_state_epoch_scores_and_main_hyperparameters() -> None:
    clock = Clock()
    reporter, _ = progress(clock)
    running, stopped = trial("aaaa1111"), trial("bbbb2222", optimizer="sgd")
    reporter.on_trial_result(0, [], running, result(1, 0.95))
    reporter.on_trial_result(0, [], running, result(2, 0.97))
    reporter.on_trial_result(0, [], stopped, result(1, 0.40))
    reporter.on_trial_complete(0, [], stopped)
    stopped.status = "TERMINATED"
    clock.now += 125
    lines = reporter.render([running, stopped], clock.now)
    text = "\n".join(lines)
    assert lines[0] == "[2:05 elapsed, 7:55 left] trials 1/20 done, 1 running"
    assert "1 stopped by ASHA" in text
    assert "best val_accuracy so far 0.9700 (trial aaaa1111, epoch 2)" in text
    header = next(line for line in lines if line.startswith("trial"))
    for column in ("state", "epoch", "val_acc", "best", "model", "optimizer", "lr", "sched", "batch"):
        assert column in header
    row = next(line for line in lines if line.startswith("aaaa1111")).split()
    assert row[:5] == ["aaaa1111", "running", "2/4", "0.9700", "0.9700"]
    assert row[5:] == ["conv", "32-64", "bn", "adam", "1.2e-03", "cos", "128"]
    other = next(line for line in lines if line.startswith("bbbb2222")).split()
    assert other[:3] == ["bbbb2222", "stopped", "1/4"] and "sgd" in other


def test_every_line_fits_100_columns_even_for_the_widest_configuration() -> None:
    clock = Clock()
    reporter, _ = progress(clock)
    trials = [trial(f"{i:08x}", **WIDE_DENSE) for i in range(30)]
    for number, each in enumerate(trials):
        reporter.on_trial_result(0, trials, each, result(17, 0.98 + number / 10_000))
        if number % 3 == 0:
            reporter.on_trial_error(0, trials, each)
        elif number % 3 == 1:
            reporter.on_trial_complete(0, trials, each)
    clock.now += 3 * 3600
    lines = reporter.render(trials, clock.now)
    assert all(len(line) <= WIDTH for line in lines), max(lines, key=len)
    assert len(lines) <= 16, "a handful of rows, not every trial"


def test_completed_failed_and_budget_cut_trials_are_told_apart() -> None:
    clock = Clock()
    reporter, out = progress(clock)
    done, failed, cut = trial("d0000000", epochs=1), trial("f0000000"), trial("c0000000")
    never_ran = trial("e0000000")  # Tune failed it without an error callback (no actor to reuse)
    reporter.on_trial_result(0, [], done, result(1, 0.9))
    reporter.on_trial_complete(0, [], done)
    reporter.on_trial_error(0, [], failed)
    reporter.on_trial_result(0, [], cut, result(1, 0.8))
    for each in (done, cut):
        each.status = "TERMINATED"
    failed.status = never_ran.status = "ERROR"
    clock.now += 601
    reporter.on_experiment_end([done, failed, cut, never_ran])
    text = out.getvalue()
    assert "trials 4/20 done" in text
    assert "1 completed, 2 failed, 1 cut by the time budget" in text
    states = {line.split()[0]: line.split()[1] for line in text.splitlines() if line[:1] in "dfce" and " " in line}
    assert states == {"d0000000": "completed", "f0000000": "failed", "c0000000": "cut", "e0000000": "failed"}


def test_a_resumed_run_counts_the_trials_its_earlier_session_ended_and_their_best_score() -> None:
    """Tune restores an earlier session's ended trials as ended: no hook reports them, so the
    first step takes them as they ended (ran its epochs: completed; fewer: stopped)."""
    clock = Clock()
    reporter, out = progress(clock)

    def restored(trial_id: str, epochs_run: int, last: float, best: float, status: str = "TERMINATED"):
        ended = trial(trial_id, status=status, epochs=4)
        ended.last_result = result(epochs_run, last)
        ended.metric_analysis = {"val_accuracy": {"max": best, "last": last}}
        return ended

    completed, stopped = restored("aaaa0000", 4, 0.985, 0.987), restored("bbbb0000", 1, 0.90, 0.90)
    running = trial("cccc0000")
    reporter.on_step_end(0, [completed, stopped, running])
    reporter.on_trial_result(0, [], running, result(1, 0.95))
    running.status = "TERMINATED"
    clock.now += 601
    reporter.on_experiment_end([completed, stopped, running])
    text = out.getvalue()
    first_table = text.split("\n[")[0]
    assert "trials 2/20 done, 1 running" in first_table
    assert "1 completed, 1 stopped by ASHA" in first_table
    assert "best val_accuracy so far 0.9870 (trial aaaa0000, before the resume)" in first_table
    assert "aaaa0000 completed    4/4  0.9850  0.9870" in first_table, "the best trial's row, as always"
    assert "bbbb0000" not in first_table, "not listed as just ended"
    assert "1 completed, 1 stopped by ASHA, 1 cut by the time budget" in text.split("\n[")[-1]


def test_it_prints_at_once_then_on_change_every_refresh_and_at_least_every_heartbeat() -> None:
    clock = Clock()
    reporter, out = progress(clock, refresh_s=15, heartbeat_s=60)
    trials = [trial("aaaa1111")]

    def tables() -> int:
        return out.getvalue().count(" elapsed, ")

    reporter.on_step_end(0, trials)
    assert tables() == 1, "the first step prints the table"
    reporter.on_trial_result(0, trials, trials[0], result(1, 0.9))
    clock.now += 10
    reporter.on_step_end(0, trials)
    assert tables() == 1, "not again before refresh_s"
    clock.now += 5
    reporter.on_step_end(0, trials)
    assert tables() == 2, "a change is printed once refresh_s has passed"
    clock.now += 30
    reporter.on_step_end(0, trials)
    assert tables() == 2, "nothing changed: no new table before the heartbeat"
    clock.now += 30
    reporter.on_step_end(0, trials)
    assert tables() == 3, "a heartbeat table every heartbeat_s"
    reporter.on_experiment_end(trials)
    assert tables() == 4, "and one at the end"


def test_tunes_own_budget_wins_over_the_one_given() -> None:
    clock = Clock()
    reporter = CompactProgress(space="cnn", num_samples=200, time_budget_s=600, stream=io.StringIO(), clock=clock)
    reporter.setup(total_num_samples=7, time_budget_s=90.0)
    assert reporter.render([], clock.now)[0] == "[0:00 elapsed, 1:30 left] trials 0/7 done"


