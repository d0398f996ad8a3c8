"""A run's lifecycle, from the parsed command line to the results folder: a new run (search,
confirmation, report) or the resume of an interrupted one. Each step is handed plain
settings made from the options (``_settings``); ``run.json`` is kept by ``RunRecord``."""

from search.pipeline._confirm_step import ConfirmationInterrupted
from search.pipeline._new_run import start_new_run
from search.pipeline._outcome import Outcome
from search.pipeline._resume import resume_run
from search.pipeline._run_record import RunRecord
from search.pipeline._search_step import RunFailed, run_search
from search.cli import RunOptions


def execute(options: RunOptions) -> Outcome:
    """Run what the command line asks: a new run, or ``--resume NAME``."""
    return resume_run(options) if options.resume else start_new_run(options)


__all__ = ["ConfirmationInterrupted", "Outcome", "RunFailed", "RunRecord", "execute", "resume_run", "run_search",
           "start_new_run"]
