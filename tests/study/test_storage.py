"""The study's SQLite file: created whole, so a reader who opens it early never races its creation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import optuna

from search.study import close_study_storage, open_study_storage, study_url


def test_a_reader_that_opens_the_study_file_the_moment_it_appears_never_races_its_creation(tmp_path: Path) -> None:
    """optuna-dashboard or a script may open study.db while the run creates it; two
    processes creating Optuna's tables in one file at once fail (IntegrityError)."""
    for attempt in range(6):
        path = tmp_path / f"study{attempt}.db"
        reader_errors: list[BaseException] = []

        def read_as_soon_as_it_exists() -> None:
            deadline = time.monotonic() + 10
            while not path.exists() and time.monotonic() < deadline:
                pass
            try:
                optuna.storages.RDBStorage(f"sqlite:///{path}")
            except Exception as error:  # noqa: BLE001 - the test reports whatever the reader hit
                reader_errors.append(error)

        reader = threading.Thread(target=read_as_soon_as_it_exists)
        reader.start()
        storage = open_study_storage(path)
        reader.join()
        assert reader_errors == []
        assert optuna.create_study(storage=storage, study_name="toy").trials == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".creating")], "no side file left"


def test_the_study_is_written_through_a_log_that_is_folded_back_when_the_search_ends(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    study = optuna.create_study(storage=open_study_storage(path), study_name="toy")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    assert (tmp_path / "study.db-wal").stat().st_size > 0, "the trials are in the log"
    close_study_storage(path)  # while the study is still open, as at the end of a search
    assert not (tmp_path / "study.db-wal").exists() or (tmp_path / "study.db-wal").stat().st_size == 0
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())  # the file alone, as an upload takes it
    assert len(optuna.load_study(study_name="toy", storage=f"sqlite:///{copy}").trials) == 3


def test_the_study_url_is_absolute_whatever_folder_the_run_was_named_from(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert study_url(Path("run") / "study.db") == f"sqlite:///{tmp_path.resolve()}/run/study.db"
