"""The one writer of ``run.json``: the run's record held in memory, saved whole and atomically
at every change.

Several parts of a run change its record while it runs: the pipeline (settings, state,
results), the heartbeat and the target's stopper (Tune callbacks in the driver process). Tune
pickles its callbacks and stoppers with the experiment, and a resumed search gets them back
unpickled, so they cannot hold the writer itself: they hold the run folder's path and find
the writer open for it in this process with ``RecordWriter.of(run_dir)``. All changes go
to the same in-memory record, so the pipeline learns what the stopper wrote without
reading the file back.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, ClassVar

from search._text import first_line
from search.run_folder._files import RunFileError, read_json, write_json
from search.run_folder._layout import RUN_FILE
from search.run_folder._record import RunRecord


def load_record(run_dir: Path) -> RunRecord:
    """A run folder's ``run.json`` as a record, read only (``RunFileError``, a ``ValueError``,
    for a damaged file)."""
    path = Path(run_dir) / RUN_FILE
    try:
        return RunRecord.from_json(read_json(path))
    except ValueError as error:  # not JSON (nor UTF-8), or not a record's fields
        raise RunFileError(f"{str(path)!r} is not a readable run record ({first_line(error)})") from error


class RecordWriter:
    """The open record of one run folder; the only code that writes ``run.json``."""

    # The writer open for each run folder in this process, by the folder's resolved path.
    _open: ClassVar[dict[Path, "RecordWriter"]] = {}

    def __init__(self, run_dir: Path, record: RunRecord) -> None:
        self.run_dir = Path(run_dir)
        self.record = record

    @classmethod
    def create(cls, run_dir: Path, record: RunRecord) -> "RecordWriter":
        """Create the run's folder with its run.json; if that fails (a full disk), leave nothing behind."""
        Path(run_dir).mkdir(parents=True)
        writer = cls(run_dir, record)
        try:
            writer.save()
        except OSError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return writer._registered()

    @classmethod
    def open(cls, run_dir: Path) -> "RecordWriter":
        """The record of an existing run (to resume it), open for writing in this process."""
        return cls(run_dir, load_record(run_dir))._registered()

    @classmethod
    def of(cls, run_dir: Path) -> "RecordWriter":
        """The writer open for ``run_dir`` in this process; one is opened from the file if none
        is (a callback that outlived its driver's writer)."""
        return cls._open.get(_key(Path(run_dir))) or cls.open(run_dir)

    def update(self, **fields: Any) -> None:
        """Set the record's ``fields`` (``RunRecord``'s names; a typo is a ``TypeError``) and save it."""
        self.record = dataclasses.replace(self.record, **fields,
                                          unrecorded=self.record.unrecorded - fields.keys())
        self.save()

    def _registered(self) -> "RecordWriter":
        RecordWriter._open[_key(self.run_dir)] = self
        return self

    def save(self) -> None:
        write_json(self.run_dir / RUN_FILE, self.record.to_json())


def _key(run_dir: Path) -> Path:
    return run_dir.expanduser().resolve()
