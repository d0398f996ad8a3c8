"""The verdict rule and the paired bootstrap, on made-up numbers."""

from __future__ import annotations

import numpy as np
import pytest

from search.verdict import (
    published_bar,
    NOTEBOOK_PUBLISHED_BEST,
    beats_notebook,
    headline,
    judge,
    summarize,
    verdict_table,
)
from search.verdict._bootstrap import paired_bootstrap

IMAGES = 10_000


def correct_vector(accuracy: float, seed: int) -> list[bool]:
    """A correctness vector over the test images with exactly ``accuracy`` of them right."""
    rng = np.random.default_rng(seed)
    vector = np.zeros(IMAGES, dtype=bool)
    vector[rng.choice(IMAGES, size=round(accuracy * IMAGES), replace=False)] = True
    return vector.tolist()


def rows_for(name: str, kind: str, accuracies: list[float], *, params: int = 1000) -> list[dict]:
    return [
        {"name": name, "kind": kind, "seed": seed, "test_accuracy": accuracy, "test_loss": 0.05,
         "epochs": 3, "num_params": params, "seconds": 10.0 + seed, "cached": False,
         "test_correct": correct_vector(accuracy, seed * 7919 + len(name))}
        for seed, accuracy in enumerate(accuracies)
    ]


NOTEBOOK = (rows_for("dense_256", "notebook", [0.980, 0.981, 0.982], params=269_322)
            + rows_for("dense_deep", "notebook", [0.982, 0.983, 0.984], params=575_050)
            + rows_for("cnn_small", "notebook", [0.988, 0.989, 0.990], params=38_390))


def verdict_of(judgement, name: str):
    return next(v for v in judgement.verdicts if v.summary.name == name)


def test_every_seed_above_the_published_figure_and_a_higher_mean_beats_the_notebook() -> None:
    assert beats_notebook([0.9900, 0.9910, 0.9920], baseline_mean=0.9890)


def test_one_seed_at_or_below_the_published_figure_does_not_beat_it() -> None:
    assert not beats_notebook([0.9990, 0.9990, 0.9850], baseline_mean=0.9800)
    assert not beats_notebook([0.9990, 0.9990, NOTEBOOK_PUBLISHED_BEST], baseline_mean=0.9800)


def test_a_mean_below_or_equal_to_the_best_notebook_mean_does_not_beat_it() -> None:
    assert not beats_notebook([0.9880, 0.9890, 0.9900], baseline_mean=0.9895)
    assert not beats_notebook([0.9880, 0.9890, 0.9900], baseline_mean=0.9890)  # a tie


def test_no_seeds_never_beat() -> None:
    assert not beats_notebook([], baseline_mean=0.0)


def test_judge_names_the_reason_for_each_searched_configuration() -> None:
    rows = (NOTEBOOK
            + rows_for("winner", "searched", [0.9920, 0.9930, 0.9925], params=120_000)
            + rows_for("low_seed", "searched", [0.9950, 0.9950, 0.9850], params=50_000)
            + rows_for("low_mean", "searched", [0.9880, 0.9885, 0.9890], params=20_000))
    judgement = judge(rows)
    assert judgement.best_notebook.name == "cnn_small"
    assert verdict_of(judgement, "winner").beats
    assert not verdict_of(judgement, "low_seed").beats
    assert "seed(s) 2 not above 0.9854" in verdict_of(judgement, "low_seed").reason
    assert not verdict_of(judgement, "low_mean").beats
    assert "mean not above cnn_small's 0.9890" in verdict_of(judgement, "low_mean").reason
    assert judgement.best_searched.name == "winner"


def test_the_smallest_beating_configuration_is_the_one_with_fewest_parameters() -> None:
    rows = (NOTEBOOK
            + rows_for("big", "searched", [0.9950, 0.9950, 0.9950], params=900_000)
            + rows_for("small", "searched", [0.9910, 0.9910, 0.9910], params=60_000))
    judgement = judge(rows)
    assert judgement.smallest_beating.name == "small"
    assert "smallest is small (60,000 parameters)" in headline(judgement)


def test_an_honest_no_when_nothing_beats() -> None:
    judgement = judge(NOTEBOOK + rows_for("weak", "searched", [0.9860, 0.9870, 0.9880]))
    assert judgement.smallest_beating is None
    assert headline(judgement).startswith("No confirmed configuration beats the notebook")


def test_a_failed_seed_means_no_verdict_of_beating() -> None:
    rows = NOTEBOOK + rows_for("flaky", "searched", [0.995, 0.995, 0.995])
    rows[-1] = {**rows[-1], "test_accuracy": None, "test_correct": None, "error": "out of memory"}
    verdict = verdict_of(judge(rows), "flaky")
    assert not verdict.beats and "seed(s) 2 failed" in verdict.reason


def test_summaries_give_mean_sample_std_and_min_over_seeds() -> None:
    summary = next(s for s in summarize(NOTEBOOK) if s.name == "dense_deep")
    assert summary.mean == pytest.approx(0.983)
    assert summary.std == pytest.approx(0.001)
    assert summary.min == pytest.approx(0.982)
    assert summary.mean_seconds == pytest.approx(11.0)


def test_paired_bootstrap_of_identical_models_is_zero() -> None:
    a = np.array([correct_vector(0.99, 1)])
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_centres_on_the_difference_and_covers_it() -> None:
    rng = np.random.default_rng(3)
    b = rng.random((3, IMAGES)) < 0.985
    a = b.copy()
    flips = rng.choice(IMAGES, size=60, replace=False)
    a[:, flips] = True  # A is right on up to 60 more images in every seed
    mean, low, high = paired_bootstrap(a, b)
    assert mean == pytest.approx((a.mean() - b.mean()))
    assert low < mean < high
    assert low > 0  # a consistent gain over all seeds is clearly positive
    assert high - low < 0.01


