"""How a run ends: finished, or interrupted (with the command that goes on)."""

from __future__ import annotations

import enum

from mnist_models import Mnist
from search.cli import RunOptions
from search.pipeline._confirm_step import ConfirmationInterrupted, confirm_and_report
from search.pipeline._search_step import SearchOutcome
from search.pipeline._settings import confirm_settings
from search.run_folder import RecordWriter


class Outcome(enum.Enum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # Tune saved its state (or the confirmation stopped): --resume goes on


def finish(search: SearchOutcome, *, options: RunOptions, writer: RecordWriter, mnist: Mnist, resume: str) -> Outcome:
    """After the search: say how to go on if it was interrupted, else confirm and report."""
    if search.interrupted:
        print(f"\nThe search was interrupted; Tune saved its state. Continue it with:\n  {resume}", flush=True)
        return Outcome.INTERRUPTED
    return confirm_and_report_outcome(options, writer=writer, rows=search.rows, mnist=mnist, resume=resume)


def confirm_and_report_outcome(options: RunOptions, *, writer: RecordWriter, rows: list[dict], mnist: Mnist,
                               resume: str) -> Outcome:
    try:
        confirm_and_report(confirm_settings(options, writer.record), writer=writer, trial_rows=rows,
                           mnist=mnist, resume=resume)
    except ConfirmationInterrupted:
        return Outcome.INTERRUPTED
    return Outcome.FINISHED
