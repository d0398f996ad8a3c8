"""A confirmation job refused for its device fails the run with the one line, keeps what the
search saved, and ``--resume`` confirms again; without Ray (the confirmation is made up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_models import DeviceError
from search.cli import UsageError, parse_options
from search.confirmation import ConfirmSettings
from search.pipeline import RunFailed
from search.pipeline import _confirm_step, _resume
from search.run_folder import TRIALS_FILE, Confirmation, RecordWriter, RunRecord, load_record

REFUSED = ("node gpu-1: given 0.5 of a GPU (CUDA_VISIBLE_DEVICES='0'), but Keras's tensorflow backend lists no GPU "
           "and would train on the CPU: install ..., or run with --gpus-per-trial 0")
RESUME = "python -m search.run --resume run --results RESULTS"


def searched_run(results: Path, **record: object) -> RecordWriter:
    """A run whose search finished: its run.json and trials.parquet."""
    run_dir = results / "run"
    writer = RecordWriter.create(run_dir, RunRecord(name="run", space="dense", argv=["--space", "dense"],
                                                    state="finished", keras_backend="tensorflow", **record))
    (run_dir / TRIALS_FILE).write_bytes(b"the search's trials")
    return writer


def settings(tmp_path: Path) -> ConfirmSettings:
    return ConfirmSettings(top_k=1, seeds=(0,), train_limit=None, cpus_per_job=1.0, gpus_per_job=0.5, concurrency=2,
                           cache_folder=tmp_path / "cache", versions={})


def test_a_job_refused_for_its_device_fails_the_run_with_the_one_line_and_keeps_the_search(
        tmp_path: Path, monkeypatch, capsys) -> None:
    writer = searched_run(tmp_path)

    def refused(*args, **kwargs):
        raise DeviceError(REFUSED)

    monkeypatch.setattr(_confirm_step, "confirm", refused)
    with pytest.raises(RunFailed) as failed:
        _confirm_step.confirm_and_report(settings(tmp_path), writer=writer, trial_rows=[], mnist=None, resume=RESUME)
    assert str(failed.value) == REFUSED
    record = load_record(writer.run_dir)
    assert record.confirmation.to_json() == {"state": "failed", "error": REFUSED}
    assert record.state == "finished"  # the search's state: its results stand
    assert (writer.run_dir / TRIALS_FILE).read_bytes() == b"the search's trials"
    assert RESUME in capsys.readouterr().err


@pytest.mark.parametrize("state", ["failed", "interrupted"])
def test_resume_confirms_again_a_run_whose_confirmation_failed_or_was_interrupted(
        state: str, tmp_path: Path, monkeypatch) -> None:
    searched_run(tmp_path, confirmation=Confirmation(state=state, error=REFUSED if state == "failed" else None))
    confirmed: list[str] = []
    monkeypatch.setattr(_resume, "_resume_confirmation", lambda options, *, writer: confirmed.append(writer.run_dir.name))
    _resume.resume_run(parse_options(["--resume", "run", "--results", str(tmp_path)]))
    assert confirmed == ["run"]


def test_resume_of_a_run_whose_confirmation_finished_is_refused(tmp_path: Path) -> None:
    searched_run(tmp_path, confirmation=Confirmation(jobs_run=4))
    with pytest.raises(UsageError, match="already finished"):
        _resume.resume_run(parse_options(["--resume", "run", "--results", str(tmp_path)]))


def test_a_confirmation_is_not_resumed_on_another_keras_backend(tmp_path: Path, monkeypatch) -> None:
    writer = searched_run(tmp_path, confirmation=Confirmation(state="failed", error=REFUSED))
    writer.update(keras_backend="jax")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(UsageError, match="KERAS_BACKEND=jax"):
        _resume.resume_run(parse_options(["--resume", "run", "--results", str(tmp_path)]))
