"""When the search's best validation accuracy last rose, and by how much over its last third."""

from __future__ import annotations

from search.reporting._progress import progress_line, progress_of


def epoch(stamp: float, score: float, total: float) -> dict:
    return {"timestamp": stamp, "val_accuracy": score, "time_total_s": total}


def test_the_best_last_rose_at_its_first_result_and_the_gain_is_measured_from_two_thirds_of_the_span() -> None:
    # The first trial began at 1000 (its first epoch took 10 s); the search spans 300 s.
    trials = [[epoch(1010, 0.90, 10), epoch(1020, 0.95, 20)],
              [epoch(1150, 0.97, 30), epoch(1250, 0.98, 130)],
              [epoch(1300, 0.98, 20)]]  # a tie does not count as a rise
    progress = progress_of(trials)
    assert (progress.best, progress.last_improved_s, progress.span_s) == (0.98, 250, 300)
    assert progress.best_before_last_part == 0.97  # the best by 1200 s, two thirds of the span
    assert round(progress.gain_over_last_part, 4) == 0.01
    assert progress_line(progress) == (
        "progress: the best validation accuracy (0.9800) was last reached 4.2 min into a search of 5.0 min; over "
        "the last third it rose by +0.0100 (from 0.9700): a longer search (--time-budget) may find more")


def test_a_search_that_stopped_rising_early_says_more_budget_is_unlikely_to_pay() -> None:
    progress = progress_of([[epoch(100, 0.99, 10)], [epoch(400, 0.98, 10)]])
    assert progress.gain_over_last_part == 0
    assert progress_line(progress).endswith("it did not rise over the last third: more budget is unlikely to pay much")


def test_without_results_the_progress_is_not_known() -> None:
    assert progress_of([[], [{"timestamp": 5}]]) is None
    assert progress_line(None) == "progress: not known (Tune's per-trial results are gone)"
