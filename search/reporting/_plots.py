"""The report's figures, drawn with matplotlib (Agg backend) into PNG files.

Each function takes plain rows (``trials.parquet``/``confirm.parquet`` as lists of dicts)
and writes one PNG; none of them trains, starts Ray or reads anything but its arguments.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from search.run_folder import (  # noqa: E402
    COMPLETED,
    CUT_AT_TARGET,
    CUT_BY_BUDGET,
    EARLY_STOPPED,
    FAILED,
    INTERRUPTED,
    atomic_write_bytes,
    config_from_row,
    hyperparameter_names,
)
from search.verdict import ENSEMBLE_KIND, NOTEBOOK_KIND  # noqa: E402
from spaces import DERIVED_KEYS  # noqa: E402

FIGSIZE = (9.0, 5.2)
DPI = 110
STATE_STYLE = {  # state -> (colour, label)
    COMPLETED: ("tab:blue", "ran all its epochs"),
    EARLY_STOPPED: ("tab:orange", "stopped early by ASHA (x)"),
    CUT_BY_BUDGET: ("tab:gray", "cut by the time budget"),
    CUT_AT_TARGET: ("tab:green", "cut at the target (--stop-at)"),
    INTERRUPTED: ("tab:gray", "interrupted"),
    FAILED: ("tab:red", "failed"),
}
IMPORTANCE_BINS = 4
IMPORTANCE_MIN_TRIALS = 6
# Returned by the spaces, not suggested: no choice of the search to rank.
IGNORED_HYPERPARAMETERS = DERIVED_KEYS


def optimization_history(trials: Sequence[Mapping[str, Any]], path: Path, *,
                         ended_minutes: Mapping[str, float] | None = None,
                         notebook_names: Mapping[str, str] | None = None) -> Path:
    """Best validation accuracy so far against the time each trial ended (minutes since the
    search began), each trial a dot; in trial order when the times are unknown."""
    scored = [row for row in trials if row.get("best_val_accuracy") is not None]
    use_time = bool(ended_minutes) and all(row["trial_id"] in ended_minutes for row in scored)
    if use_time:
        scored.sort(key=lambda row: ended_minutes[row["trial_id"]])
        xs = [ended_minutes[row["trial_id"]] for row in scored]
        xlabel = "minutes since the search began (trial end)"
        if max(xs) < 2:  # a short run reads better in seconds
            xs = [x * 60 for x in xs]
            xlabel = "seconds since the search began (trial end)"
    else:
        xs = list(range(1, len(scored) + 1))
        xlabel = "trial (in the order of trials.parquet; end times unavailable)"
    ys = [float(row["best_val_accuracy"]) for row in scored]
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    if not scored:
        empty_figure(ax, "no trial reported a validation score")
        return save_figure(fig, path)
    low = _zoom_floor(ys)
    for state, (colour, label) in STATE_STYLE.items():
        points = [(x, y) for x, y, row in zip(xs, ys, scored) if row["state"] == state]
        if points:
            px, py = zip(*points)
            ax.scatter(px, np.maximum(py, low), s=22, color=colour, alpha=0.75,
                       label=f"{label.replace(' (x)', '')}: {len(points)}", zorder=3)
    running = np.maximum(np.maximum.accumulate(ys), low)
    ax.step(xs, running, where="post", color="black", linewidth=1.8, label="best so far", zorder=4)
    for row, x, y in zip(scored, xs, ys):
        name = (notebook_names or {}).get(row["trial_id"])
        if name:
            ax.annotate(f"{name} (notebook)", (x, max(y, low)), textcoords="offset points", xytext=(6, -12),
                        fontsize=8)
    hidden = sum(1 for y in ys if y < low)
    ax.set_ylim(low, min(1.0, max(ys) + (max(ys) - low) * 0.08 + 1e-4))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("best validation accuracy of the trial")
    title = f"Optimization history: best {max(ys):.4f} after {len(ys)} trials"
    if hidden:
        title += f" ({hidden} trial(s) below {low:.2f} drawn on the bottom edge)"
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    return save_figure(fig, path)


def learning_curves(trials: Sequence[Mapping[str, Any]], path: Path, *,
                    notebook_names: Mapping[str, str] | None = None) -> Path:
    """Validation accuracy per epoch of every trial, coloured by how it ended; an x marks
    the epoch at which ASHA stopped a trial."""
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    curves = [(row, list(row.get("val_accuracy_per_epoch") or [])) for row in trials]
    curves = [(row, curve) for row, curve in curves if curve]
    if not curves:
        empty_figure(ax, "no trial reported a validation score")
        return save_figure(fig, path)
    low = _zoom_floor([value for _, curve in curves for value in curve])
    counts: dict[str, int] = {}
    for row, curve in curves:
        state = row.get("state", COMPLETED)
        colour, _ = STATE_STYLE.get(state, ("tab:gray", state))
        counts[state] = counts.get(state, 0) + 1
        epochs = np.arange(1, len(curve) + 1)
        values = np.maximum(curve, low)
        ax.plot(epochs, values, color=colour, alpha=0.55, linewidth=1.1, marker="." if len(curve) == 1 else None)
        if state == EARLY_STOPPED:
            ax.scatter([epochs[-1]], [values[-1]], marker="x", s=40, color=colour, zorder=3)
        name = (notebook_names or {}).get(row["trial_id"])
        if name:
            ax.plot(epochs, values, color="black", linewidth=2.2, zorder=4)
            ax.annotate(f"{name} (notebook)", (epochs[-1], values[-1]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    for state, (colour, label) in STATE_STYLE.items():
        if counts.get(state):
            ax.plot([], [], color=colour, label=f"{label}: {counts[state]}")
    max_epoch = max(len(curve) for _, curve in curves)
    ax.set_xticks(range(1, max_epoch + 1))
    ax.set_xlim(0.8, max_epoch + 0.4)
    ax.set_ylim(low, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"Learning curves of all {len(curves)} trials (scores below {low:.2f} drawn at the bottom)",
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    return save_figure(fig, path)


def importances(trials: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, int]]:
    """Each hyperparameter's share of the rank variance of best validation accuracy that its
    value explains (eta squared of the ranks, numbers binned into quartiles), over the trials
    that used it: [(name, share, trials)], largest first.

    Ranks, not raw scores, so the few diverged trials at 10% do not decide everything.
    """
    scored = [row for row in trials if row.get("best_val_accuracy") is not None and row.get("state") != FAILED]
    names = [name for name in hyperparameter_names(scored) if name not in IGNORED_HYPERPARAMETERS]
    configs = [(float(row["best_val_accuracy"]), config_from_row(row)) for row in scored]
    result = []
    for name in names:
        used = [(score, config[name]) for score, config in configs if name in config]
        if len(used) < IMPORTANCE_MIN_TRIALS:
            continue
        groups = _groups([value for _, value in used])
        if len(set(groups)) < 2:
            continue
        ranks = _ranks([score for score, _ in used])
        result.append((name, _eta_squared(ranks, groups), len(used)))
    return sorted(result, key=lambda item: -item[1])


def importance_chart(trials: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Horizontal bars of ``importances``."""
    found = importances(trials)
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    if not found:
        empty_figure(ax, f"too few trials for importances (at least {IMPORTANCE_MIN_TRIALS} scored trials "
                   f"per hyperparameter are needed)")
        return save_figure(fig, path)
    found = found[:16][::-1]
    labels = [f"{name} ({count} trials)" for name, _, count in found]
    ax.barh(labels, [share for _, share, _ in found], color="tab:blue", alpha=0.8)
    for index, (_, share, _) in enumerate(found):
        ax.text(share + 0.005, index, f"{share:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, min(1.0, max(share for _, share, _ in found) * 1.2 + 0.02))
    ax.set_xlabel("share of the rank variance of best validation accuracy explained (eta squared)")
    ax.set_title("Hyperparameter importance (numbers binned into quartiles; few trials make this noisy)",
                 fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def thousands_axis(ax: Any) -> None:
    """Parameter counts on a log x axis, labelled 1k, 2k, 5k, 10k, ..."""
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value / 1000:g}k"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
        lambda value, _: f"{value / 1000:g}k" if f"{value:.0e}"[0] in "25" else ""))
    ax.tick_params(axis="x", which="minor", labelsize=7)


