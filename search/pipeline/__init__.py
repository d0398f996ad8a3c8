"""A run's lifecycle, from the parsed command line to the results folder: a new run (search,
confirmation, report) or the resume of an interrupted one. Each step is handed plain
settings made from the options (``_settings``); ``run.json`` is written through
``run_folder.RecordWriter``. ``run_search`` is offered for the scale benchmark, which drives
a search of sleeping trials without the rest of a run."""

from search.pipeline._new_run import start_new_run
from search.pipeline._outcome import Outcome
from search.pipeline._resume import resume_run
from search.pipeline._search_step import RunFailed, run_search
from search.cli import RunOptions


def execute(options: RunOptions) -> Outcome:
    """Run what the command line asks: a new run, or ``--resume NAME``."""
    return resume_run(options) if options.resume else start_new_run(options)


__all__ = ["Outcome", "RunFailed", "execute", "run_search"]
