"""The closing table printed after a search: best trials, the notebook's, and what had no score."""

from __future__ import annotations

from search.reporting import summary_table, trained_line


def row(trial_id: str, best: float | None, state: str) -> dict:
    return {"trial_id": trial_id, "state": state, "epochs_run": 0 if best is None else 2,
            "best_val_accuracy": best, "num_params": 1000, "hp_family": "dense", "hp_n_layers": 1,
            "hp_units_0": 64, "hp_dropout_0": 0.1, "hp_activation": "relu", "hp_optimizer": "adam",
            "hp_learning_rate": 0.001, "hp_lr_schedule": "constant", "hp_batch_size": 64, "hp_epochs": 2}


def test_trials_without_an_epoch_are_counted_by_their_state() -> None:
    table = summary_table([row("a", 0.98, "completed"), row("b", None, "cut_by_budget"),
                           row("c", None, "failed"), row("d", None, "cut_by_budget")])
    lines = table.splitlines()
    assert lines[2].split()[:3] == ["1", "a", "searched"]
    assert lines[-1] == ("(3 trial(s) reported no epoch: 2 cut_by_budget, 1 failed; "
                         "see the state and error columns of trials.parquet)")


def test_the_line_under_the_table_says_where_the_trials_trained_and_the_retries_they_cost() -> None:
    assert trained_line("52 trials on 4 x NVIDIA A10G, 4 a GPU", 2) == (
        "trained: 52 trials on 4 x NVIDIA A10G, 4 a GPU; 2 retries of a trial after a failure (a lost node, a crash)")
    assert trained_line("6 trials on CPU", 1).endswith("; 1 retry of a trial after a failure (a lost node, a crash)")
    assert trained_line(None, 0).startswith("trained: no trial reported where it trained; 0 retries")
    assert trained_line("6 trials on CPU", None) == "trained: 6 trials on CPU", "an older run did not count retries"
