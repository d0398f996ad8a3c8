"""ASHA as the search uses it: what it stops, and that in a Pareto search it compares a trial
only with trials of its own size band.

These drive the schedulers the way Tune does (add, one result an epoch), with made-up scores.
"""

from __future__ import annotations

import pickle
from types import SimpleNamespace

from ray.tune.schedulers import TrialScheduler

from search.tuning import RecordingASHA, SearchPlan, make_scheduler


def trial(trial_id: str, **config) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, config={"epochs": 9, **config})


def first_epoch(scheduler, trial_: SimpleNamespace, score: float) -> str:
    scheduler.on_trial_add(None, trial_)
    return scheduler.on_trial_result(None, trial_, {"training_iteration": 1, "val_accuracy": score})


def test_asha_stops_a_trial_behind_the_others_at_the_first_rung_and_records_it() -> None:
    scheduler = RecordingASHA(max_epochs=9, metric="val_accuracy", mode="max")
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"ahead{index}"), score)
    assert first_epoch(scheduler, trial("behind"), 0.90) == TrialScheduler.STOP
    assert "behind" in scheduler.stopped_early


def plan(tmp_path, **changes) -> SearchPlan:
    return SearchPlan(**{"space": "dense", "name": "n", "run_dir": tmp_path, "num_samples": 4, "time_budget_s": 60,
                         "max_epochs": 9, "max_concurrent": 1, "cpus_per_trial": 1, "gpus_per_trial": 0, "seed": 0,
                         "max_failures": 0, **changes})


TINY = {"family": "dense", "n_layers": 1, "units_0": 1}  # 805 parameters
WIDE = {"family": "dense", "n_layers": 1, "units_0": 512}  # 407,050 parameters


def test_a_pareto_search_compares_a_small_trial_only_with_trials_of_its_size(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path, objective="pareto"))
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"wide{index}", **WIDE), score)
    # Behind every wide trial after one epoch, but the first of its size band: it goes on.
    assert first_epoch(scheduler, trial("tiny", **TINY), 0.90) == TrialScheduler.CONTINUE
    assert first_epoch(scheduler, trial("wide_behind", **WIDE), 0.90) == TrialScheduler.STOP
    assert scheduler.stopped_early == {"wide_behind"}


def test_an_accuracy_search_compares_every_trial_with_every_other(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path))
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"wide{index}", **WIDE), score)
    assert first_epoch(scheduler, trial("tiny", **TINY), 0.90) == TrialScheduler.STOP


def test_the_scheduler_pickles_for_resume(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path, objective="pareto"))
    first_epoch(scheduler, trial("a", **TINY), 0.9)
    restored = pickle.loads(pickle.dumps(scheduler))
    assert list(restored._bands) == list(scheduler._bands) == [0]
