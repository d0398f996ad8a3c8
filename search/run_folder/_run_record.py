"""What ``run.json`` records besides the settings: the libraries, the time, where the driver runs
and whether it is still there."""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from search.run_folder._record import RUN_RUNNING, RunRecord

RECORDED_LIBRARIES = ("ray", "tensorflow", "keras", "jax", "optuna", "numpy", "pyarrow")


def library_versions() -> dict[str, str]:
    """Python's version and those of the libraries that decide what a run computes."""
    versions = {"python": platform.python_version()}
    for package in RECORDED_LIBRARIES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def now() -> str:
    """The time now, as ``run.json`` writes it (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# The driver stamps run.json this often while it searches (``tuning.Heartbeat``); a run that
# says "running" but has not been stamped for HEARTBEAT_TIMEOUT_S lost its driver.
HEARTBEAT_INTERVAL_S = 10.0
HEARTBEAT_TIMEOUT_S = 90.0


def driver_identity() -> dict[str, Any]:
    """Where this driver runs, as ``run.json`` records it (``driver``)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def driver_gone(record: RunRecord, *, at: datetime | None = None, host: str | None = None) -> bool:
    """Whether a run that says "running" has lost its driver: on the driver's own machine,
    its process is gone; elsewhere, no heartbeat for ``HEARTBEAT_TIMEOUT_S``. False for a run
    in any other state."""
    if record.state != RUN_RUNNING:
        return False
    driver = record.driver
    if driver is not None and driver.host == (host or socket.gethostname()) and driver.pid:
        if not _process_alive(int(driver.pid)):
            return True
    stamped = _parse_time(record.heartbeat or record.started)
    if stamped is None:
        return True
    return ((at or datetime.now(timezone.utc)) - stamped).total_seconds() > HEARTBEAT_TIMEOUT_S


def seconds_since_heartbeat(record: RunRecord, *, at: datetime | None = None) -> float | None:
    stamped = _parse_time(record.heartbeat or record.started)
    return None if stamped is None else ((at or datetime.now(timezone.utc)) - stamped).total_seconds()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _parse_time(text: Any) -> datetime | None:
    """A time as ``now()`` writes it; one without a time zone (written by hand) is taken as UTC."""
    try:
        stamped = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return stamped if stamped.tzinfo is not None else stamped.replace(tzinfo=timezone.utc)