def test_paired_bootstrap_matches_index_resampling() -> None:
    rng = np.random.default_rng(5)
    a = rng.random((2, 2_000)) < 0.9
    b = rng.random((2, 2_000)) < 0.88
    _, low, high = paired_bootstrap(a, b, resamples=4_000)
    d = a.mean(axis=0) - b.mean(axis=0)
    means = d[rng.integers(0, d.size, size=(4_000, d.size))].mean(axis=1)
    ref_low, ref_high = np.quantile(means, [0.025, 0.975])
    assert low == pytest.approx(ref_low, abs=0.003) and high == pytest.approx(ref_high, abs=0.003)


def test_paired_bootstrap_refuses_arrays_of_different_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        paired_bootstrap(np.ones((2, 10), bool), np.ones((3, 10), bool))


def test_the_verdict_table_shows_every_model_with_mean_std_min_params_and_verdict() -> None:
    rows = NOTEBOOK + rows_for("winner", "searched", [0.9920, 0.9930, 0.9925], params=120_000)
    table = verdict_table(judge(rows))
    for text in ("dense_256", "dense_deep", "cnn_small", "winner", "0.9925 ± 0.0005", "0.9920", "120,000",
                 "BEATS the notebook", "best notebook model (the baseline)"):
        assert text in table, text


def test_each_configuration_is_also_judged_against_the_best_notebook_model_of_its_family() -> None:
    dense = [{**row, "hp_family": "dense"} for row in rows_for("wide", "searched", [0.9860, 0.9862, 0.9864])]
    cnn = [{**row, "hp_family": "cnn"} for row in rows_for("conv", "searched", [0.9920, 0.9921, 0.9922])]
    judgement = judge(NOTEBOOK + dense + cnn)
    wide, conv = verdict_of(judgement, "wide"), verdict_of(judgement, "conv")
    assert not wide.beats and "cnn_small" in wide.reason  # below the best notebook model, a CNN
    assert wide.family.baseline == "dense_deep" and wide.family.beats  # but above the notebook's best dense net
    assert wide.family.difference.low > 0
    assert conv.beats and conv.family.baseline == "cnn_small" and conv.family.beats


def test_on_other_data_the_published_figure_is_no_bar() -> None:
    searched = rows_for("good", "searched", [0.9840, 0.9995, 0.9995])  # one seed below 0.9854
    assert not verdict_of(judge(NOTEBOOK + searched), "good").beats
    judgement = judge(NOTEBOOK + searched, threshold=None)
    assert verdict_of(judgement, "good").beats
    assert judgement.threshold is None


def test_the_published_bar_holds_for_the_shipped_mnist_only() -> None:
    assert published_bar(None) == NOTEBOOK_PUBLISHED_BEST
    assert published_bar("/data/permuted.npz") is None


def ensemble_rows(accuracy: float, members: int = 6) -> list[dict]:
    return [{"name": "ensemble", "kind": "ensemble", "seed": 0, "test_accuracy": accuracy, "test_loss": 0.03,
             "epochs": None, "num_params": members * 1000, "seconds": None, "cached": False, "family": "cnn",
             "members": [f"m{index}/seed 0" for index in range(members)],
             "test_correct": correct_vector(accuracy, 4242)}]


ENSEMBLE_JUDGED = NOTEBOOK + rows_for("a1", "searched", [0.9930, 0.9931, 0.9932]) + ensemble_rows(0.9950)


def test_the_ensemble_is_judged_by_the_same_rule_as_one_model_with_a_single_score() -> None:
    judgement = judge(ENSEMBLE_JUDGED)
    ensemble = judgement.ensemble
    assert ensemble is not None and ensemble is judgement.verdicts[-1]  # the last row of the table
    assert ensemble.beats and ensemble.reason == "BEATS the notebook"
    assert ensemble.summary.accuracies == (0.9950,) and ensemble.summary.num_params == 6000
    below_the_bar = judge(NOTEBOOK + ensemble_rows(0.9850)).ensemble
    assert not below_the_bar.beats and below_the_bar.reason == "no: seed(s) 0 not above 0.9854"


def test_the_ensembles_difference_pairs_its_one_vector_with_every_seed_of_the_best_notebook_model() -> None:
    ensemble = judge(ENSEMBLE_JUDGED).ensemble
    assert ensemble.difference.seeds == (0, 1, 2)
    assert ensemble.difference.mean == pytest.approx(0.9950 - np.mean([0.988, 0.989, 0.990]), abs=1e-9)
    assert ensemble.difference.low < ensemble.difference.mean < ensemble.difference.high
    assert ensemble.family is not None and ensemble.family.baseline == "cnn_small"


def test_the_ensemble_is_not_a_configuration_neither_beating_nor_smallest_nor_best() -> None:
    judgement = judge(NOTEBOOK + rows_for("a1", "searched", [0.9850, 0.9860, 0.9870]) + ensemble_rows(0.9950))
    assert judgement.ensemble.beats
    assert judgement.beating == [] and judgement.smallest_beating is None
    assert judgement.best_searched.name == "a1"
    assert headline(judgement) == (
        "No confirmed configuration beats the notebook: none of the 1 scored above 0.9854 on every seed with a mean "
        "above cnn_small's 0.9890. The ensemble of the confirmed models scores 0.9950 ("
        + f"{judgement.ensemble.difference.mean:+.4f} [{judgement.ensemble.difference.low:+.4f}, "
          f"{judgement.ensemble.difference.high:+.4f}] against cnn_small) and beats the notebook.")
    assert "\nensemble     ensemble     1" in verdict_table(judgement)
