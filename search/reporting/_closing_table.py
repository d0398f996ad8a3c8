"""The closing table: the best trials next to the notebook's models, from the trial rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from search.run_folder import config_from_row
from spaces import describe, notebook_model_of

TOP_TRIALS = 5


def summary_table(rows: list[dict[str, Any]], *, top: int = TOP_TRIALS) -> str:
    """Best trials by best validation accuracy, then any notebook trial not among them."""
    scored, unscored = [], []
    for row in rows:
        (unscored if row.get("best_val_accuracy") is None else scored).append(row)
    ranked = sorted(scored, key=lambda row: -row["best_val_accuracy"])
    models = {id(row): notebook_model_of(config_from_row(row)) for row in ranked}
    chosen = ranked[:top] + [row for row in ranked[top:] if models[id(row)]]
    header = f"{'rank':>4}  {'trial':<12} {'model':<16} {'state':<13} {'epochs':>6} {'best val acc':>12} {'params':>9}  key values"
    lines = [header, "-" * len(header)]
    rank_of = {id(row): rank for rank, row in enumerate(ranked, start=1)}
    for row in chosen:
        lines.append(
            f"{rank_of[id(row)]:>4}  {row['trial_id']:<12} {models[id(row)] or 'searched':<16} {row['state']:<13} "
            f"{row['epochs_run']:>6} {row['best_val_accuracy']:>12.4f} {row['num_params'] or 0:>9,}  "
            f"{describe(config_from_row(row), detail='short')}"
        )
    if unscored:
        states = Counter(str(row.get("state")) for row in unscored)
        lines.append(f"({len(unscored)} trial(s) reported no epoch: "
                     f"{', '.join(f'{count} {state}' for state, count in sorted(states.items()))}; "
                     f"see the state and error columns of trials.parquet)")
    return "\n".join(lines)


def trained_line(devices: str | None, retries: int | None) -> str:
    """Where a search's trials trained and how many times Tune ran a trial again after a
    failure, in one line (the closing lines and the report): ``devices`` is ``run.json``'s
    ``trial_devices`` ("52 trials on 4 x NVIDIA A10G, 4 a GPU"), ``retries`` its ``trial_retries``
    (None: a run of an older version, which did not count them)."""
    line = f"trained: {devices or 'no trial reported where it trained'}"
    if retries is None:
        return line
    return line + f"; {retries} {'retry' if retries == 1 else 'retries'} of a trial after a failure (a lost node, a crash)"
