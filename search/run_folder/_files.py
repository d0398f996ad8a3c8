"""Writing a run's files so that a kill mid-write leaves the previous version whole.

Every file is written to a temporary file beside it and renamed into place; a run folder
mirrored to a storage URI (``--results s3://...``) gets the same file there too
(``_storage.mirror_file``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from search._text import first_line
from search.run_folder._storage import mirror_file


class RunFileError(ValueError):
    """A file of a run folder that cannot be read as what it holds (damaged, or edited by
    hand); the message names the file and what is wrong with it."""


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``path`` whole or not at all, then mirror it to its storage URI if it has one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    mirror_file(path, payload)


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(document, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_rows(path: Path, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """A Parquet file's rows as dicts (only ``columns``, those the file has, when given);
    ``RunFileError`` for a file that is not Parquet."""
    try:
        if columns is not None:
            present = set(pq.read_schema(path).names)
            columns = [column for column in columns if column in present]
        return pq.read_table(path, columns=columns).to_pylist()
    except pa.ArrowInvalid as error:
        raise RunFileError(f"{str(path)!r} is not a readable table ({first_line(error)})") from error
