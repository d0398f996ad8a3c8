"""The report's charts: every trial state drawn, and names on the accuracy-against-size chart
that keep readable and apart."""

from __future__ import annotations

from search.reporting._plots import LABEL_OFFSETS, STATE_STYLE, label_offsets
from search.run_folder._trial_states import TRIAL_STATES


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
