"""The report, rendered from a small fixture folder: no training, no Ray."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from search.report import main
from search.reporting import render_report
from search.reporting._plots import annotate_apart, importances
from search.run_folder import FIGURE_FILES, read_json, rows_table, write_json, write_parquet
from tests.conftest import PROJECT_ROOT, PYTHON

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COMMAND = "python -m search.run --space cnn --seed 0"


def _trial(index: int, rng: np.random.Generator) -> dict:
    epochs = int(rng.integers(1, 6))
    state = "early_stopped" if index % 3 == 0 else "completed"
    curve = list(np.clip(0.95 + 0.01 * np.arange(1, epochs + 1) + rng.normal(0, 0.005, epochs), 0, 0.995))
    if index == 4:
        curve = [0.11]  # a diverged trial
    return {
        "trial_id": f"{index:08x}", "state": state, "epochs_run": len(curve),
        "best_epoch": int(np.argmax(curve)) + 1, "best_val_accuracy": max(curve), "last_val_accuracy": curve[-1],
        "val_accuracy_per_epoch": [float(v) for v in curve], "num_params": int(rng.integers(20_000, 400_000)),
        "wall_seconds": 10.0 * len(curve), "node_id": "node", "node_ip": "127.0.0.1", "error": None,
        "hp_family": "cnn", "hp_n_blocks": int(rng.integers(1, 4)), "hp_optimizer": str(rng.choice(["adam", "sgd"])),
        "hp_learning_rate": float(10 ** rng.uniform(-4, -1.5)), "hp_batch_size": int(rng.choice([32, 64, 128])),
        "hp_epochs": 5, "hp_augment": bool(rng.integers(0, 2)), "hp_dropout": float(rng.uniform(0, 0.5)),
    }


def _confirm_rows(rng: np.random.Generator, small_params: int = 60_000) -> list[dict]:
    models = {"dense_256": ("notebook", 0.980, 269_322), "dense_deep": ("notebook", 0.982, 575_050),
              "cnn_small": ("notebook", 0.988, 38_390), "00000002": ("searched", 0.992, 120_000),
              "00000005": ("searched", 0.987, small_params)}
    rows = []
    for name, (kind, accuracy, params) in models.items():
        for seed in (0, 1):
            correct = rng.random(10_000) < accuracy
            rows.append({"name": name, "kind": kind, "trial_id": name if kind == "searched" else None, "seed": seed,
                         "test_accuracy": float(correct.mean()), "test_loss": 0.04, "epochs": 3,
                         "num_params": params, "seconds": 30.0, "train_images": 60_000, "test_images": 10_000,
                         "best_val_accuracy": 0.99 if kind == "searched" else None, "search_epochs": 5,
                         "cached": kind == "notebook" and seed == 0, "node_id": "node", "error": None,
                         "test_correct": correct.tolist(), "hp_family": "cnn" if "cnn" in name or kind == "searched"
                         else "dense", "hp_optimizer": "adam", "hp_learning_rate": 0.001, "hp_batch_size": 32,
                         "hp_epochs": 3})
    return rows


def make_run_folder(folder: Path, *, confirmed: bool = True, confirm_train_limit: int | None = None,
                    objective: str = "accuracy", data: str = "shipped MNIST",
                    small_params: int = 60_000) -> Path:
    rng = np.random.default_rng(0)
    trials = [_trial(index, rng) for index in range(12)]
    write_parquet(folder / "trials.parquet", rows_table(trials))
    for index, row in enumerate(trials):  # Tune's per-trial JSON lines, for the trials' end times
        trial_dir = folder / "tune" / f"train_trial_{row['trial_id']}_{index + 1}"
        trial_dir.mkdir(parents=True)
        (trial_dir / "result.json").write_text(json.dumps(
            {"trial_id": row["trial_id"], "timestamp": 1_800_000_000 + 40 * index,
             "time_total_s": row["wall_seconds"]}) + "\n")
    info = {"name": "fixture", "space": "cnn", "command": COMMAND, "argv": ["--space", "cnn"], "seed": 0,
            "data_sha256": "06af5dfe", "data": data, "objective": objective, "search_train_images": 54_000,
            "validation_images": 6_000, "max_epochs": 5, "max_concurrent": 2, "cpus_per_trial": 1.0,
            "gpus_per_trial": 0.0, "cluster_resources": {"CPU": 2.0}, "started": "2026-11-25T10:00:00+00:00",
            "ended": "2026-11-25T10:10:00+00:00", "state": "finished", "search_wall_s": 600.0,
            "trials": len(trials), "best_val_accuracy": max(t["best_val_accuracy"] for t in trials),
            "trial_states": {"completed": 8, "early_stopped": 4},
            "versions": {"python": "3.11.7", "ray": "2.60.0", "tensorflow": "2.21.0", "keras": "3.15.1",
                         "optuna": "5.0.0"}}
    if confirmed:
        rows = _confirm_rows(rng, small_params)
        if confirm_train_limit:
            rows = [{**row, "train_images": confirm_train_limit} for row in rows]
        write_parquet(folder / "confirm.parquet", rows_table(rows))
        info["confirmation"] = {"top_k": 2, "seeds": [0, 1], "train_images": confirm_train_limit or 60_000,
                                "test_images": 10_000, "confirm_train_limit": confirm_train_limit,
                                "concurrency": 2, "jobs_run": 7, "notebook_from_cache": 3,
                                "cache_folder": "/r/.notebook-cache", "wall_s": 300.0,
                                "best_model": "00000002, seed 0, test accuracy 0.9921"}
    write_json(folder / "run.json", info)
    return folder


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    return make_run_folder(tmp_path / "fixture")


def test_the_report_has_the_table_the_verdicts_the_protocol_and_the_run(run_folder: Path) -> None:
    paths = render_report(run_folder)
    text = paths["md"].read_text()
    assert "| model | kind | seeds | test accuracy mean ± std |" in text
    for name in ("dense_256", "dense_deep", "cnn_small", "00000002", "00000005"):
        assert f"| {name} |" in text, name
    assert "**BEATS the notebook**" in text
    assert "Smallest configuration that beats the notebook: **00000002**, 120,000 parameters" in text
    assert "paired bootstrap over the test images" in text
    assert "## Protocol" in text and "it never saw the test set" in text
    assert "pixels scaled to [0, 1]" in text and "raw 0–255 pixels" in text
    assert COMMAND in text and "tensorflow 2.21.0" in text and "keras 3.15.1" in text
    assert "best_model.keras" in text and "0.9921" in text
    assert "Smoke mode" not in text


def test_with_every_confirmed_model_above_the_largest_size_budget_one_sentence_replaces_the_size_table(
        run_folder: Path) -> None:
    text = render_report(run_folder)["md"].read_text()
    assert "No confirmed configuration has 50,000 parameters or fewer" in text
    assert "Best confirmed model within each size budget" not in text and "none confirmed" not in text


def test_the_figures_are_pngs_beside_the_markdown_and_embedded_in_the_html(run_folder: Path) -> None:
    paths = render_report(run_folder)
    text = paths["md"].read_text()
    page = paths["html"].read_text()
    accuracy_figures = [name for key, name in FIGURE_FILES.items() if key != "front"]
    for filename in accuracy_figures:
        assert (run_folder / filename).read_bytes().startswith(PNG_MAGIC), filename
        assert f"]({filename})" in text
    assert page.count('src="data:image/png;base64,') == len(accuracy_figures)
    assert "<table>" in page and "<strong>BEATS the notebook</strong>" in page


def test_a_pareto_run_draws_the_front_and_tables_the_best_model_within_each_size_budget(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "pareto", objective="pareto", small_params=4_000)
    text = render_report(folder)["md"].read_text()
    assert (folder / FIGURE_FILES["front"]).read_bytes().startswith(PNG_MAGIC)
    assert f"]({FIGURE_FILES['front']})" in text
    assert "Best confirmed model within each size budget" in text
    assert "| ≤ 1,000 | - | - | - | none confirmed |" in text
    assert "| ≤ 5,000 | 00000005 | 4,000 |" in text
    assert "configurations chosen along the search's validation front" in text


def test_the_front_names_its_points_on_the_axes_it_is_saved_with(tmp_path: Path, monkeypatch) -> None:
    """Names are placed in points on the page, so they must be placed once the log scale and
    the limits are set; placed before, they landed where the linear axes had the points."""
    import search.reporting._front as front

    placed_on = []

    def recording(ax, points, *, fontsize):
        placed_on.append((ax, ax.get_xscale(), ax.get_xlim(), ax.get_ylim()))
        annotate_apart(ax, points, fontsize=fontsize)

    monkeypatch.setattr(front, "annotate_apart", recording)
    render_report(make_run_folder(tmp_path / "pareto", objective="pareto", small_params=4_000))
    [(ax, scale, xlim, ylim)] = placed_on
    assert (scale, xlim, ylim) == ("log", ax.get_xlim(), ax.get_ylim())


def test_with_other_data_the_verdict_uses_the_remeasured_notebook_models_alone(tmp_path: Path) -> None:
    text = render_report(make_run_folder(tmp_path / "other", data="permuted.npz"))["md"].read_text()
    assert "not the shipped MNIST" in text
    assert "every seed scores above 0.9854" not in text


def test_a_run_without_confirmation_says_so_and_draws_the_search_figures(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "search-only", confirmed=False)
    paths = render_report(folder)
    text = paths["md"].read_text()
    assert "No confirmation in this run" in text
    assert not (folder / FIGURE_FILES["size"]).exists()
    assert (folder / FIGURE_FILES["history"]).is_file() and (folder / FIGURE_FILES["curves"]).is_file()


def test_the_search_says_where_its_trials_trained_and_the_retries_they_cost(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "placed", confirmed=False)
    assert "Trained:" not in render_report(folder)["md"].read_text(), "an older run recorded neither"
    write_json(folder / "run.json", {**read_json(folder / "run.json"), "trial_devices": "12 trials on CPU",
                                     "trial_retries": 1})
    text = render_report(folder)["md"].read_text()
    assert "Trained: 12 trials on CPU; 1 retry of a trial after a failure (a lost node, a crash)." in text


def test_a_search_that_failed_says_its_one_line(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "refused", confirmed=False)
    line = "node gpu-1: given 0.5 of a GPU (CUDA_VISIBLE_DEVICES='0'), but Keras's tensorflow backend lists no GPU"
    write_json(folder / "run.json", {**read_json(folder / "run.json"), "state": "failed", "error": line})
    assert f"The search failed: {line}" in render_report(folder)["md"].read_text()


def test_where_the_confirmation_trained_and_a_backend_other_than_tensorflow_are_said(run_folder: Path) -> None:
    info = read_json(run_folder / "run.json")
    info["confirmation"]["devices"] = "7 jobs on CPU"
    write_json(run_folder / "run.json", info)
    text = render_report(run_folder)["md"].read_text()
    assert "Where the confirmation's jobs trained: 7 jobs on CPU." in text
    assert "7 job(s) trained (7 jobs on CPU)" in text
    assert "- Keras backend" not in text and "backend, the notebook's models re-measured" not in text
    write_json(run_folder / "run.json", {**info, "keras_backend": "jax"})
    text = render_report(run_folder)["md"].read_text()
    assert "Every model was trained with Keras's jax backend, the notebook's models re-measured on it." in text
    assert "- Keras backend jax" in text


def test_a_failed_confirmation_is_named_with_its_line_and_how_to_confirm_again(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "failed", confirmed=False)
    line = "node gpu-1: given 0.5 of a GPU (CUDA_VISIBLE_DEVICES='0'), but Keras's tensorflow backend lists no GPU"
    write_json(folder / "run.json", {**read_json(folder / "run.json"),
                                     "confirmation": {"state": "failed", "error": line}})
    text = render_report(folder)["md"].read_text()
    assert f"**The confirmation failed:** {line}" in text
    assert "python -m search.run --resume fixture" in text and f"- confirmation failed: {line}" in text
    assert "No confirmation in this run" not in text


def test_a_smoke_confirmation_is_flagged_as_not_a_result(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "smoke", confirm_train_limit=3_000)
    text = render_report(folder)["md"].read_text()
    assert "**Smoke mode:** the confirmation trained on the first 3,000 training images only" in text


def test_configurations_passed_over_for_the_confirmation_budget_are_named(run_folder: Path) -> None:
    info = read_json(run_folder / "run.json")
    info["confirmation"].update(budget_s=540.0, over_budget=[
        {"name": "0000000a", "best_val_accuracy": 0.9931, "epochs": 6, "estimated_s": 900.0}])
    write_json(run_folder / "run.json", info)
    text = render_report(run_folder)["md"].read_text()
    assert "past its budget of 9 min (`--confirm-budget`): 0000000a (validation 0.9931)" in text


def test_re_rendering_gives_the_same_report(run_folder: Path) -> None:
    first = render_report(run_folder)["md"].read_text()
    assert render_report(run_folder)["md"].read_text() == first


def test_the_command_line_renders_without_ray_or_tensorflow(run_folder: Path) -> None:
    code = ("import sys; from search.report import main; code = main([sys.argv[1]]); "
            "assert 'ray' not in sys.modules and 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'tensorflow', 'keras')); sys.exit(code)")
    completed = subprocess.run([PYTHON, "-c", code, str(run_folder)], cwd=PROJECT_ROOT, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (run_folder / "report.html").is_file()


def test_a_folder_that_is_not_a_run_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "has no run.json" in capsys.readouterr().err


def test_an_unknown_flag_is_one_line_on_stderr(run_folder: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bogus", str(run_folder)])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m search.report: error: unrecognized arguments: --bogus (see --help)"]
    assert not (run_folder / "report.md").exists()


def test_damaged_files_are_refused_and_nothing_is_rendered(run_folder: Path, capsys) -> None:
    (run_folder / "confirm.parquet").write_bytes(b"PAR1 not really")
    assert main([str(run_folder)]) == 2
    assert "cannot read the run's files" in capsys.readouterr().err
    assert not (run_folder / "report.md").exists()


def test_files_edited_out_of_shape_are_refused_and_the_last_report_and_figures_are_kept(run_folder: Path,
                                                                                       capsys) -> None:
    render_report(run_folder)
    rendered = {path.name: path.read_bytes() for path in run_folder.iterdir() if path.suffix in (".md", ".html", ".png")}
    table = pq.read_table(run_folder / "trials.parquet")
    pq.write_table(table.drop_columns(["trial_id"]), run_folder / "trials.parquet")
    assert main([str(run_folder)]) == 2
    error = capsys.readouterr().err
    assert "cannot report on the run's files" in error and "KeyError" in error and len(error.strip().splitlines()) == 1
    assert {name: (run_folder / name).read_bytes() for name in rendered} == rendered


def test_the_importance_ranking_leaves_out_what_the_space_derives() -> None:
    """padding follows from n_blocks: ranked, it would only repeat n_blocks' bar."""
    trials = [{"trial_id": str(n), "state": "completed", "best_val_accuracy": 0.98 + 0.001 * n,
               "hp_n_blocks": 1 + n % 3, "hp_padding": "same" if n % 3 == 2 else "valid", "hp_family": "cnn",
               "hp_learning_rate": 10 ** (-3 + 0.1 * n)} for n in range(9)]
    assert {name for name, _, _ in importances(trials)} == {"n_blocks", "learning_rate"}


