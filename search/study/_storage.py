"""The study's SQLite file, created so that nobody who opens it early sees it half made."""

from __future__ import annotations

import os
from pathlib import Path

import optuna


def open_study_storage(path: Path) -> optuna.storages.RDBStorage:
    """The SQLite storage of the study at ``path``, its tables made before the file appears.

    Two processes that create Optuna's tables in one new SQLite file at once fail (the second
    insert of the schema version breaks a unique constraint), and anyone may open the file as
    soon as it exists: optuna-dashboard, a script. So a new file is made beside it, tables and
    all, and moved into place in one step; readers then only read.
    """
    if not path.exists():
        creating = path.with_name(f".{path.name}.creating")
        creating.unlink(missing_ok=True)
        optuna.storages.RDBStorage(f"sqlite:///{creating}").engine.dispose()
        os.replace(creating, path)
    return optuna.storages.RDBStorage(f"sqlite:///{path}")
