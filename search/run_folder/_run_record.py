"""What ``run.json`` records besides the settings: the libraries, the time, where the driver runs."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

RECORDED_LIBRARIES = ("ray", "tensorflow", "keras", "optuna", "numpy", "pyarrow")


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