@pytest.mark.parametrize(("sizes", "sentence"), [
    ({"data_train_images": 1_437, "search_train_images": 1_293, "validation_images": 144, "train_limit": None},
     "on 144 validation images held out from the 1,437 training images (stratified by class, seed 0), "
     "trained on the other 1,293;"),
    ({"data_train_images": 60_000, "search_train_images": 3_000, "validation_images": 6_000, "train_limit": 3_000},
     "on 6,000 validation images held out from the 60,000 training images (stratified by class, seed 0), "
     "trained on the first 3,000 of the other 54,000 (`--train-limit`);"),
])
def test_the_protocol_gives_the_split_sizes_and_they_add_up_to_the_training_images(
        tmp_path: Path, sizes: dict, sentence: str) -> None:
    folder = make_run_folder(tmp_path / "sized", data="/data/digits.npz")
    write_json(folder / "run.json", {**read_json(folder / "run.json"), **sizes})
    assert sentence in render_report(folder)["md"].read_text()


def test_on_other_data_the_size_figure_draws_no_published_line_and_its_caption_says_none(tmp_path: Path) -> None:
    text = render_report(make_run_folder(tmp_path / "other", data="/data/digits.npz"))["md"].read_text()
    assert "(grey squares)." in text and "red dashed line" not in text
    text = render_report(make_run_folder(tmp_path / "mnist"))["md"].read_text()
    assert "the red dashed line is the notebook's best published figure." in text