# How each group of the verdict table is drawn on the accuracy-against-size charts: (colour, marker).
VERDICT_MARKERS = {"notebook": ("dimgray", "s"), "ensemble": ("tab:purple", "D"), "beats": ("tab:green", "o"),
                   "does not beat": ("tab:orange", "o")}
SIZE_CHART_LABELS = {"notebook": "notebook model (re-measured)",
                     "ensemble": "ensemble of the confirmed models (its members' parameters)",
                     "beats": "beats the notebook", "does not beat": "does not beat it"}


def verdict_group(verdict: Any) -> str:
    """The key of ``VERDICT_MARKERS`` a row of the verdict table is drawn by."""
    if verdict.summary.kind == NOTEBOOK_KIND:
        return "notebook"
    if verdict.summary.kind == ENSEMBLE_KIND:
        return "ensemble"
    return "beats" if verdict.beats else "does not beat"


def accuracy_vs_parameters(judgement: Any, path: Path, *, threshold: float | None) -> Path:
    """Test accuracy (each seed a small dot, the mean a large marker) against the parameter
    count, the notebook's models as grey squares; the notebook's published best as a line."""
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    summaries = [v for v in judgement.verdicts if v.summary.mean is not None and v.summary.num_params]
    if not summaries:
        empty_figure(ax, "no confirmed test scores")
        return save_figure(fig, path)
    values = [value for v in summaries for value in v.summary.accuracies]
    low = accuracy_floor(values)
    labelled: set[str] = set()
    for verdict in summaries:
        s = verdict.summary
        group = verdict_group(verdict)
        (colour, marker), label = VERDICT_MARKERS[group], SIZE_CHART_LABELS[group]
        ax.scatter([s.num_params] * len(s.accuracies), np.maximum(s.accuracies, low), s=14, color=colour,
                   alpha=0.5, zorder=2)
        ax.scatter([s.num_params], [max(s.mean, low)], s=90, color=colour, marker=marker, edgecolor="black",
                   zorder=3, label=None if label in labelled else label)
        labelled.add(label)
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1,
                   label=f"notebook's best published figure ({threshold:.4f})")
    if judgement.best_notebook is not None:
        ax.axhline(judgement.best_notebook.mean, color="dimgray", linestyle=":", linewidth=1,
                   label=f"best re-measured notebook mean ({judgement.best_notebook.name}, "
                         f"{judgement.best_notebook.mean:.4f})")
    accuracy_axis(ax, low, max(values + ([threshold] if threshold else [])))
    ax.set_xscale("log")
    params = [v.summary.num_params for v in summaries]
    ax.set_xlim(min(params) / 1.5, max(params) * 2.0)
    thousands_axis(ax)
    annotate_apart(ax, [(v.summary.name, v.summary.num_params, max(v.summary.mean, low)) for v in summaries],
                   fontsize=8)
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("test accuracy (small dots: seeds; large: mean)")
    ax.set_title(with_floor_note("Test accuracy against model size", sum(1 for value in values if value < low), low),
                 fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    return save_figure(fig, path)


# The widest span of accuracy a chart of models shows below its best: tiny models that never
# learnt (0.1 to 0.3) would otherwise squash the differences among those that did.
ACCURACY_SPAN = 0.25


def accuracy_floor(values: Sequence[float]) -> float:
    """The lowest accuracy a chart of ``values`` shows: the lowest of them, or, when some lie
    more than ``ACCURACY_SPAN`` below the highest, that far below it (rounded down to 0.01);
    the chart draws those on its bottom edge and says how many."""
    lowest, highest = min(values), max(values)
    if lowest >= highest - ACCURACY_SPAN:
        return lowest
    return max(0.0, math.floor((highest - ACCURACY_SPAN) * 100) / 100)


def with_floor_note(title: str, below: int, floor: float) -> str:
    """``title``, and on a second line how many points lie below ``floor`` (drawn on the bottom edge)."""
    return f"{title}\n({below} point(s) below {floor:.2f} drawn on the bottom edge)" if below else title


def accuracy_axis(ax: Any, floor: float, top: float) -> None:
    """The y limits from ``floor`` to ``top`` with a margin, so the markers there stay whole."""
    margin = 0.03 * (top - floor) + 0.001
    ax.set_ylim(floor - margin, min(1.0 + margin, top + margin))


# Where a point's name may go, in points from the point: right-above first, then below, higher,
# lower, and left of the point.
LABEL_OFFSETS = ((7, 4), (7, -12), (7, 14), (7, -22), (7, 24), (-7, 4), (-7, -12), (7, 34), (7, -32),
                 (-7, 14), (-7, -22))
# The places beside the point; a name placed anywhere else is joined to its point by a line,
# since among close points it may sit nearer another point than its own.
BESIDE_OFFSETS = ((7, 4), (7, -12), (-7, 4), (-7, -12))


def label_offsets(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]], *,
                  marker_radius: float = 0.0,
                  bounds: tuple[float, float, float, float] | None = None) -> list[tuple[float, float]]:
    """For names at ``anchors`` (in points), each ``sizes`` (width, height) in points, the
    first offset of ``LABEL_OFFSETS`` whose box overlaps no name placed before it and no
    point's marker (a square of ``marker_radius`` around each anchor), and lies inside
    ``bounds`` (left, bottom, right, top: the axes, where names would otherwise run into the
    title or off the page); a name to the left of its point ends there. Where none is, the
    first that overlaps nothing (a name past the axes' edge is still read; one over another is
    not), else the first offset."""
    def box(x: float, y: float, dx: float, dy: float, width: float, height: float) -> tuple[float, ...]:
        left = x + dx if dx >= 0 else x + dx - width
        return (left, y + dy, left + width, y + dy + height)

    def inside(candidate: tuple[float, ...]) -> bool:
        return bounds is None or (bounds[0] <= candidate[0] and candidate[2] <= bounds[2]
                                  and bounds[1] <= candidate[1] and candidate[3] <= bounds[3])

    def apart(candidate: tuple[float, ...]) -> bool:
        return not any(candidate[0] < other[2] and other[0] < candidate[2] and candidate[1] < other[3]
                       and other[1] < candidate[3] for other in placed)

    placed = [(x - marker_radius, y - marker_radius, x + marker_radius, y + marker_radius) for x, y in anchors]
    chosen = []
    for (x, y), (width, height) in zip(anchors, sizes):
        boxes = {o: box(x, y, *o, width, height) for o in LABEL_OFFSETS}
        offset = next((o for o in LABEL_OFFSETS if apart(boxes[o]) and inside(boxes[o])),
                      next((o for o in LABEL_OFFSETS if apart(boxes[o])), LABEL_OFFSETS[0]))
        placed.append(box(x, y, *offset, width, height))
        chosen.append(offset)
    return chosen


