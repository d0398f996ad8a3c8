"""Confirmation, unit parts: which configurations are confirmed, in which order, and one job on a tiny slice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mnist_models import SHIFTS, TEST_SEAM_ENV, DeviceError, FinalSplit, keras_backend, placement, shifted
from search.confirmation import _job
from search.confirmation import confirm_seeds
from search.confirmation._candidates import (
    FRONT_BUDGET_ORDER,
    NOTEBOOK_EPOCH_SECONDS,
    Candidate,
    notebook_candidates,
    select_front_configurations,
    select_top_configurations,
)
from search.confirmation._job import confirm_job, confirm_row, sort_rows
from search.confirmation._plan import Job, estimate_wall_seconds, fit_to_budget, plan_jobs
from search.run_folder import config_from_row
from search.verdict import NOTEBOOK_PUBLISHED
from spaces import NOTEBOOK_POINTS, NOTEBOOK_SPACE, SIZE_BUDGETS, notebook_config, notebook_model_of

DENSE = {"hp_family": "dense", "hp_n_layers": 1, "hp_units_0": 64, "hp_dropout_0": 0.1, "hp_activation": "relu",
         "hp_optimizer": "adam", "hp_learning_rate": 0.001, "hp_batch_size": 64}


def trial(trial_id: str, best: float | None, *, epochs: int = 4, best_epoch: int = 2, state: str = "completed",
          **hyperparameters) -> dict:
    return {"trial_id": trial_id, "state": state, "best_val_accuracy": best, "best_epoch": best_epoch,
            "epochs_run": epochs, "wall_seconds": 8.0 * epochs, **DENSE, "hp_epochs": epochs, **hyperparameters}


def test_the_top_k_are_ranked_by_best_validation_accuracy() -> None:
    rows = [trial("a", 0.97, hp_units_0=32), trial("b", 0.99, hp_units_0=64), trial("c", 0.98, hp_units_0=128)]
    chosen = select_top_configurations(rows, 2)
    assert [c.name for c in chosen] == ["b", "c"]
    assert all(c.kind == "searched" for c in chosen)


def test_each_is_retrained_for_the_epoch_at_which_its_trial_peaked() -> None:
    (chosen,) = select_top_configurations([trial("a", 0.99, epochs=6, best_epoch=4)], 1)
    assert chosen.config["epochs"] == 4 and chosen.epochs == 4
    assert chosen.search_epochs == 6 and chosen.best_val_accuracy == 0.99


def test_configurations_differing_only_in_epochs_count_once() -> None:
    rows = [trial("a", 0.99, epochs=6), trial("b", 0.985, epochs=3), trial("c", 0.98, hp_units_0=100)]
    assert [c.name for c in select_top_configurations(rows, 3)] == ["a", "c"]


def test_failed_unscored_and_notebook_trials_are_not_candidates() -> None:
    notebook_row = {f"hp_{key}": value for key, value in NOTEBOOK_POINTS["dense_256"].items()}
    rows = [
        trial("failed", 0.995, state="failed", hp_units_0=1),
        trial("unscored", None, hp_units_0=2),
        {**trial("notebook", 0.999), **notebook_row, "hp_epochs": 3},
        trial("kept", 0.97, hp_units_0=3),
    ]
    assert [c.name for c in select_top_configurations(rows, 3)] == ["kept"]
    assert notebook_model_of(config_from_row(rows[2])) == "dense_256"


def test_ties_go_to_the_earlier_trial_id() -> None:
    rows = [trial("b", 0.99, hp_units_0=1), trial("a", 0.99, hp_units_0=2)]
    assert [c.name for c in select_top_configurations(rows, 1)] == ["a"]


def test_hyperparameters_a_trial_did_not_use_are_left_out_of_its_configuration() -> None:
    (chosen,) = select_top_configurations([trial("a", 0.99, hp_units_1=None, hp_dropout_1=None)], 1)
    assert "units_1" not in chosen.config and chosen.config["units_0"] == 64


def test_the_notebook_models_keep_their_own_epochs_batch_sizes_and_optimizers() -> None:
    candidates = {c.name: c for c in notebook_candidates()}
    assert set(candidates) == {"dense_256", "dense_deep", "cnn_small"}
    for name, candidate in candidates.items():
        assert candidate.kind == "notebook"
        assert candidate.config == notebook_config(name)
    assert candidates["dense_deep"].epochs == 15 and candidates["cnn_small"].config["batch_size"] == 32


def test_the_budget_plans_with_a_trials_epoch_times_not_its_worker_start() -> None:
    # A notebook cnn_small trial that ASHA stopped after 1 epoch: 23 s of wall time, of which
    # 6 s were the epoch; the rest was its worker's start and TensorFlow's import.
    point = {f"hp_{key}": value for key, value in NOTEBOOK_POINTS["cnn_small"].items()}
    row = {"trial_id": "nb", "state": "early_stopped", "best_val_accuracy": 0.98, "best_epoch": 1,
           "epochs_run": 1, **point, "hp_family": "cnn",
           "wall_seconds": 23.0, "training_seconds": 5.4, "search_train_images": 54_000}
    assert notebook_model_of(config_from_row(row)) == "cnn_small"
    candidates = {c.name: c for c in notebook_candidates([row], train_images=60_000)}
    assert candidates["cnn_small"].epoch_seconds == pytest.approx(6.0)
    ranked = select_top_configurations([{**trial("a", 0.99, epochs=2), "training_seconds": 10.8}], 1,
                                       train_images=60_000)
    assert ranked[0].epoch_seconds == pytest.approx(6.0)


def test_a_table_from_before_the_epoch_times_column_plans_with_the_wall_time() -> None:
    [candidate] = select_top_configurations([trial("old", 0.99, epochs=2)], 1, train_images=54_000)
    assert candidate.epoch_seconds == pytest.approx(8.0)


def test_a_notebook_model_the_search_did_not_run_is_planned_from_the_measured_constants() -> None:
    candidates = {c.name: c for c in notebook_candidates([], train_images=30_000)}
    assert candidates["cnn_small"].epoch_seconds == pytest.approx(NOTEBOOK_EPOCH_SECONDS["cnn_small"] / 2)


def test_seeds_follow_the_run_seed() -> None:
    assert confirm_seeds(0, 3) == (0, 1, 2)
    assert confirm_seeds(7, 2) == (7, 8)


def test_jobs_run_longest_first_and_every_searched_job_keeps_its_model_for_the_ensemble() -> None:
    short = Candidate("short", "searched", {"epochs": 2}, epoch_seconds=5.0)
    long = Candidate("long", "notebook", {"epochs": 15}, epoch_seconds=8.0)
    jobs = plan_jobs([short, long], (0, 1))
    assert [(job.candidate.name, job.seed) for job in jobs] == [("long", 0), ("long", 1), ("short", 0), ("short", 1)]
    assert [job.keep_model for job in jobs] == [False, False, True, True]


def tiny_split(n_train: int = 300, n_test: int = 200) -> FinalSplit:
    """Learnable made-up images: class k lights up row k."""
    rng = np.random.default_rng(0)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (np.arange(n) % 10).astype(np.int32)
        x = rng.random((n, 28, 28), dtype=np.float32) * 0.2
        x[np.arange(n), labels * 2] = 1.0
        return x, labels

    x_train, y_train = images(n_train)
    x_test, y_test = images(n_test)
    return FinalSplit(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


SMALL_DENSE = {"family": "dense", "n_layers": 1, "units_0": 16, "dropout_0": 0.0, "activation": "relu",
               "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2}


def test_a_job_trains_once_and_scores_every_test_image() -> None:
    split = tiny_split()
    result = confirm_job(SMALL_DENSE, split, seed=3, train_limit=None, threads=1, gpu_share=0.0)
    correct = result["test_correct"]
    assert correct.shape == (200,) and correct.dtype == bool
    assert result["test_accuracy"] == pytest.approx(correct.mean())
    assert result["test_accuracy"] > 0.5  # learnable data: it did train
    assert result["test_loss"] > 0 and result["seconds"] > 0
    assert result["num_params"] == 784 * 16 + 16 + 16 * 10 + 10
    assert result["train_images"] == 300 and "model_bytes" not in result


def test_a_job_is_fixed_by_its_seed() -> None:
    split = tiny_split()
    first = confirm_job(SMALL_DENSE, split, seed=11, train_limit=100, threads=1, gpu_share=0.0)
    again = confirm_job(SMALL_DENSE, split, seed=11, train_limit=100, threads=1, gpu_share=0.0)
    other = confirm_job(SMALL_DENSE, split, seed=12, train_limit=100, threads=1, gpu_share=0.0)
    assert first["train_images"] == 100
    assert np.array_equal(first["test_correct"], again["test_correct"])
    assert first["test_loss"] == pytest.approx(again["test_loss"], rel=1e-6)
    assert first["test_loss"] != pytest.approx(other["test_loss"], rel=1e-6)


@pytest.fixture(scope="module")
def kept_job(tmp_path_factory) -> tuple[FinalSplit, dict, Any]:
    """A job that kept its model, and that model loaded back with Keras alone."""
    import keras

    split = tiny_split()
    result = confirm_job(SMALL_DENSE, split, seed=5, train_limit=None, threads=1, gpu_share=0.0, keep_model=True)
    path = tmp_path_factory.mktemp("kept") / "model.keras"
    path.write_bytes(result["model_bytes"])
    return split, result, keras.saving.load_model(path)


def test_a_kept_model_loads_with_keras_and_scores_the_same(kept_job) -> None:
    split, result, model = kept_job
    predicted = np.argmax(model.predict(split.x_test, verbose=0), axis=1)
    assert np.array_equal(predicted == split.y_test, result["test_correct"])


def test_a_kept_models_probabilities_are_averaged_over_each_test_image_and_its_shifts(kept_job) -> None:
    split, result, model = kept_job
    views = [model.predict(shifted(split.x_test, rows, columns), verbose=0) for rows, columns in SHIFTS]
    assert result["test_probabilities"].shape == (200, 10) and result["test_probabilities"].dtype == np.float32
    np.testing.assert_allclose(result["test_probabilities"], np.mean(views, axis=0), atol=1e-6)
    assert not np.allclose(result["test_probabilities"], views[0], atol=1e-3), "the shifts count"


def test_a_job_records_where_it_trained() -> None:
    result = confirm_job(SMALL_DENSE, tiny_split(), seed=3, train_limit=50, threads=1, gpu_share=0.0)
    assert result["device"] == "CPU" and result["device_seen"] == "CPU" and result["device_gpu_share"] == 0.0
    assert result["device_backend"] == keras_backend() and result["device_node"]


def test_a_job_given_a_gpu_its_backend_does_not_list_is_refused_before_it_trains(monkeypatch) -> None:
    for variable in TEST_SEAM_ENV:
        monkeypatch.delenv(variable, raising=False)
    # A node Ray gave a GPU share to, whose backend lists no GPU.
    monkeypatch.setattr(_job, "placement", lambda backend, *, gpu_share: placement(backend, gpu_share=gpu_share, gpus=[]))

    def must_not_train(*args, **kwargs):
        raise AssertionError("the refused job trained")

    monkeypatch.setattr(_job, "fit_config", must_not_train)
    with pytest.raises(DeviceError) as refused:
        confirm_job(SMALL_DENSE, tiny_split(), seed=3, train_limit=50, threads=1, gpu_share=0.5)
    line = str(refused.value)
    assert "\n" not in line and "0.5 of a GPU" in line and "lists no GPU" in line
    assert "--gpus-per-trial 0" in line


def test_a_row_holds_the_scores_the_vector_and_the_hyperparameters() -> None:
    candidate = Candidate("abc123", "searched", dict(SMALL_DENSE), trial_id="abc123", best_val_accuracy=0.98)
    result = {"test_accuracy": 0.5, "test_loss": 1.0, "seconds": 2.0, "num_params": 12_730,
              "train_images": 300, "test_correct": np.array([True, False])}
    row = confirm_row(Job(candidate, 4), result)
    assert row["name"] == "abc123" and row["seed"] == 4 and row["epochs"] == 2
    assert row["test_correct"] == [True, False] and row["test_images"] == 2
    assert row["hp_units_0"] == 16 and row["cached"] is False and row["error"] is None


def test_a_row_says_where_its_job_trained_and_a_cache_entry_from_before_devices_says_nothing() -> None:
    candidate = Candidate("dense_256", "notebook", dict(SMALL_DENSE))
    measured = {"test_accuracy": 0.5, "test_correct": np.array([True, False]), "device_backend": "jax",
                "device": "CPU", "device_seen": "CPU", "device_visible_ids": "", "device_gpu_share": 0.0,
                "device_node": "node-a"}
    row = confirm_row(Job(candidate, 0), measured, cached=True)
    assert (row["device_backend"], row["device"], row["device_node"]) == ("jax", "CPU", "node-a")
    older = confirm_row(Job(candidate, 0), {"test_accuracy": 0.5, "test_correct": np.array([True])}, cached=True)
    assert older["device"] is None and older["device_backend"] is None


def test_rows_are_sorted_notebook_first_then_by_name_and_seed() -> None:
    rows = [{"name": "zz", "kind": "searched", "seed": 1}, {"name": "cnn_small", "kind": "notebook", "seed": 0},
            {"name": "dense_256", "kind": "notebook", "seed": 1}, {"name": "aa", "kind": "searched", "seed": 0}]
    assert [row["name"] for row in sort_rows(rows)] == ["dense_256", "cnn_small", "aa", "zz"]


def test_the_wall_time_estimate_packs_the_jobs_onto_the_workers() -> None:
    jobs = plan_jobs([Candidate("a", "searched", {"epochs": 3}, epoch_seconds=10.0),
                      Candidate("b", "notebook", {"epochs": 1}, epoch_seconds=10.0)], (0, 1))
    assert estimate_wall_seconds(jobs, 2) == 40.0  # 30+10 on each of two workers
    assert estimate_wall_seconds(jobs, 1) == 80.0


def searched(name: str, seconds_per_epoch: float, epochs: int = 2) -> Candidate:
    return Candidate(name, "searched", {"epochs": epochs}, trial_id=name, best_val_accuracy=0.99,
                     epoch_seconds=seconds_per_epoch)


def test_the_budget_passes_over_a_slow_configuration_for_the_next_best() -> None:
    notebook_jobs = plan_jobs([Candidate("cnn_small", "notebook", {"epochs": 5}, epoch_seconds=10.0)], (0, 1))
    ranked = [searched("slow", 100.0), searched("fast", 10.0), searched("faster", 5.0), searched("spare", 5.0)]
    fit = fit_to_budget(ranked, notebook_jobs, (0, 1), k=2, concurrency=2, budget_s=100.0)
    # The notebook's two jobs take 50 s on each worker; "slow" would add 200 s to each.
    assert [c.name for c in fit.chosen] == ["fast", "faster"]
    assert [c.name for c, _ in fit.over_budget] == ["slow"]
    assert fit.estimated_s <= 100.0
    assert fit.estimated_s == estimate_wall_seconds(
        plan_jobs([notebook_jobs[0].candidate, *fit.chosen], (0, 1)), 2)


def test_without_a_budget_the_top_k_are_confirmed_however_slow() -> None:
    ranked = [searched("slow", 100.0), searched("fast", 10.0), searched("faster", 5.0)]
    fit = fit_to_budget(ranked, [], (0,), k=2, concurrency=1, budget_s=None)
    assert [c.name for c in fit.chosen] == ["slow", "fast"] and fit.over_budget == []


def test_the_notebook_jobs_run_even_when_they_alone_exceed_the_budget() -> None:
    notebook_jobs = plan_jobs([Candidate("dense_deep", "notebook", {"epochs": 15}, epoch_seconds=10.0)], (0,))
    fit = fit_to_budget([searched("a", 1.0)], notebook_jobs, (0,), k=1, concurrency=1, budget_s=60.0)
    assert fit.chosen == [] and [c.name for c, _ in fit.over_budget] == ["a"]
    assert fit.estimated_s == 150.0


def sized(trial_id: str, best: float, params: int) -> dict:
    return trial(trial_id, best, hp_units_0=params)  # distinct configurations, one per size


def test_every_notebook_model_has_its_space_its_published_figure_and_its_seconds_an_epoch() -> None:
    assert set(NOTEBOOK_POINTS) == set(NOTEBOOK_SPACE) == set(NOTEBOOK_PUBLISHED) == set(NOTEBOOK_EPOCH_SECONDS)


def test_the_front_claims_places_for_the_best_overall_and_every_size_budget_the_report_tables() -> None:
    assert FRONT_BUDGET_ORDER[0] is None and sorted(FRONT_BUDGET_ORDER[1:]) == sorted(SIZE_BUDGETS)


def test_in_pareto_mode_the_best_within_each_size_budget_comes_first_then_the_rest_of_the_front() -> None:
    rows = [{**sized("big", 0.995, 60_000), "num_params": 60_000},
            {**sized("mid", 0.993, 15_000), "num_params": 15_000},
            {**sized("dominated", 0.990, 30_000), "num_params": 30_000},
            {**sized("small", 0.990, 4_000), "num_params": 4_000},
            {**sized("tiny", 0.970, 900), "num_params": 900},
            {**sized("tiny-worse", 0.960, 950), "num_params": 950}]
    order = [candidate.name for candidate in select_front_configurations(rows)]
    # the best overall, within 5k, within 3k (and 2k, 1k), within 20k: the front spread over sizes
    assert order[:4] == ["big", "small", "tiny", "mid"]
    # configurations off the front come after it, by accuracy
    assert order[4:] == ["dominated", "tiny-worse"]
