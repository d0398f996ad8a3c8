"""``run.json`` of one run, held in memory and written whole (atomically) at every change."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from search.run_folder import RUN_FILE, read_json, write_json


class RunRecord:
    def __init__(self, run_dir: Path, document: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.document = document

    @classmethod
    def create(cls, run_dir: Path, document: dict[str, Any]) -> "RunRecord":
        """Create the run's folder with its run.json; if that fails (a full disk), leave nothing behind."""
        run_dir.mkdir(parents=True)
        record = cls(run_dir, document)
        try:
            record.save()
        except OSError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return record

    @classmethod
    def load(cls, run_dir: Path) -> "RunRecord":
        return cls(run_dir, read_json(Path(run_dir) / RUN_FILE))

    def get(self, key: str, default: Any = None) -> Any:
        return self.document.get(key, default)

    def update(self, **fields: Any) -> None:
        self.document.update(fields)
        self.save()

    def save(self) -> None:
        write_json(self.run_dir / RUN_FILE, self.document)
