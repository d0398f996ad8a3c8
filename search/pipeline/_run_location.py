"""Where an earlier run's folder is on this machine: ``results/name``, or its staging folder
pulled from a storage URI."""

from __future__ import annotations

from pathlib import Path

from search.cli import UsageError
from search.run_folder import StorageError, pull_folder, staging_folder


def pulled_run_folder(results: str, name: str, remote: str, *, flag: str) -> Path:
    """Run ``name``'s staging folder, filled from its storage URI ``remote`` (all but Tune's
    folder, which Tune reads from the URI itself); ``flag`` names the option in the error."""
    folder = staging_folder(results, name)
    try:
        pull_folder(remote, folder)
    except (StorageError, OSError) as error:
        raise UsageError(f"{flag} {name!r}: {results!r} cannot be read ({error}): check the URI and "
                         f"this machine's credentials") from error
    return folder
