"""A run folder written before run.json had a schema (at 90ff321: a small seeded CNN run,
its run.json, trials.parquet and confirm.parquet) still lists and reports.

The Parquet files are kept as ``NAME.parquet.fixture``: the project keeps generated Parquet
files out of git (``.gitignore``), and these two are a deliberate exception, copied back
under their own names into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from search.reporting import list_runs, list_runs_at, render_report
from search.run_folder import load_record

FIXTURE = Path(__file__).parent / "fixtures" / "run_90ff321"


def copied_run(tmp_path: Path) -> Path:
    """The fixture in a results folder of its own, under its run's name (renders write beside it)."""
    run_dir = tmp_path / "results" / "seeded"
    shutil.copytree(FIXTURE, run_dir)
    for kept in run_dir.glob("*.fixture"):
        kept.rename(kept.with_suffix(""))
    return run_dir


def test_it_lists_with_its_figures_from_a_folder_and_from_a_storage_uri(tmp_path: Path) -> None:
    run_dir = copied_run(tmp_path)
    [run] = list_runs(run_dir.parent)
    assert (run.name, run.space, run.search, run.state, run.trials) == ("seeded", "cnn", "accuracy", "finished", 6)
    assert round(run.best_val_accuracy, 4) == 0.9203 and run.verdict == "no"
    assert list_runs_at(run_dir.parent.resolve().as_uri()) == [run]


def test_it_renders_its_report_with_the_image_counts_it_recorded(tmp_path: Path) -> None:
    run_dir = copied_run(tmp_path)
    text = render_report(run_dir)["md"].read_text()
    assert "# MNIST search `seeded`: space `cnn`" in text
    assert "accuracy on 6,000 validation images" in text and "trained on 3,000 images" in text
    assert "retrained from scratch on 3,000 training images with seeds 0" in text
    assert "scored once on the 10,000 test images" in text
    assert "**Smoke mode:** the confirmation trained on the first 3,000 training images only" in text
    assert "not recorded" not in text
    assert (run_dir / "report.html").is_file()


def test_its_record_keeps_the_run_settings_it_had() -> None:
    record = load_record(FIXTURE)
    assert (record.name, record.state, record.trials, record.max_concurrent) == ("seeded", "finished", 6, 1)
    assert record.confirmation is not None and not record.confirmation.interrupted
