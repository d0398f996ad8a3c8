"""The confirmation step and the report: the last two steps of a run."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from mnist_models import DeviceError, Mnist
from search.confirmation import ConfirmSettings, confirm
from search.pipeline._search_step import RunFailed
from search.reporting import render_report
from search.run_folder import RUN_FAILED, RUN_INTERRUPTED, TRIALS_FILE, Confirmation, RecordWriter


class ConfirmationInterrupted(Exception):
    """Ctrl-C during the confirmation: the search's results and the notebook measurements made
    so far are kept, and ``--resume`` confirms again."""


def confirm_and_report(settings: ConfirmSettings | None, *, writer: RecordWriter, trial_rows: list[dict[str, Any]],
                       mnist: Mnist, resume: str, out: TextIO | None = None) -> None:
    """Confirm (unless ``settings`` is None: ``--no-confirm``) and write the report.

    ``resume`` is the command that confirms again after an interrupt or a failure. Raises
    ``ConfirmationInterrupted`` on Ctrl-C, and ``RunFailed`` when a job is refused for its device
    (the one line, also recorded as the confirmation's ``error``; the search's results are kept)
    or when the report cannot be written.
    """
    out = out or sys.stdout
    run_dir = writer.run_dir
    if settings is not None:
        try:
            section = confirm(settings, run_dir=run_dir, trial_rows=trial_rows, mnist=mnist, out=out)
        except KeyboardInterrupt:
            writer.update(confirmation=Confirmation(state=RUN_INTERRUPTED))
            print(f"\nsearch.run: the confirmation was interrupted; the search's results are saved in {run_dir} "
                  f"({TRIALS_FILE}) and notebook measurements already made are in the cache; confirm again "
                  f"with: {resume}", file=sys.stderr)
            raise ConfirmationInterrupted from None
        except DeviceError as error:
            writer.update(confirmation=Confirmation(state=RUN_FAILED, error=str(error)))
            print(f"\nsearch.run: the confirmation stopped at its first job refused for its device; the search's "
                  f"results are saved in {run_dir} ({TRIALS_FILE}) and notebook measurements already made are in "
                  f"the cache; once the nodes are mended, confirm again with: {resume}", file=sys.stderr)
            raise RunFailed(str(error)) from None
        writer.update(confirmation=Confirmation.from_json(section))
    try:
        paths = render_report(run_dir)
    except Exception as error:  # The results are on disk already; say how to retry.
        raise RunFailed(f"the report could not be written ({type(error).__name__}: {error}); the results are in "
                        f"{run_dir}: re-render with python -m search.report {run_dir}") from error
    print(f"report: {paths['html']} (and {paths['md'].name}, figures beside it)", file=out, flush=True)
