"""A trial refused its GPU ends the whole search at once, resumable once the nodes are mended.

A trial given a share of a GPU whose Keras backend lists none raises ``mnist_models.DeviceError``
within seconds (its training process checks before it trains). Every other trial placed on
such a node would do the same, and Tune would retry each up to ``--max-failures`` times: the
search would spend its budget failing. So the first refusal stops it.

It stops the way Ctrl-C does (Tune's own SIGINT handler, in the driver's main thread where
the callbacks run): Tune saves its state with the unfinished trials still unfinished, so
``--resume`` on a mended cluster runs them (from their last epoch where they have one). A
Tune stopper's ``stop_all`` would end them as TERMINATED instead, which ``Tuner.restore``
never runs again, and would mark the searcher finished.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from ray import tune

from mnist_models import DeviceError
from search.run_folder import RecordWriter

# How Tune's error file separates a trial's failures ("Failure # 2 (occurred at ...)").
_FAILURE_HEADER = "Failure # "
_REFUSAL = re.compile(rf"\b{DeviceError.__name__}: (.+)")


class DeviceRefusal(tune.Callback):
    """Stops the search at the first trial whose training process raised ``DeviceError`` and
    records its one line in the run's record (``error``), where the search step finds it.

    It holds the run folder's path and writes through the writer open for it
    (``RecordWriter.of``): Tune pickles its callbacks with the experiment, and a resumed search
    gets this one back unpickled."""

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = Path(run_dir)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._check(trial)  # Tune would retry it: a refused trial is not retried

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._check(trial)  # its retries spent (or --max-failures 0)

    def _check(self, trial: Any) -> None:
        line = refusal_line(_last_failure(trial))
        if line is None:
            return
        writer = RecordWriter.of(self._run_dir)
        if writer.record.error is not None:
            return  # an earlier trial's refusal is stopping the search already
        writer.update(error=line)
        print(f"trial {trial.trial_id} was refused its GPU; the search stops (Tune saves its state): {line}",
              file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)


def refusal_line(error_text: str | None) -> str | None:
    """The ``DeviceError``'s one line in a trial's error text (Ray's traceback of the trial's
    exception), or None when the error is another one."""
    found = _REFUSAL.findall(error_text or "")
    return found[-1].strip() if found else None


def _last_failure(trial: Any) -> str | None:
    """The text of the trial's latest failure: Tune appends each failure to the trial's error
    file, which a resumed trial keeps."""
    error_file = getattr(trial, "error_file", None)
    if not error_file or not Path(error_file).is_file():
        return None
    return Path(error_file).read_text(errors="replace").rsplit(_FAILURE_HEADER, 1)[-1]
