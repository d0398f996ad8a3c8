"""The ``state`` column of ``trials.parquet``: how each trial of the search ended.

Defined here, in the run folder's contract, because the Tune wiring writes it
(``tuning/_trial_rows.py``) while the report, the confirmation and ``--resume`` read it, and
those may not import the Tune wiring.
"""

from __future__ import annotations

COMPLETED = "completed"  # ran all its planned epochs
EARLY_STOPPED = "early_stopped"  # stopped by ASHA before its last epoch
CUT_BY_BUDGET = "cut_by_budget"  # ended by the search's time budget
CUT_AT_TARGET = "cut_at_target"  # ended because a trial reached --stop-at
FAILED = "failed"  # raised, or Tune marked it ERROR
INTERRUPTED = "interrupted"  # the search was interrupted (Ctrl-C, SIGTERM): --resume continues it
TRIAL_STATES = (COMPLETED, EARLY_STOPPED, CUT_BY_BUDGET, CUT_AT_TARGET, FAILED, INTERRUPTED)
