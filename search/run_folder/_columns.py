"""Rows of ``trials.parquet`` and ``confirm.parquet``: each hyperparameter as its own ``hp_*`` column.

A configuration (a dict of hyperparameters, as a space returns it) becomes columns with
:func:`config_columns` and comes back with :func:`config_from_row`. Hyperparameters a row
does not use (a 1-block CNN has no ``filters_1``) are null in the table and absent from
the configuration.
"""

from __future__ import annotations

from typing import Any, Mapping

import pyarrow as pa

HP_PREFIX = "hp_"


def config_columns(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"hp_<name>": value}`` for every hyperparameter of ``config``, in name order."""
    return {f"{HP_PREFIX}{name}": value for name, value in sorted(config.items())}


def config_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration a row holds: its non-null ``hp_*`` columns, without the prefix."""
    return {key[len(HP_PREFIX):]: value for key, value in row.items()
            if key.startswith(HP_PREFIX) and value is not None}


def hyperparameter_names(rows: list[Mapping[str, Any]]) -> list[str]:
    """Every hyperparameter that some row has a column for, sorted."""
    return sorted({key[len(HP_PREFIX):] for row in rows for key in row if key.startswith(HP_PREFIX)})


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows -> an Arrow table: the fixed columns in the rows' order, then the ``hp_*`` columns
    sorted; a column a row lacks is null there."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    fixed = [column for column in columns if not column.startswith(HP_PREFIX)]
    hyper = sorted(column for column in columns if column.startswith(HP_PREFIX))
    ordered = fixed + hyper
    return pa.Table.from_pylist([{column: row.get(column) for column in ordered} for row in rows])
