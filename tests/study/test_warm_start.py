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
    assert warm.runs == [{"run": "first", "trials": 3, "best_val_accuracy": 0.9}]


@pytest.mark.parametrize(("record", "message"), [
    ({"space": "dense", "objective": "accuracy"}, "that run searched space 'dense', not 'cnn'"),
    ({"space": "cnn", "objective": "pareto"}, "that run searched for 'pareto', not 'accuracy'"),
])
def test_a_run_of_another_space_or_objective_is_refused(tmp_path: Path, record: dict, message: str) -> None:
    name, folder, _ = earlier_run(tmp_path / "first")
    with pytest.raises(WarmStartError, match=message):
        load_warm_start([(name, folder, record)], space="cnn", objective="accuracy", parameter_names={"learning_rate"})


def test_a_run_with_parameters_the_space_no_longer_has_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WarmStartError, match="parameters the space 'cnn' does not have now \\(momentum\\)"):
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
