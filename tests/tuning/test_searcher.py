"""The Optuna study of a search: every trial with its true state and every epoch's value.

These drive ``StudySearcher`` the way Tune does (suggest, one result an epoch, complete), with
made-up scores, and read the study back with ``optuna.load_study``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import TrialState

from search.study import STOPPED_BY, TUNE_TRIAL_ID, open_study_storage
from search.tuning._searcher import StudyCloser, StudySearcher


def space(trial: optuna.Trial) -> dict:
    trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    trial.suggest_int("epochs", 3, 3)
    return {"family": "toy"}


@pytest.fixture
def storage_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def searcher(storage_url: str, stopped_early: set[str]) -> StudySearcher:
    return StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=stopped_early,
                       sampler=optuna.samplers.TPESampler(seed=0),
                       storage=optuna.storages.RDBStorage(storage_url), study_name="toy")


def epoch(number: int, score: float) -> dict:
    return {"training_iteration": number, "val_accuracy": score}


def stored_trials(storage_url: str) -> dict[str, optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="toy", storage=storage_url)
    return {trial.user_attrs[TUNE_TRIAL_ID]: trial for trial in study.trials}


def test_a_trial_that_ran_all_its_epochs_is_complete_with_every_epoch(storage_url: str) -> None:
    search = searcher(storage_url, set())
    search.suggest("t1")
    search.on_trial_result("t1", epoch(1, 0.90))
    search.on_trial_result("t1", epoch(2, 0.95))
    # Tune does not pass the last result to the searcher when the scheduler says STOP at max_t.
    search.on_trial_complete("t1", result=epoch(3, 0.96))
    trial = stored_trials(storage_url)["t1"]
    assert trial.state == TrialState.COMPLETE
    assert trial.value == pytest.approx(0.96)
    assert trial.intermediate_values == pytest.approx({1: 0.90, 2: 0.95, 3: 0.96})


def test_a_trial_asha_stopped_is_pruned_with_the_epoch_it_stopped_on(storage_url: str) -> None:
    stopped_early: set[str] = set()
    search = searcher(storage_url, stopped_early)
    search.suggest("t1")
    search.on_trial_result("t1", epoch(1, 0.30))
    stopped_early.add("t1")  # RecordingASHA records the stop before Tune completes the trial
    search.on_trial_complete("t1", result=epoch(2, 0.31))
    trial = stored_trials(storage_url)["t1"]
    assert trial.state == TrialState.PRUNED
    assert trial.intermediate_values == pytest.approx({1: 0.30, 2: 0.31})
    assert trial.user_attrs[STOPPED_BY] == "asha"


def test_a_trial_that_raised_is_failed(storage_url: str) -> None:
    search = searcher(storage_url, set())
    search.suggest("t1")
    search.on_trial_result("t1", epoch(1, 0.5))
    search.on_trial_complete("t1", error=True)
    trial = stored_trials(storage_url)["t1"]
    assert trial.state == TrialState.FAIL
    assert trial.intermediate_values == pytest.approx({1: 0.5})


def test_a_trial_whose_last_score_is_nan_is_failed_not_complete(storage_url: str) -> None:
    search = searcher(storage_url, set())
    search.suggest("t1")
    search.on_trial_complete("t1", result=epoch(3, float("nan")))
    assert stored_trials(storage_url)["t1"].state == TrialState.FAIL


def test_trials_the_time_budget_cut_are_pruned_at_the_end_of_the_experiment(storage_url: str) -> None:
    search = searcher(storage_url, set())
    closer = StudyCloser(search)
    closer.setup(time_budget_s=0.0)
    for trial_id in ("t1", "t2", "t3"):
        search.suggest(trial_id)
    search.on_trial_result("t1", epoch(1, 0.7))
    search.on_trial_complete("t2", result=epoch(3, 0.9))
    # t1 was training its second epoch, t3 had not started: Tune stops both without telling the searcher.
    tune_trials = [SimpleNamespace(trial_id="t1", status="TERMINATED", last_result=epoch(2, 0.8)),
                   SimpleNamespace(trial_id="t2", status="TERMINATED", last_result=epoch(3, 0.9)),
                   SimpleNamespace(trial_id="t3", status="TERMINATED", last_result={})]
    closer.on_experiment_end(tune_trials)
    trials = stored_trials(storage_url)
    assert trials["t1"].state == TrialState.PRUNED
    assert trials["t1"].intermediate_values == pytest.approx({1: 0.7, 2: 0.8})
    assert trials["t1"].user_attrs[STOPPED_BY] == "time_budget"
    assert trials["t2"].state == TrialState.COMPLETE
    assert trials["t3"].state == TrialState.PRUNED and trials["t3"].intermediate_values == {}


def test_an_interrupted_search_leaves_its_unfinished_trials_running_for_a_resume(storage_url: str) -> None:
    search = searcher(storage_url, set())
    closer = StudyCloser(search)
    closer.setup(time_budget_s=3600.0)
    search.suggest("t1")
    search.on_trial_result("t1", epoch(1, 0.7))
    closer.on_experiment_end([SimpleNamespace(trial_id="t1", status="TERMINATED", last_result=epoch(1, 0.7))])
    assert stored_trials(storage_url)["t1"].state == TrialState.RUNNING


def test_a_trial_tune_failed_without_telling_the_searcher_is_failed_at_the_end(storage_url: str) -> None:
    search = searcher(storage_url, set())
    closer = StudyCloser(search)
    closer.setup(time_budget_s=3600.0)
    search.suggest("t1")  # Tune could not reuse an actor for it: ERROR, and no on_trial_complete
    closer.on_experiment_end([SimpleNamespace(trial_id="t1", status="ERROR", last_result={})])
    assert stored_trials(storage_url)["t1"].state == TrialState.FAIL


def test_every_trial_names_its_tune_trial_and_the_notebook_points_come_first(storage_url: str) -> None:
    search = StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=set(),
                         points_to_evaluate=[{"learning_rate": 0.001, "epochs": 3}],
                         storage=optuna.storages.RDBStorage(storage_url), study_name="toy")
    first = search.suggest("first")
    search.suggest("second")
    assert first["learning_rate"] == 0.001
    assert set(stored_trials(storage_url)) == {"first", "second"}


def test_a_restored_searcher_keeps_the_schedulers_live_set(tmp_path: Path, storage_url: str) -> None:
    live: set[str] = set()
    search = searcher(storage_url, live)
    search.suggest("t1")
    search.save(str(tmp_path / "searcher.pkl"))
    search.restore(str(tmp_path / "searcher.pkl"))
    live.add("t1")
    search.on_trial_complete("t1", result=epoch(1, 0.2))
    assert stored_trials(storage_url)["t1"].state == TrialState.PRUNED


def test_a_trial_asked_for_after_the_last_save_is_failed_when_the_search_is_restored(tmp_path: Path,
                                                                                      storage_url: str) -> None:
    """The driver was killed after the searcher asked the study for t2 and before Tune saved its
    state: Tune knows nothing of t2, so the study must not keep it RUNNING for ever."""
    search = searcher(storage_url, set())
    search.suggest("t1")
    search.save(str(tmp_path / "searcher.pkl"))
    search.suggest("t2")
    restored = searcher(storage_url, set())
    restored.restore(str(tmp_path / "searcher.pkl"))
    states = {tune_id: trial.state for tune_id, trial in stored_trials(storage_url).items()}
    assert states == {"t1": TrialState.RUNNING, "t2": TrialState.FAIL}


def test_a_result_for_a_trial_the_study_has_finished_already_is_ignored(tmp_path: Path, storage_url: str) -> None:
    """Tune runs a trial again after a killed driver (its last save predates the trial's end);
    the study keeps the first ending."""
    first = searcher(storage_url, set())
    first.suggest("t1")
    first.save(str(tmp_path / "searcher.pkl"))  # Tune's last save, before t1 ended
    first.on_trial_complete("t1", result=epoch(3, 0.9))
    stale = searcher(storage_url, set())
    stale.restore(str(tmp_path / "searcher.pkl"))
    stale.on_trial_result("t1", epoch(1, 0.5))
    stale.on_trial_complete("t1", result=epoch(3, 0.7))
    trial = stored_trials(storage_url)["t1"]
    assert trial.state == TrialState.COMPLETE and trial.value == 0.9


def test_tpe_weighs_a_bounded_window_of_trials_the_best_of_them_kept(storage_url: str) -> None:
    """Past half as many again as the window, TPE's study starts afresh with the best third and
    the latest trials: a proposal's cost stays bounded in a search of thousands of trials,
    while the recorded study keeps every one."""
    search = StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=set(),
                           sampler=optuna.samplers.TPESampler(seed=0), history_window=30,
                           storage=optuna.storages.RDBStorage(storage_url), study_name="toy")
    scores = {}
    for number in range(80):
        trial_id = f"t{number}"
        search.suggest(trial_id)
        scores[trial_id] = 0.5 + (number * 37 % 80) / 1000
        search.on_trial_complete(trial_id, result=epoch(3, scores[trial_id]))
    weighed = search.weighed_trials
    assert 30 <= len(weighed) < 45
    best_ten = sorted(scores.values(), reverse=True)[:10]
    assert best_ten == sorted((trial.value for trial in weighed), reverse=True)[:10]
    assert len(stored_trials(storage_url)) == 80


def test_the_searcher_with_its_study_file_pickles_as_tune_saves_it(tmp_path: Path) -> None:
    search = StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=set(),
                           storage=open_study_storage(tmp_path / "study.db"), study_name="toy")
    search.suggest("t1")
    search.save(str(tmp_path / "searcher.pkl"))
    restored = StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=set(),
                             storage=open_study_storage(tmp_path / "study.db"), study_name="toy")
    restored.restore(str(tmp_path / "searcher.pkl"))
    restored.on_trial_complete("t1", result=epoch(3, 0.9))
    assert stored_trials(f"sqlite:///{tmp_path / 'study.db'}")["t1"].state == TrialState.COMPLETE


def sized_space(trial: optuna.Trial) -> dict:
    trial.suggest_int("width", 1, 100)
    return {"family": "toy"}


def size_of(config: dict) -> int:
    return 100 * int(config["width"])  # a model of ``width`` x 100 parameters


def test_a_proposal_over_the_parameter_budget_never_reaches_tune_and_tpe_learns_it(storage_url: str) -> None:
    search = StudySearcher(space=sized_space, metric="val_accuracy", mode="max", stopped_early=set(),
                           sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
                           storage=optuna.storages.RDBStorage(storage_url), study_name="toy",
                           parameter_count=size_of, max_params=3_000)
    for index in range(30):
        config = search.suggest(f"t{index}")
        assert size_of(config) <= 3_000
        search.on_trial_complete(f"t{index}", result=epoch(1, 0.5 + config["width"] / 1000))
    assert search.proposals_over_budget > 0
    recorded = stored_trials(storage_url)
    assert len(recorded) == 30  # only what was trained is in study.db
    assert all(trial.user_attrs["num_params"] <= 3_000 for trial in recorded.values())
    # after its random start-up, TPE rarely proposes over the budget again
    assert search.proposals_over_budget < 30


def test_a_pareto_search_records_both_objectives_and_every_epoch_as_an_attribute(storage_url: str) -> None:
    search = StudySearcher(space=sized_space, metric="val_accuracy", mode="max", stopped_early=set(),
                           sampler=optuna.samplers.TPESampler(seed=0), objective="pareto",
                           storage=optuna.storages.RDBStorage(storage_url), study_name="toy", parameter_count=size_of)
    config = search.suggest("t1")
    search.on_trial_result("t1", epoch(1, 0.80))
    search.on_trial_complete("t1", result=epoch(2, 0.90))
    trial = stored_trials(storage_url)["t1"]
    assert trial.values == pytest.approx([0.90, size_of(config)])
    assert trial.user_attrs["val_accuracy_per_epoch"] == pytest.approx([0.80, 0.90])


def test_a_warm_started_search_holds_the_earlier_trials_and_begins_with_their_best(tmp_path: Path) -> None:
    first_url = f"sqlite:///{tmp_path / 'first.db'}"
    first = searcher(first_url, set())
    for index, score in enumerate((0.5, 0.9, 0.7)):
        first.suggest(f"t{index}")
        first.on_trial_complete(f"t{index}", result=epoch(3, score))
    earlier = optuna.load_study(study_name="toy", storage=first_url).trials
    best = max(earlier, key=lambda trial: trial.value)
    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    second = StudySearcher(space=space, metric="val_accuracy", mode="max", stopped_early=set(),
                           sampler=optuna.samplers.TPESampler(seed=0), storage=optuna.storages.RDBStorage(second_url),
                           study_name="toy", points_to_evaluate=[best.params], warm_trials=earlier)
    assert second.suggest("n1")["learning_rate"] == best.params["learning_rate"]
    assert len(second.weighed_trials) == 3  # TPE weighs the earlier trials from the first proposal
    assert len(optuna.load_study(study_name="toy", storage=second_url).trials) == 4
