"""Rows of the Parquet files: each hyperparameter its own ``hp_*`` column, and back."""

from __future__ import annotations

import pyarrow as pa

from search.run_folder import config_columns, config_from_row, hyperparameter_names, rows_table


def test_a_configuration_becomes_hp_columns_in_name_order_and_comes_back_whole() -> None:
    config = {"units_0": 64, "family": "dense", "n_layers": 1, "activation": "relu"}
    columns = config_columns(config)
    assert list(columns) == ["hp_activation", "hp_family", "hp_n_layers", "hp_units_0"]
    assert config_from_row({"trial_id": "a", "best_val_accuracy": 0.9, **columns}) == config


def test_hyperparameters_a_row_leaves_null_are_not_part_of_its_configuration() -> None:
    assert config_from_row({"hp_n_layers": 1, "hp_units_0": 64, "hp_units_1": None}) == {"n_layers": 1, "units_0": 64}
    assert hyperparameter_names([{"hp_b": 1}, {"hp_a": None, "x": 2}]) == ["a", "b"]


def test_hyperparameters_a_trial_did_not_use_are_null() -> None:
    table = rows_table([
        {"trial_id": "a", "hp_n_layers": 1, "hp_units_0": 64},
        {"trial_id": "b", "hp_n_layers": 2, "hp_units_0": 32, "hp_units_1": 16},
    ])
    assert table.column_names == ["trial_id", "hp_n_layers", "hp_units_0", "hp_units_1"]
    assert table.column("hp_units_1").to_pylist() == [None, 16]
    assert table.schema.field("hp_units_1").type == pa.int64()


