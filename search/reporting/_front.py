"""Accuracy against size: the search's validation front, the confirmed models along it, and
the best confirmed model within each size budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt

from search.reporting._plots import (
    DPI,
    FIGSIZE,
    VERDICT_MARKERS,
    accuracy_axis,
    accuracy_floor,
    annotate_apart,
    empty_figure,
    save_figure,
    thousands_axis,
    verdict_group,
    with_floor_note,
)
from search.verdict import SEARCHED_KIND, Judgement, Verdict
from spaces import SIZE_BUDGETS


def validation_front(trials: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The trials no other trial beats on both counts (higher best validation accuracy with at
    most as many parameters), from small to large."""
    scored = [row for row in trials if row.get("best_val_accuracy") is not None and row.get("num_params")]
    scored.sort(key=lambda row: (-float(row["best_val_accuracy"]), int(row["num_params"])))
    front: list[Mapping[str, Any]] = []
    for row in scored:
        if all(int(row["num_params"]) < int(kept["num_params"]) for kept in front):
            front.append(row)
    return sorted(front, key=lambda row: int(row["num_params"]))


def best_within_budgets(judgement: Judgement,
                        budgets: Sequence[int] = SIZE_BUDGETS) -> list[tuple[int, Verdict | None]]:
    """For each size budget, the confirmed configuration of at most that many parameters with
    the highest mean test accuracy (None where none was confirmed)."""
    searched = [verdict for verdict in judgement.verdicts if verdict.summary.kind == SEARCHED_KIND
                and verdict.summary.mean is not None and verdict.summary.num_params and not verdict.summary.failed_seeds]
    table = []
    for budget in budgets:
        within = [verdict for verdict in searched if verdict.summary.num_params <= budget]
        table.append((budget, max(within, key=lambda verdict: verdict.summary.mean) if within else None))
    return table


def front_chart(judgement: Judgement | None, trials: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Every trial's best validation accuracy against its parameters (log scale) with the
    validation front as a step line; the confirmed configurations' mean test accuracy (green
    where they beat the notebook) and the notebook's models (grey squares) over them."""
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    scored = [row for row in trials if row.get("best_val_accuracy") is not None and row.get("num_params")]
    if not scored:
        empty_figure(ax, "no trial reported a validation score")
        return save_figure(fig, path)
    front = validation_front(trials)
    drawn = [verdict for verdict in (judgement.verdicts if judgement is not None else ())
             if verdict.summary.mean is not None and verdict.summary.num_params]
    values = [float(row["best_val_accuracy"]) for row in front] + [float(v.summary.mean) for v in drawn]
    low = accuracy_floor(values)
    ax.scatter([row["num_params"] for row in scored], [max(float(row["best_val_accuracy"]), low) for row in scored],
               s=10, color="lightsteelblue", label="trial (best validation accuracy)", zorder=1)
    ax.step([row["num_params"] for row in front], [max(float(row["best_val_accuracy"]), low) for row in front],
            where="post", color="tab:blue", linewidth=1.2, label="validation front of the search", zorder=2)
    points = []
    for verdict in drawn:
        s = verdict.summary
        ax.scatter([s.num_params], [max(s.mean, low)], s=80, edgecolor="black", zorder=3, **_marker(verdict))
        points.append((s.name, s.num_params, max(s.mean, low)))
    if judgement is not None and judgement.threshold is not None:
        ax.axhline(judgement.threshold, color="tab:red", linestyle="--", linewidth=1,
                   label=f"notebook's best published figure ({judgement.threshold:.4f})")
    ax.set_xscale("log")
    thousands_axis(ax)
    accuracy_axis(ax, low, max(values + ([judgement.threshold] if judgement is not None and judgement.threshold else [])))
    annotate_apart(ax, points, fontsize=8)
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("accuracy")
    below = sum(1 for row in scored if float(row["best_val_accuracy"]) < low) + sum(1 for v in drawn if v.summary.mean < low)
    ax.set_title(with_floor_note("Accuracy against model size: the search's front and the confirmed models", below, low),
                 fontsize=11)
    ax.grid(alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
              fontsize=8, frameon=False)
    return save_figure(fig, path)



FRONT_CHART_LABELS = {"notebook": "notebook model (test, re-measured)",
                      "ensemble": "ensemble of the confirmed models (test)",
                      "beats": "confirmed, beats the notebook (test mean)",
                      "does not beat": "confirmed, does not beat it (test mean)"}


def _marker(verdict: Verdict) -> dict[str, str]:
    """How a confirmed row is drawn (as on the test-accuracy chart), labelled as test scores
    among the search's validation scores."""
    group = verdict_group(verdict)
    colour, marker = VERDICT_MARKERS[group]
    return {"color": colour, "marker": marker, "label": FRONT_CHART_LABELS[group]}
