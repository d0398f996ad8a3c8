"""The study's SQLite file: created whole, and written without waiting on the disk at every step."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

import optuna


def study_url(study_file: Path, *, read_only: bool = False) -> str:
    """The SQLAlchemy URL of the study in ``study_file`` (``sqlite:////abs/path/study.db``), as
    Optuna, optuna-dashboard and ``optuna.load_study`` take it: the one place it is spelled.

    ``read_only`` opens it as an SQLite URI in read-only mode: another run's study is read
    without a write, even where Optuna would create its tables (a file that is not a study)."""
    if read_only:
        return f"sqlite:///file:{urllib.parse.quote(str(Path(study_file).resolve()))}?mode=ro&uri=true"
    return f"sqlite:///{Path(study_file).resolve()}"


def open_study_storage(path: Path, *, write_ahead_log: bool = True) -> optuna.storages.RDBStorage:
    """The SQLite storage of the study at ``path``, its tables made before the file appears.

    Two processes that create Optuna's tables in one new SQLite file at once fail (the second
    insert of the schema version breaks a unique constraint), and anyone may open the file as
    soon as it exists: optuna-dashboard, a script. So a new file is made beside it, tables and
    all, and moved into place in one step; readers then only read.

    With ``write_ahead_log`` (not on a network file system, where SQLite's shared memory
    does not work) the file is in WAL mode with ``synchronous=NORMAL``: a write no longer
    waits for the disk at every commit (the searcher commits a dozen times a trial), and it
    survives a killed process all the same (not a power cut). ``close_study_storage`` folds the
    log back into the file when the search ends.
    """
    path = Path(path)
    if not path.exists():
        creating = path.with_name(f".{path.name}.creating")
        creating.unlink(missing_ok=True)
        optuna.storages.RDBStorage(study_url(creating)).engine.dispose()
        os.replace(creating, path)
    if not write_ahead_log:
        return optuna.storages.RDBStorage(study_url(path))
    return optuna.storages.RDBStorage(study_url(path), engine_kwargs={"creator": _WriteAheadConnection(path)})


class _WriteAheadConnection:
    """Opens the study file in WAL mode with ``synchronous=NORMAL`` (a class, not a closure:
    the storage is pickled with the searcher's state)."""

    def __init__(self, path: Path) -> None:
        self._path = str(path)

    def __call__(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection


def close_study_storage(path: Path) -> None:
    """Fold a study file's write-ahead log back into it and leave WAL mode, so that the file
    alone holds the whole study (to upload or copy it). Best effort: a reader holding the
    file (optuna-dashboard) may keep the log for a while, and SQLite folds it later."""
    path = Path(path)
    if not path.is_file():
        return
    try:
        with sqlite3.connect(str(path), timeout=5) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error:
        pass
