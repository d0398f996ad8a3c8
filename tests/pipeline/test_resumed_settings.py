"""``--resume`` runs with the settings the run recorded, whatever today's defaults are; only a
run.json of an older version that lacks a setting falls back to the run's command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import search.cli._options as cli_defaults
from search.cli import UsageError, parse_options
from search.pipeline import _resume
from search.pipeline._settings import new_run_record, resumed_options
from search.run_folder import Confirmation, RecordWriter, RunRecord, load_record
from spaces import SPACES

FIXTURE_90FF321 = Path(__file__).parents[1] / "run_folder" / "fixtures" / "run_90ff321"
# Every setting of a run that its resume must keep.
RUN_SETTINGS = ("space", "seed", "data", "train_limit", "max_epochs", "num_samples", "time_budget_s", "objective",
                "max_params", "stop_at", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "max_failures",
                "confirm", "top_k", "confirm_seeds", "confirm_train_limit", "confirm_budget_s")
RESUMING = ["--resume", "x", "--results", "/elsewhere", "--address", "auto", "--no-dashboard"]


def settings(options) -> dict:
    return {name: getattr(options, name) for name in RUN_SETTINGS}


def recorded_run(argv: list[str], *, max_concurrent: int = 2) -> RunRecord:
    """The record a new run with command line ``argv`` writes, read back from its JSON."""
    options = parse_options(argv)
    images = SimpleNamespace(shape=(100, 28, 28))
    record = new_run_record(
        options, plan=SimpleNamespace(name="run", max_concurrent=max_concurrent),
        mnist=SimpleNamespace(sha256="ab", x_train=images, x_test=images),
        split=SimpleNamespace(x_train=np.zeros((90, 1)), x_val=np.zeros((10, 1))),
        cluster=SimpleNamespace(resources={"CPU": 2.0}, waited_for_nodes_s=0.0))
    return RunRecord.from_json(record.to_json())


@pytest.mark.parametrize("argv", [
    ["--space", "cnn", "--seed", "4"],
    ["--space", "dense", "--objective", "pareto", "--max-params", "30000", "--stop-at", "0.98", "--no-confirm"],
    ["--max-concurrent", "3", "--train-limit", "500", "--top-k", "2", "--confirm-seeds", "1",
     "--confirm-train-limit", "500", "--confirm-budget", "2m", "--time-budget", "90s", "--max-failures", "0"],
])
def test_a_resumed_run_keeps_every_recorded_setting_when_todays_defaults_change(argv, monkeypatch) -> None:
    started_with = parse_options(argv)
    record = recorded_run(argv, max_concurrent=started_with.max_concurrent or 2)
    monkeypatch.setattr(cli_defaults, "DEFAULT_TIME_BUDGET_S", 60)
    monkeypatch.setattr(cli_defaults, "DEFAULT_CONFIRM_BUDGET_S", 30)
    monkeypatch.setattr(cli_defaults, "DEFAULT_TOP_K", 9)
    monkeypatch.setattr(cli_defaults, "DEFAULT_NUM_SAMPLES", 7)
    monkeypatch.setattr(cli_defaults, "SIZE_AWARE_TIME_BUDGET_S", 61)
    monkeypatch.setattr(cli_defaults, "SIZE_AWARE_CONFIRM_BUDGET_S", 31)
    for name, space in list(SPACES.items()):
        monkeypatch.setitem(SPACES, name, dataclasses.replace(space, max_epochs=1, size_aware_max_epochs=1))
    assert settings(parse_options(argv)) != settings(started_with)  # today's defaults did change
    resumed = resumed_options(record, parse_options(RESUMING), name="run")
    assert settings(resumed) == {**settings(started_with), "max_concurrent": started_with.max_concurrent or 2}


def test_where_to_run_and_write_comes_from_the_resuming_command() -> None:
    resumed = resumed_options(recorded_run(["--space", "cnn"]), parse_options(RESUMING), name="run")
    assert (resumed.results, resumed.name, resumed.address, resumed.dashboard) == ("/elsewhere", "run", "auto", False)


def test_the_run_of_90ff321_resumes_with_the_settings_it_ran_with(monkeypatch) -> None:
    monkeypatch.setattr(cli_defaults, "DEFAULT_TIME_BUDGET_S", 60)  # recorded: the old default wins
    resumed = resumed_options(load_record(FIXTURE_90FF321), parse_options(RESUMING), name="seeded")
    assert settings(resumed) == {
        "space": "cnn", "seed": 0, "data": None, "train_limit": 3000, "max_epochs": 2, "num_samples": 6,
        "time_budget_s": 540.0, "objective": "accuracy", "max_params": None, "stop_at": None, "max_concurrent": 1,
        "cpus_per_trial": 1.0, "gpus_per_trial": 0.0,
        # Not in a run.json of 90ff321: from its command line, by today's parser.
        "max_failures": cli_defaults.DEFAULT_MAX_FAILURES, "confirm": True, "top_k": 1, "confirm_seeds": 1, "confirm_train_limit": 3000,
        "confirm_budget_s": 540.0,
    }


def test_an_older_record_lacking_a_setting_takes_it_from_its_command_line(monkeypatch) -> None:
    record = RunRecord.from_json({"argv": ["--space", "dense", "--max-failures", "3"], "space": "dense", "seed": 1})
    resumed = resumed_options(record, parse_options(RESUMING), name="old")
    assert (resumed.space, resumed.seed, resumed.max_failures) == ("dense", 1, 3)


def test_a_new_run_records_its_keras_backend_and_confirms_on_it(monkeypatch) -> None:
    from search.pipeline._settings import confirm_settings

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    record = recorded_run(["--space", "dense"])
    assert record.keras_backend == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # the jobs' cache key is the run's backend, not today's
    assert confirm_settings(parse_options(["--space", "dense"]), record).keras_backend == "jax"


def saved_run(results: Path, argv: list[str]) -> Path:
    """A run started with ``argv`` whose search finished and whose confirmation was interrupted."""
    record = dataclasses.replace(recorded_run(argv), state="finished", confirmation=Confirmation(state="interrupted"))
    return RecordWriter.create(results / "run", record).run_dir


@pytest.mark.parametrize(("flags", "message"), [
    (["--time-budget", "30m"], "that run's --time-budget is 90 s, not 1800 s, and a resumed run keeps its settings: "
                               "drop --time-budget, or start a new run with another --name"),
    (["--no-confirm"], "that run's confirmation is on, not off, and a resumed run keeps its settings: drop --no-confirm"),
    (["--seed", "5"], "that run's --seed is 0, not 5"),
    (["--data", "digits.npz"], "that run's --data is not given, not 'digits.npz'"),
    (["--space", "dense"], "that run searched space 'cnn', not 'dense': drop --space"),
    (["--warm-start", "other"], "a resumed run goes on from what it started from: drop --warm-start"),
])
def test_a_setting_the_resuming_command_changes_is_refused_not_ignored(flags, message, tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, ["--space", "cnn", "--time-budget", "90s"])
    before = (run_dir / "run.json").read_bytes()
    with pytest.raises(UsageError) as refused:
        _resume.resume_run(parse_options(["--resume", "run", "--results", str(tmp_path), *flags]))
    assert str(refused.value).startswith("--resume 'run': ") and message in str(refused.value)
    assert (run_dir / "run.json").read_bytes() == before


def test_the_same_settings_again_and_where_to_run_are_taken(tmp_path: Path, monkeypatch) -> None:
    saved_run(tmp_path, ["--space", "cnn", "--time-budget", "90s"])
    confirmed: list[str] = []
    monkeypatch.setattr(_resume, "_resume_confirmation", lambda options, *, writer: confirmed.append(options.address))
    _resume.resume_run(parse_options(["--resume", "run", "--results", str(tmp_path), "--space", "cnn",
                                      "--time-budget", "1.5m", "--seed", "0", "--address", "auto", "--no-dashboard"]))
    assert confirmed == ["auto"]