def annotate_apart(ax: Any, points: Sequence[tuple[str, float, float]], *, fontsize: float) -> None:
    """Name each (name, x, y) point of ``ax`` so that no two names overlap, a name away from
    its point joined to it by a line. Call it once the axes' scales and limits are set: the
    placement is in points on the page."""
    points_per_pixel = 72.0 / ax.figure.dpi
    anchors = [tuple(value * points_per_pixel for value in ax.transData.transform((x, y)))
               for _, x, y in points]
    sizes = [(0.62 * fontsize * len(name), 1.2 * fontsize) for name, _, _ in points]
    frame = ax.get_window_extent()
    bounds = tuple(value * points_per_pixel for value in (frame.x0, frame.y0, frame.x1, frame.y1))
    for (name, x, y), (dx, dy) in zip(points, label_offsets(anchors, sizes, marker_radius=5.0, bounds=bounds)):
        leader = None if (dx, dy) in BESIDE_OFFSETS else {  # from the name's corner nearest its point
            "arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 5,
            "relpos": (0.0 if dx >= 0 else 1.0, 0.0 if dy >= 0 else 1.0)}
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                    ha="left" if dx >= 0 else "right", arrowprops=leader)


def _groups(values: list[Any]) -> list[Any]:
    """Categories as they are; numbers with many distinct values binned into quartiles."""
    numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
    if not numeric or len(set(values)) <= IMPORTANCE_BINS:
        return [repr(value) for value in values]
    edges = np.quantile(np.asarray(values, dtype=float), np.linspace(0, 1, IMPORTANCE_BINS + 1)[1:-1])
    return [int(np.searchsorted(edges, float(value), side="right")) for value in values]


