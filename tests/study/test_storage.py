"""The study's SQLite file: created whole, so a reader who opens it early never races its creation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import optuna

from search.study import open_study_storage


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
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"study{n}.db" for n in range(6)], "no side file left"