def test_the_report_names_the_ensemble_its_members_its_score_and_its_file(run_folder: Path) -> None:
    rows = _confirm_rows(np.random.default_rng(0))
    correct = np.random.default_rng(1).random(10_000) < 0.995
    rows.append({"name": "ensemble", "kind": "ensemble", "trial_id": None, "seed": 0,
                 "test_accuracy": float(correct.mean()), "test_loss": 0.02, "num_params": 360_000,
                 "cached": False, "family": "cnn", "members": ["00000002/seed 0", "00000002/seed 1"],
                 "test_correct": correct.tolist()})
    write_parquet(run_folder / "confirm.parquet", rows_table(rows))
    info = read_json(run_folder / "run.json")
    info["confirmation"]["ensemble"] = {"members": ["00000002/seed 0", "00000002/seed 1"],
                                        "rule": "every seed of every confirmed searched configuration",
                                        "test_accuracy": float(correct.mean()), "model_file": "ensemble_model.keras"}
    write_json(run_folder / "run.json", info)
    text = render_report(run_folder)["md"].read_text()
    assert "| ensemble | ensemble | 1/1 |" in text
    assert ("**The ensemble** averages the class probabilities of 2 confirmed models (every seed of every confirmed "
            "searched configuration: 00000002/seed 0, 00000002/seed 1)") in text
    assert 'keras.saving.load_model("ensemble_model.keras")' in text
    assert f"The ensemble of the confirmed models scores {correct.mean():.4f}" in text  # the headline


