"""The rows of ``trials.parquet``, made from Tune's trials and their results."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from search.tuning import trial_rows


def _trial(trial_id: str = "t1", status: str = "TERMINATED", epochs: int = 2) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, status=status, config={"epochs": epochs}, path=f"/tune/{trial_id}")


def _result(trial: SimpleNamespace, scores: list[float], seconds: list[float] | None = None) -> SimpleNamespace:
    history = pd.DataFrame({"val_accuracy": scores, "epoch_seconds": seconds or [1.0] * len(scores)})
    return SimpleNamespace(path=trial.path, config=trial.config, metrics_dataframe=history, error=None,
                           metrics={"time_total_s": 21.0, "num_params": 10})


def test_a_trial_row_holds_its_wall_time_and_the_time_of_its_epochs_alone() -> None:
    trial = _trial()
    [row] = trial_rows([trial], [_result(trial, [0.97, 0.98], [6.0, 5.5])], set())
    assert row["wall_seconds"] == 21.0  # with the worker's start and TensorFlow's import
    assert row["training_seconds"] == 11.5
    assert row["state"] == "completed" and row["best_epoch"] == 2
    assert row["hp_epochs"] == 2


def test_trials_and_results_are_paired_by_their_folder_whatever_their_order() -> None:
    first, second = _trial("a", epochs=1), _trial("b", epochs=1)
    rows = trial_rows([first, second], [_result(second, [0.5]), _result(first, [0.9])], set())
    assert [(row["trial_id"], row["best_val_accuracy"]) for row in rows] == [("a", 0.9), ("b", 0.5)]


def test_a_trial_cut_short_is_early_stopped_by_asha_cut_by_the_budget_or_interrupted() -> None:
    trial = _trial(epochs=3)
    result = _result(trial, [0.9])
    assert trial_rows([trial], [result], {"t1"})[0]["state"] == "early_stopped"
    assert trial_rows([trial], [result], set())[0]["state"] == "cut_by_budget"
    assert trial_rows([trial], [result], set(), interrupted=True)[0]["state"] == "interrupted"


def test_a_failed_trial_is_failed_with_its_error() -> None:
    trial = _trial(status="ERROR")
    result = _result(trial, [])
    result.error = RuntimeError("Traceback ...\nFloatingPointError: training loss became nan in epoch 1")
    [row] = trial_rows([trial], [result], set())
    assert row["state"] == "failed" and row["error"] == "FloatingPointError: training loss became nan in epoch 1"
    assert row["best_val_accuracy"] is None and row["epochs_run"] == 0


def test_an_epoch_reported_twice_counts_once_with_its_last_report() -> None:
    """A trial run again from an older checkpoint after its driver was killed reports an epoch again."""
    trial = _trial(epochs=2)
    history = pd.DataFrame({"training_iteration": [1, 1, 2], "val_accuracy": [0.90, 0.91, 0.95],
                            "epoch_seconds": [5.0, 5.0, 5.0]})
    result = SimpleNamespace(path=trial.path, config=trial.config, metrics_dataframe=history, error=None, metrics={})
    [row] = trial_rows([trial], [result], set())
    assert row["val_accuracy_per_epoch"] == [0.91, 0.95] and row["epochs_run"] == 2 and row["state"] == "completed"
    assert row["training_seconds"] == 10.0


DEVICE = {"device_backend": "tensorflow", "device": "GPU: NVIDIA A10G", "device_seen": "NVIDIA A10G",
          "device_visible_ids": "1", "device_gpu_share": 0.25, "device_node": "gpu-1"}


def test_a_trial_row_says_where_its_last_epoch_trained_and_none_where_it_reported_nothing() -> None:
    placed, silent = _trial("a", epochs=1), _trial("b", status="ERROR", epochs=1)
    result = _result(placed, [0.9])
    result.metrics.update(DEVICE)
    rows = trial_rows([placed, silent], [result, _result(silent, [])], set())
    assert {column: rows[0][column] for column in DEVICE} == DEVICE
    assert all(rows[1][column] is None for column in DEVICE)


def test_a_trial_row_counts_the_times_tune_ran_it_again_after_a_failure() -> None:
    """Tune's ``num_failures`` counts every failure; the last one of a trial that failed for
    good, or that waited for its retry when the search stopped, was not followed by a run."""
    retried, failed, waiting = _trial("a", epochs=1), _trial("b", status="ERROR", epochs=1), _trial("c", "PENDING", 1)
    retried.num_failures, failed.num_failures, waiting.num_failures = 2, 4, 1
    fine = _trial("d", epochs=1)
    rows = trial_rows([retried, failed, waiting, fine], [_result(retried, [0.9]), _result(failed, []),
                                                         _result(waiting, []), _result(fine, [0.8])], set())
    assert [row["retries"] for row in rows] == [2, 3, 0, 0]


def test_a_trial_waiting_for_its_retry_when_the_search_stopped_is_interrupted_with_its_error() -> None:
    """A search stopped at a trial refused its GPU: that trial runs again on --resume."""
    trial = _trial(status="PENDING", epochs=2)
    result = _result(trial, [])
    result.error = RuntimeError("ray::ImplicitFunc.train()\nmnist_models._device.DeviceError: node gpu-1: given 0.5 ...")
    [row] = trial_rows([trial], [result], set(), interrupted=True)
    assert row["state"] == "interrupted" and row["error"].endswith("DeviceError: node gpu-1: given 0.5 ...")
    assert trial_rows([trial], [result], set())[0]["state"] == "failed", "a search that ended keeps it failed"
