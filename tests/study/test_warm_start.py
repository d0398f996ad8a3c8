"""--warm-start: what is read from an earlier run, and every run that is refused (in one line)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.study import WarmStartError, load_warm_start
from search.study._warm_start import WARM_START_FROM


def earlier_run(folder: Path, *, name: str = "first", scores=(0.5, 0.9), params=("learning_rate",)) -> tuple:
    folder.mkdir(parents=True)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}", direction="maximize")
    for score in scores:
        trial = study.ask()
        for param in params:
            trial.suggest_float(param, 1e-4, 1e-1, log=True)
        trial.set_user_attr("tune_trial_id", f"id{score}")
        study.tell(trial, score)
    pruned = study.ask()
    pruned.suggest_float(params[0], 1e-4, 1e-1, log=True)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    study.ask()  # still RUNNING: not taken
    return name, folder, {"space": "cnn", "objective": "accuracy"}


def test_the_finished_trials_are_taken_marked_with_their_run_and_the_best_is_the_start(tmp_path: Path) -> None:
    warm = load_warm_start([earlier_run(tmp_path / "first")], space="cnn", objective="accuracy",
                           parameter_names={"learning_rate"})
    assert len(warm.trials) == 3  # two complete, one pruned; the running one is left
    assert all(trial.user_attrs[WARM_START_FROM] == "first" for trial in warm.trials)
    assert all("tune_trial_id" not in trial.user_attrs for trial in warm.trials)
    assert list(warm.best_points) == ["first:best"]
    assert warm.runs == [{"run": "first", "trials": 3, "best_val_accuracy": 0.9, "best_epochs_run": None,
                          "best_planned_epochs": None, "best_cut_at_target": False}]


@pytest.mark.parametrize(("record", "message"), [
    ({"space": "dense", "objective": "accuracy"}, "that run searched space 'dense', not 'cnn'"),
    ({"space": "cnn", "objective": "pareto"}, "that run searched for 'pareto', not 'accuracy'"),
])
def test_a_run_of_another_space_or_objective_is_refused(tmp_path: Path, record: dict, message: str) -> None:
    name, folder, _ = earlier_run(tmp_path / "first")
    with pytest.raises(WarmStartError, match=message):
        load_warm_start([(name, folder, record)], space="cnn", objective="accuracy", parameter_names={"learning_rate"})


def test_a_run_with_parameters_the_space_no_longer_has_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WarmStartError, match="parameters the space 'cnn' does not offer this search \\(momentum\\)"):
        load_warm_start([earlier_run(tmp_path / "first", params=("learning_rate", "momentum"))], space="cnn",
                        objective="accuracy", parameter_names={"learning_rate"})


def test_a_missing_or_unreadable_study_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    with pytest.raises(WarmStartError, match="is missing"):
        load_warm_start([("broken", folder, {"space": "cnn"})], space="cnn", objective="accuracy", parameter_names=set())
    (folder / "study.db").write_bytes(b"not a database")
    with pytest.raises(WarmStartError, match="cannot be read"):
        load_warm_start([("broken", folder, {"space": "cnn"})], space="cnn", objective="accuracy", parameter_names=set())
    assert (folder / "study.db").read_bytes() == b"not a database"
    (folder / "study.db").write_bytes(b"")  # an empty SQLite database, in which Optuna would make its tables
    with pytest.raises(WarmStartError, match="cannot be read"):
        load_warm_start([("broken", folder, {"space": "cnn"})], space="cnn", objective="accuracy", parameter_names=set())
    assert (folder / "study.db").read_bytes() == b"", "the earlier run's file is only read"


def stopped_at_target(folder: Path, *, name: str = "target", curves=((0.62,), (0.8137,)), planned: int = 2,
                      stopped_by: str = "target", complete: tuple = ()) -> tuple:
    """A run that ``--stop-at`` ended: each curve a trial cut after its epochs (PRUNED, its scores as
    intermediate values, as the searcher records them), of ``planned`` epochs each; ``complete``
    the scores of trials that ran all their epochs."""
    folder.mkdir(parents=True)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}", direction="maximize")
    for index, curve in enumerate(curves):
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_int("epochs", planned, planned)  # the planned epochs, fixed
        for epoch, score in enumerate(curve, start=1):
            trial.report(score, epoch)
        trial.set_user_attr("stopped_by", stopped_by)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    for score in complete:
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_int("epochs", planned, planned)  # the planned epochs, fixed
        for epoch in range(1, planned + 1):
            trial.report(score, epoch)
        study.tell(trial, score)
    return name, folder, {"space": "dense", "objective": "accuracy"}


def _load(run: tuple):
    return load_warm_start([run], space="dense", objective="accuracy", parameter_names={"learning_rate", "epochs"})


def test_a_run_stopped_at_its_target_starts_from_its_best_cut_trial_at_the_epoch_it_reached(tmp_path: Path) -> None:
    warm = _load(stopped_at_target(tmp_path / "target"))
    assert warm.runs == [{"run": "target", "trials": 2, "best_val_accuracy": 0.8137, "best_epochs_run": 1,
                          "best_planned_epochs": 2, "best_cut_at_target": True}]
    # Its configuration as planned: the new search trains it for all its epochs.
    assert warm.best_points["target:best"]["epochs"] == 2
    assert "best validation accuracy 0.8137 after 1 of its 2 epoch(s), cut at the target" in warm.summary()


def test_a_trial_cut_at_the_target_is_copied_as_it_ended_never_as_completed(tmp_path: Path) -> None:
    warm = _load(stopped_at_target(tmp_path / "target"))
    assert [trial.state for trial in warm.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert [trial.intermediate_values for trial in warm.trials] == [{1: 0.62}, {1: 0.8137}]
    assert all(trial.user_attrs["stopped_by"] == "target" for trial in warm.trials)


def test_a_cut_trial_scores_at_its_last_epoch_and_competes_with_completed_ones(tmp_path: Path) -> None:
    warm = _load(stopped_at_target(tmp_path / "mixed", name="mixed", curves=((0.91, 0.85),), complete=(0.88,)))
    assert warm.runs[0]["best_val_accuracy"] == 0.88  # the cut trial's last epoch, 0.85, is what it reached
    assert warm.runs[0]["best_cut_at_target"] is False
    warm = _load(stopped_at_target(tmp_path / "ahead", name="ahead", curves=((0.7, 0.9),), complete=(0.88,)))
    assert warm.runs[0]["best_val_accuracy"] == 0.9 and warm.runs[0]["best_epochs_run"] == 2


@pytest.mark.parametrize("stopped_by", ["asha", "error"])
def test_a_run_whose_trials_only_asha_or_a_fault_stopped_is_still_refused(tmp_path: Path, stopped_by: str) -> None:
    with pytest.raises(WarmStartError, match="that run has no completed trial, and none cut at its target, to start "
                                             "from: give another run"):
        _load(stopped_at_target(tmp_path / "stopped", stopped_by=stopped_by))


def test_a_run_with_nothing_measured_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WarmStartError, match="that run has no completed trial"):
        _load(stopped_at_target(tmp_path / "empty", curves=((),)))
