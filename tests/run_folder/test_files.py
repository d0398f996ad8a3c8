"""Results on disk: written atomically, so an interrupted write leaves the previous version whole."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import search.run_folder._files as files
from search.run_folder import RunFileError, atomic_write_bytes, read_rows, write_json, write_parquet


def test_a_write_interrupted_between_temporary_file_and_rename_keeps_the_old_version(monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_json(target, {"state": "finished", "trials": 12})

    def killed_before_rename(source, destination):
        raise KeyboardInterrupt  # the process is stopped right between the two steps

    monkeypatch.setattr(files.os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        write_json(target, {"state": "running"})
    assert json.loads(target.read_text()) == {"state": "finished", "trials": 12}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"], "no temporary file is left behind"


def test_a_full_disk_keeps_the_old_parquet_file(monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "trials.parquet"
    write_parquet(target, pa.table({"trial_id": ["a", "b"]}))

    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_parquet(target, pa.table({"trial_id": ["a", "b", "c"]}))
    assert pq.read_table(target).column("trial_id").to_pylist() == ["a", "b"]
    assert [path.name for path in tmp_path.iterdir()] == ["trials.parquet"]


def test_atomic_writes_create_missing_folders(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"xyz")
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"xyz"


def test_a_table_that_is_not_parquet_is_a_run_file_error_naming_it(tmp_path: Path) -> None:
    damaged = tmp_path / "trials.parquet"
    damaged.write_bytes(b"garbage")
    with pytest.raises(RunFileError, match=f"{str(damaged)!r} is not a readable table"):
        read_rows(damaged)
    with pytest.raises(RunFileError):
        read_rows(damaged, columns=["trial_id"])
    assert damaged.read_bytes() == b"garbage"
