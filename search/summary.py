"""The closing table: the best trials next to the notebook's models, from the trial rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from spaces import start_points

TOP_TRIALS = 5


def notebook_model_of(row: dict[str, Any], space: str, max_epochs: int) -> str | None:
    """The start point this trial ran, if any: a notebook model, or one with a cosine schedule."""
    for model, point in start_points(space, max_epochs=max_epochs).items():
        if all(row.get(f"hp_{key}") == value for key, value in point.items()):
            return model
    return None


def summary_table(rows: list[dict[str, Any]], *, space: str, max_epochs: int, top: int = TOP_TRIALS) -> str:
    """Best trials by best validation accuracy, then any notebook trial not among them."""
    scored, unscored = [], []
    for row in rows:
        (unscored if row.get("best_val_accuracy") is None else scored).append(row)
    ranked = sorted(scored, key=lambda row: -row["best_val_accuracy"])
    chosen = ranked[:top]
    for row in ranked[top:]:
        if notebook_model_of(row, space, max_epochs):
            chosen.append(row)
    header = f"{'rank':>4}  {'trial':<12} {'model':<16} {'state':<13} {'epochs':>6} {'best val acc':>12} {'params':>9}  key values"
    lines = [header, "-" * len(header)]
    rank_of = {id(row): rank for rank, row in enumerate(ranked, start=1)}
    for row in chosen:
        model = notebook_model_of(row, space, max_epochs) or "searched"
        lines.append(
            f"{rank_of[id(row)]:>4}  {row['trial_id']:<12} {model:<16} {row['state']:<13} "
            f"{row['epochs_run']:>6} {row['best_val_accuracy']:>12.4f} {row['num_params'] or 0:>9,}  "
            f"{_key_values(row, space)}"
        )
    if unscored:
        states = Counter(str(row.get("state")) for row in unscored)
        lines.append(f"({len(unscored)} trial(s) reported no epoch: "
                     f"{', '.join(f'{count} {state}' for state, count in sorted(states.items()))}; "
                     f"see the state and error columns of trials.parquet)")
    return "\n".join(lines)


def _key_values(row: dict[str, Any], space: str) -> str:
    if space == "cnn":
        blocks = int(row.get("hp_n_blocks") or 0)
        filters = "-".join(str(row.get(f"hp_filters_{b}")) for b in range(blocks))
        text = f"conv {filters}"
        if row.get("hp_batch_norm"):
            text += " bn"
        if row.get("hp_augment"):
            text += " aug"
    else:
        layers = int(row.get("hp_n_layers") or 0)
        text = "dense " + "-".join(str(row.get(f"hp_units_{layer}")) for layer in range(layers))
    schedule = " cos" if row.get("hp_lr_schedule") == "cosine" else ""
    return f"{text} {row.get('hp_optimizer')} lr={row.get('hp_learning_rate'):.2g}{schedule} b={row.get('hp_batch_size')}"
