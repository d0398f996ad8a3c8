"""TensorBoard curves: one run per trial in RUN/tensorboard, read back with TensorBoard's own reader."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from search.run_folder import TENSORBOARD_FOLDER
from search.tuning._curves import FLUSH_SECONDS, SCALAR_TAGS, TrialCurves
from spaces import NOTEBOOK_POINTS


@dataclass(eq=False)
class FakeTrial:
    """What the callback reads of a Tune trial (hashable by identity, like Tune's)."""

    trial_id: str
    config: dict = field(default_factory=dict)


POINT = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32, "epochs": 2}
CNN_SMALL = {**NOTEBOOK_POINTS["cnn_small"], "family": "cnn", "padding": "valid"}


def epoch(number: int, val_accuracy: float) -> dict:
    return {"training_iteration": number, "val_accuracy": val_accuracy, "val_loss": 1 - val_accuracy,
            "train_accuracy": val_accuracy + 0.01, "train_loss": 0.9 - val_accuracy, "epoch_seconds": 2.5,
            "num_params": 1234, "node_id": "abc", "done": False}


def read(folder: Path) -> EventAccumulator:
    events = EventAccumulator(str(folder))
    events.Reload()
    return events


def test_each_trial_gets_its_own_run_with_training_and_validation_curves_per_epoch(tmp_path: Path) -> None:
    curves = TrialCurves(tmp_path)
    notebook = FakeTrial(trial_id="aaaa0001", config=CNN_SMALL)
    searched = FakeTrial(trial_id="bbbb0002", config={**CNN_SMALL, "learning_rate": 0.01})
    for trial in (notebook, searched):
        curves.log_trial_start(trial)
    curves.log_trial_result(1, notebook, epoch(1, 0.91))
    curves.log_trial_result(1, searched, epoch(1, 0.50))
    curves.log_trial_result(2, notebook, epoch(2, 0.95))
    curves.log_trial_end(notebook)
    curves.log_trial_end(searched, failed=True)
    runs = sorted(path.name for path in (tmp_path / TENSORBOARD_FOLDER).iterdir())
    assert runs == ["aaaa0001-cnn_small", "bbbb0002"]
    events = read(tmp_path / TENSORBOARD_FOLDER / "aaaa0001-cnn_small")
    assert sorted(events.Tags()["scalars"]) == sorted(SCALAR_TAGS.values())
    validation = [(event.step, event.value) for event in events.Scalars("accuracy/validation")]
    assert validation == [(1, pytest.approx(0.91)), (2, pytest.approx(0.95))]
    assert [event.step for event in events.Scalars("loss/train")] == [1, 2]
    other = read(tmp_path / TENSORBOARD_FOLDER / "bbbb0002")
    assert [(e.step, e.value) for e in other.Scalars("accuracy/validation")] == [(1, pytest.approx(0.5))]


def test_each_trial_carries_its_hyperparameters_for_the_hparams_tab(tmp_path: Path) -> None:
    curves = TrialCurves(tmp_path)
    trial = FakeTrial(trial_id="cccc0003", config=POINT)
    curves.log_trial_start(trial)
    curves.log_trial_result(1, trial, epoch(1, 0.9))
    curves.log_trial_end(trial)
    content = read(tmp_path / TENSORBOARD_FOLDER / "cccc0003").PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["optimizer"].string_value == "adam"
    assert start.session_start_info.hparams["batch_size"].number_value == 32
    assert "_hparams_/session_end_info" in content


def test_an_epoch_is_on_disk_within_seconds_while_the_trial_runs(tmp_path: Path) -> None:
    curves = TrialCurves(tmp_path)
    trial = FakeTrial(trial_id="dddd0004", config=POINT)
    curves.log_trial_result(1, trial, epoch(1, 0.8))  # a result before the start opens the writer too
    deadline = time.monotonic() + 5 * FLUSH_SECONDS
    while "accuracy/validation" not in read(tmp_path / TENSORBOARD_FOLDER / "dddd0004").Tags()["scalars"]:
        assert time.monotonic() < deadline, "the epoch did not reach the events file"
        time.sleep(0.2)
    curves.on_experiment_end([trial])
    assert curves.open_writers == 0, "the writers of trials Tune never completed are closed at the end"
