"""Results on disk: written atomically, so an interrupted write leaves the previous version whole."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import search.results as results
from search.results import atomic_write_bytes, trials_table, write_json, write_parquet


def test_a_write_interrupted_between_temporary_file_and_rename_keeps_the_old_version(monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_json(target, {"state": "finished", "trials": 12})

    def killed_before_rename(source, destination):
        raise KeyboardInterrupt  # the process is stopped right between the two steps

    monkeypatch.setattr(results.os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        write_json(target, {"state": "running"})
    assert json.loads(target.read_text()) == {"state": "finished", "trials": 12}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"], "no temporary file is left behind"


def test_a_full_disk_keeps_the_old_parquet_file(monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "trials.parquet"
    write_parquet(target, pa.table({"trial_id": ["a", "b"]}))

    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(results.os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_parquet(target, pa.table({"trial_id": ["a", "b", "c"]}))
    assert pq.read_table(target).column("trial_id").to_pylist() == ["a", "b"]
    assert [path.name for path in tmp_path.iterdir()] == ["trials.parquet"]


def test_atomic_writes_create_missing_folders(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"xyz")
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"xyz"


def test_hyperparameters_a_trial_did_not_use_are_null() -> None:
    table = trials_table([
        {"trial_id": "a", "hp_n_layers": 1, "hp_units_0": 64},
        {"trial_id": "b", "hp_n_layers": 2, "hp_units_0": 32, "hp_units_1": 16},
    ])
    assert table.column_names == ["trial_id", "hp_n_layers", "hp_units_0", "hp_units_1"]
    assert table.column("hp_units_1").to_pylist() == [None, 16]
    assert table.schema.field("hp_units_1").type == pa.int64()


def test_a_trial_row_holds_its_wall_time_and_the_time_of_its_epochs_alone() -> None:
    import pandas as pd
    from types import SimpleNamespace

    history = pd.DataFrame({"val_accuracy": [0.97, 0.98], "epoch_seconds": [6.0, 5.5]})
    trial = SimpleNamespace(trial_id="t1", status="TERMINATED", config={"epochs": 2})
    result = SimpleNamespace(config={"epochs": 2}, metrics_dataframe=history, error=None,
                             metrics={"time_total_s": 21.0, "num_params": 10})
    [row] = results.trial_rows([trial], [result], set())
    assert row["wall_seconds"] == 21.0  # with the worker's start and TensorFlow's import
    assert row["training_seconds"] == 11.5
    assert row["state"] == "completed" and row["best_epoch"] == 2
