"""``--warm-start RUN ...``: the earlier runs a new search starts from, read before Ray starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search.cli import RunOptions, UsageError
from search.pipeline._run_location import pulled_run_folder
from search.run_folder import RunFileError, is_run_folder, load_record, run_uri
from search.study import WarmStart, WarmStartError, load_warm_start
from spaces import parameter_names


def read_warm_start(options: RunOptions) -> WarmStart | None:
    """The finished trials and best configurations of the runs ``--warm-start`` names (None
    without the flag); a run that cannot be started from is refused in one line, and the
    earlier runs are only read."""
    if not options.warm_start:
        return None
    runs = [(name, folder, _record(name, folder)) for name, folder in
            ((name, _run_folder(options.results, name)) for name in options.warm_start)]
    names = parameter_names(options.space, max_epochs=options.max_epochs, size_aware=options.size_aware)
    try:
        return load_warm_start(runs, space=options.space, objective=options.objective, parameter_names=names)
    except WarmStartError as error:
        raise UsageError(str(error)) from error


def _record(name: str, folder: Path) -> dict[str, Any]:
    """The earlier run's run.json as ``load_warm_start`` reads it; a damaged one refused in one line."""
    try:
        return load_record(folder).to_json()
    except RunFileError as error:
        raise UsageError(f"--warm-start {name!r}: {error}: give another run") from error


def _run_folder(results: str, name: str) -> Path:
    """Run ``name``'s folder in ``results`` (pulled into its staging folder from a storage URI)."""
    remote = run_uri(results, name)
    if remote is None:
        folder = Path(results).expanduser().resolve() / name
    else:
        folder = pulled_run_folder(results, name, remote, flag="--warm-start")
    if not is_run_folder(folder):
        raise UsageError(f"--warm-start {name!r}: there is no run of that name in {results!r}: list the runs "
                         f"with `python -m search.runs --results {results}`")
    return folder
