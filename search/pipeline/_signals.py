"""Ctrl-C and SIGTERM during a search: Tune saves its state and the search returns."""

from __future__ import annotations

import os
import signal
import warnings
from typing import Any

from ray import tune


def fit_with_signals(tuner: tune.Tuner) -> tuple[tune.ResultGrid, bool]:
    """``tuner.fit()``, with SIGTERM taken as Ctrl-C; returns the grid and whether the search
    was interrupted. A Ctrl-C before Tune installs its own handler raises KeyboardInterrupt."""
    # A trial restarted after an interruption reports its epochs again; Optuna keeps the first.
    warnings.filterwarnings("ignore", message="The reported value is ignored because this `step")
    previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_sigint)
    signal.signal(signal.SIGINT, _interrupt_before_tune)
    try:
        grid = tuner.fit()
        # Tune's own SIGINT handler replaces ours during fit and, on the first Ctrl-C, stops
        # the search, saves its state and puts ours back: so ours in place means interrupted.
        interrupted = signal.getsignal(signal.SIGINT) is _interrupt_before_tune
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return grid, interrupted


def _interrupt_before_tune(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_as_sigint(signum: int, frame: Any) -> None:
    """SIGTERM stops the search the way Ctrl-C does: Tune saves its state and returns."""
    os.kill(os.getpid(), signal.SIGINT)
