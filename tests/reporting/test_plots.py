"""The report's charts: every trial state drawn, and names on the accuracy-against-size chart
that keep readable and apart."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from search.reporting._plots import (  # noqa: E402
    BESIDE_OFFSETS,
    LABEL_OFFSETS,
    accuracy_floor,
    STATE_STYLE,
    annotate_apart,
    label_offsets,
)
from search.run_folder._trial_states import TRIAL_STATES  # noqa: E402


def test_every_state_a_trial_can_end_in_has_its_colour_and_legend_entry() -> None:
    """The history chart and the learning curves draw a trial by its state's style: a state
    without one (cut at the target, once) left its trials out of the chart."""
    assert set(STATE_STYLE) == set(TRIAL_STATES)


def boxes(anchors, sizes, offsets):
    result = []
    for (x, y), (width, height), (dx, dy) in zip(anchors, sizes, offsets):
        left = x + dx if dx >= 0 else x + dx - width
        result.append((left, y + dy, left + width, y + dy + height))
    return result


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_lone_point_is_named_right_above_it() -> None:
    assert label_offsets([(100.0, 100.0)], [(40.0, 10.0)]) == [LABEL_OFFSETS[0]]


def test_names_of_points_close_together_do_not_overlap() -> None:
    anchors = [(100.0, 100.0), (104.0, 102.0), (108.0, 98.0), (300.0, 100.0)]
    sizes = [(50.0, 10.0)] * 4
    placed = boxes(anchors, sizes, label_offsets(anchors, sizes))
    assert not any(overlap(placed[i], placed[j]) for i in range(3) for j in range(i + 1, 3))
    assert label_offsets(anchors, sizes)[3] == LABEL_OFFSETS[0]  # the far point keeps the first place


def test_a_name_is_not_written_over_another_points_marker() -> None:
    anchors = [(100.0, 100.0), (120.0, 108.0)]  # the second marker sits where the first name would go
    sizes = [(40.0, 10.0), (40.0, 10.0)]
    offsets = label_offsets(anchors, sizes, marker_radius=5.0)
    assert offsets[0] != LABEL_OFFSETS[0]
    marker = (115.0, 103.0, 125.0, 113.0)
    assert not overlap(boxes(anchors, sizes, offsets)[0], marker)


def test_a_name_placed_away_from_its_point_is_joined_to_it_by_a_line() -> None:
    """Among close points a name pushed up or down may sit nearer another point than its own;
    a name beside its point needs no line."""
    fig, ax = plt.subplots(figsize=(9.0, 5.2), dpi=110)
    points = [("a1a23b8f", 73_000, 0.9926), ("86a53297", 83_000, 0.9926), ("fb69d9fe", 95_000, 0.9935),
              ("cnn_small", 40_000, 0.9911)]
    ax.scatter([x for _, x, _ in points], [y for _, _, y in points])
    ax.set_xscale("log")
    ax.set_xlim(30_000, 200_000)
    ax.set_ylim(0.990, 0.995)
    annotate_apart(ax, points, fontsize=8)
    names = {text.get_text(): text for text in ax.texts}
    plt.close(fig)
    assert set(names) == {name for name, _, _ in points}
    away = [name for name, text in names.items() if tuple(text.xyann) not in BESIDE_OFFSETS]
    assert away, "the crowded points should push at least one name away"
    for name, text in names.items():
        assert (text.arrow_patch is not None) == (name in away), name


def test_a_name_that_would_run_past_the_top_of_the_axes_goes_below_its_point() -> None:
    """Above the top it ran into the chart's title."""
    bounds = (0.0, 0.0, 500.0, 300.0)
    [offset] = label_offsets([(200.0, 295.0)], [(40.0, 10.0)], bounds=bounds)
    assert offset[1] < 0
    left, bottom = 200.0 + offset[0], 295.0 + offset[1]
    assert 0.0 <= left and left + 40.0 <= 500.0 and 0.0 <= bottom and bottom + 10.0 <= 300.0


def test_a_name_with_no_room_inside_the_axes_still_keeps_off_the_other_names() -> None:
    bounds = (0.0, 0.0, 60.0, 20.0)  # too small for any place of a 50-point name beside two points
    anchors = [(30.0, 10.0), (34.0, 10.0)]
    sizes = [(50.0, 10.0)] * 2
    placed = boxes(anchors, sizes, label_offsets(anchors, sizes, bounds=bounds))
    assert not overlap(placed[0], placed[1])


def test_a_chart_of_accuracies_shows_them_all_unless_some_never_learnt() -> None:
    """The notebook's and the confirmed models of a run on MNIST span about 0.98 to 0.997: all
    shown. A size-aware search's tiny models that scored 0.12 would squash them into one line:
    the chart then shows 0.25 below the best, and draws those on its bottom edge."""
    assert accuracy_floor([0.9818, 0.9911, 0.9954]) == 0.9818
    assert accuracy_floor([0.1215, 0.2277, 0.9546, 0.9735]) == 0.72