def test_a_run_without_an_ensemble_says_why_and_an_older_run_says_nothing_of_one(run_folder: Path) -> None:
    assert "ensemble" not in render_report(run_folder)["md"].read_text().lower()  # a run of an older version
    info = read_json(run_folder / "run.json")
    info["confirmation"]["ensemble"] = {"members": [], "rule": "every seed of every confirmed searched configuration",
                                        "why_none": "no ensemble: it needs at least 2 confirmed models and this run "
                                                    "confirmed 1 (1 configuration(s); --top-k and --confirm-seeds set "
                                                    "how many)"}
    write_json(run_folder / "run.json", info)
    assert ("No ensemble in this run: it needs at least 2 confirmed models and this run confirmed 1"
            in render_report(run_folder)["md"].read_text())


def test_the_report_says_when_the_searchs_best_last_rose(run_folder: Path) -> None:
    for index, result in enumerate(sorted((run_folder / "tune").glob("*/result.json"))):
        line = json.loads(result.read_text())
        result.write_text(json.dumps({**line, "val_accuracy": 0.95 + 0.001 * min(index, 5)}) + "\n")
    text = render_report(run_folder)["md"].read_text()
    assert "The best validation accuracy (0.9550) was last reached" in text
    assert "it did not rise over the last third" in text