def _ranks(values: list[float]) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    array = np.asarray(values, dtype=float)
    order = np.argsort(array, kind="stable")
    ranks = np.empty(len(array), dtype=float)
    ranks[order] = np.arange(1, len(array) + 1)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _eta_squared(values: np.ndarray, groups: list[Any]) -> float:
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    between = 0.0
    labels = np.asarray([repr(group) for group in groups])
    for label in np.unique(labels):
        members = values[labels == label]
        between += len(members) * float((members.mean() - values.mean()) ** 2)
    return between / total


def _zoom_floor(values: Sequence[float]) -> float:
    """A lower y-limit that shows the good scores' differences: diverged trials near 10%
    would otherwise squash every interesting curve into one line."""
    array = np.asarray([value for value in values if value == value], dtype=float)
    if array.size == 0:
        return 0.0
    top = float(array.max())
    floor = min(float(np.quantile(array, 0.25)), top - 0.02)
    floor = max(floor, top - 0.25)
    return max(0.0, math.floor(floor * 100) / 100)


def empty_figure(ax: Any, message: str) -> None:
    """A short figure that says why there is nothing to draw."""
    ax.figure.set_size_inches(FIGSIZE[0], 1.2)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def save_figure(fig: Any, path: Path) -> Path:
    """Write the PNG atomically (a kill mid-write leaves the previous figure whole)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
