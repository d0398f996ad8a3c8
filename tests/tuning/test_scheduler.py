"""ASHA as the search uses it: what it stops, and that in a Pareto search it compares a trial
only with trials of its own size band.

These drive the schedulers the way Tune does (add, one result an epoch), with made-up scores.
"""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import TrialScheduler

from search.tuning import RecordingASHA, SearchPlan, make_scheduler


def trial(trial_id: str, **config) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, config={"epochs": 9, **config})


def first_epoch(scheduler, trial_: SimpleNamespace, score: float, *, epoch: int = 1) -> str:
    """Add the trial and report its score at ``epoch`` (ASHA's first rung: 1, or 3 in a
    size-aware search), as Tune does."""
    scheduler.on_trial_add(None, trial_)
    return scheduler.on_trial_result(None, trial_, {"training_iteration": epoch, "val_accuracy": score})


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


TINY = {"family": "dense", "n_layers": 1, "units_0": 1, "augment": False}  # 805 parameters
WIDE = {"family": "dense", "n_layers": 1, "units_0": 512}  # 407,050 parameters
CNN = {"family": "cnn", "n_blocks": 2, "filters_0": 16, "filters_1": 16, "kernel_0": 3, "kernel_1": 3,
       "padding": "valid", "batch_norm": False, "dense_units": 64, "augment": False}


def test_a_pareto_search_compares_a_small_trial_only_with_trials_of_its_size(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path, objective="pareto"))
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"wide{index}", **WIDE), score, epoch=3)
    # Behind every wide trial at the first rung, but the first of its size band: it goes on.
    assert first_epoch(scheduler, trial("tiny", **TINY), 0.90, epoch=3) == TrialScheduler.CONTINUE
    assert first_epoch(scheduler, trial("wide_behind", **WIDE), 0.90, epoch=3) == TrialScheduler.STOP
    assert scheduler.stopped_early == {"wide_behind"}


@pytest.mark.parametrize("changes", [{"objective": "pareto"}, {"max_params": 20_000}])
def test_a_size_aware_search_first_compares_trials_after_three_epochs(tmp_path, changes) -> None:
    """A small CNN's first epoch is noise (docs/SPACES.md): no trial is stopped before its third."""
    scheduler = make_scheduler(plan(tmp_path, space="cnn", **changes))
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"ahead{index}", **CNN), score, epoch=3)
    assert first_epoch(scheduler, trial("behind_after_one", **CNN), 0.90) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, trial("behind_after_one", **CNN),
                                     {"training_iteration": 3, "val_accuracy": 0.90}) == TrialScheduler.STOP


def test_an_accuracy_search_of_the_cnn_space_compares_every_trial_with_every_other(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path, space="cnn"))
    small, large = dict(CNN, filters_0=8, filters_1=8), dict(CNN, filters_0=32, filters_1=32)
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"large{index}", **large), score)
    assert first_epoch(scheduler, trial("small", **small), 0.90) == TrialScheduler.STOP
    assert first_epoch(scheduler, trial("augmented", **dict(large, augment=True)), 0.90) == TrialScheduler.STOP


def test_a_cnn_search_that_trains_long_compares_trials_after_three_epochs_and_long_with_long(tmp_path) -> None:
    """An hour's CNN search (15 epochs, two convolutions a block on offer): a trial planned for
    15 epochs is compared only with trials planned for 10 or more and of its convolutions a
    block, and none before its third epoch."""
    scheduler = make_scheduler(plan(tmp_path, space="cnn", max_epochs=15))
    short = dict(CNN, epochs=4, convs_per_block=1)
    for index, score in enumerate((0.985, 0.988, 0.990)):
        first_epoch(scheduler, trial(f"short{index}", **short), score, epoch=3)
    long_double = dict(CNN, epochs=15, convs_per_block=2)
    assert first_epoch(scheduler, trial("long_double", **long_double), 0.90) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, trial("long_double", **long_double),
                                     {"training_iteration": 3, "val_accuracy": 0.95}) == TrialScheduler.CONTINUE
    assert first_epoch(scheduler, trial("long_double_behind", **long_double), 0.94, epoch=3) == TrialScheduler.STOP
    long_single = dict(CNN, epochs=12, convs_per_block=1)
    assert first_epoch(scheduler, trial("long_single", **long_single), 0.95, epoch=3) == TrialScheduler.CONTINUE
    assert first_epoch(scheduler, trial("short_behind", **short), 0.95, epoch=3) == TrialScheduler.STOP
    assert scheduler.stopped_early == {"long_double_behind", "short_behind"}
    assert pickle.loads(pickle.dumps(scheduler)).band_of(trial("x", **long_single)) is not None


def test_a_dense_search_compares_an_augmented_trial_only_with_augmented_ones(tmp_path) -> None:
    """Augmentation slows a dense net's first epochs (docs/SPACES.md): behind the plain nets
    after one epoch, the first augmented trial goes on; the next must beat it."""
    scheduler = make_scheduler(plan(tmp_path))
    for index, score in enumerate((0.96, 0.97, 0.98)):
        first_epoch(scheduler, trial(f"plain{index}", **WIDE, augment=False), score)
    assert first_epoch(scheduler, trial("augmented", **WIDE, augment=True), 0.93) == TrialScheduler.CONTINUE
    assert first_epoch(scheduler, trial("augmented_behind", **WIDE, augment=True), 0.90) == TrialScheduler.STOP
    assert first_epoch(scheduler, trial("plain_behind", **WIDE, augment=False), 0.95) == TrialScheduler.STOP
    assert scheduler.stopped_early == {"augmented_behind", "plain_behind"}


def test_the_scheduler_pickles_for_resume(tmp_path) -> None:
    scheduler = make_scheduler(plan(tmp_path, objective="pareto"))
    first_epoch(scheduler, trial("a", **TINY), 0.9)
    restored = pickle.loads(pickle.dumps(scheduler))
    assert list(restored._bands) == list(scheduler._bands) == [(0, False)]
