"""run.json as a typed record: every field read and written back, an older file's gaps and
unknown keys kept as they were, and one writer that every part of a run writes through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from search.run_folder import (
    RUN_FILE,
    SHIPPED_DATA,
    ConfirmOptions,
    Confirmation,
    Driver,
    RecordWriter,
    RunFileError,
    RunRecord,
    TargetHit,
    load_record,
    read_json,
)

FIXTURE_90FF321 = Path(__file__).parent / "fixtures" / "run_90ff321"


def full_record() -> RunRecord:
    """A record with every field set, groups included."""
    return RunRecord(
        name="full", space="cnn", command="python -m search.run --space cnn", argv=["--space", "cnn"], seed=3,
        data="shipped MNIST", data_sha256="06af", train_limit=3000, max_epochs=6, num_samples=200,
        time_budget_s=540.0, objective="pareto", max_params=5000, stop_at=0.99, max_concurrent=2,
        cpus_per_trial=1.0, gpus_per_trial=0.25, max_failures=2,
        confirm_options=ConfirmOptions(enabled=True, top_k=6, seeds=3, train_limit=None, budget_s=840.0),
        warm_start_from=[{"run": "earlier", "trials": 4, "best_val_accuracy": 0.98}],
        search_train_images=2700, validation_images=6000, data_train_images=60_000, data_test_images=10_000,
        cluster_resources={"CPU": 2.0}, waited_for_nodes_s=0.0, versions={"python": "3.11.7"},
        keras_backend="tensorflow",
        started="2026-12-01T10:00:00+00:00", ended="2026-12-01T10:09:00+00:00", state="finished",
        driver=Driver(host="vm", pid=42), heartbeat="2026-12-01T10:08:50+00:00", resumed=1,
        session_started="2026-12-01T10:05:00+00:00", session_spent_before_s=200.0, search_wall_s=540.0,
        trials=12, best_val_accuracy=0.99, trial_states={"completed": 12}, trial_devices="12 trials on CPU",
        trial_retries=0, error="node vm: given 0.25 of a GPU, but ... lists no GPU",
        stopped_at_target=TargetHit(target=0.99, trial_id="t1", val_accuracy=0.991, epoch=3,
                                    at="2026-12-01T10:08:00+00:00", search_wall_s=480.0),
        confirmation=Confirmation(top_k=6, seeds=[3, 4, 5], train_images=60_000, test_images=10_000,
                                  concurrency=2, configurations=["t1"], budget_s=840.0, jobs_run=9,
                                  best_model="t1, seed 3, test accuracy 0.9921", objective="pareto",
                                  devices="9 jobs on CPU",
                                  threshold=0.9854),
    )


def test_a_full_record_survives_a_round_trip_through_json() -> None:
    record = full_record()
    document = json.loads(json.dumps(record.to_json()))
    assert RunRecord.from_json(document) == record
    assert RunRecord.from_json(document).unrecorded == frozenset()


def test_a_run_json_of_90ff321_reads_as_a_typed_record_and_is_written_back_unchanged() -> None:
    document = read_json(FIXTURE_90FF321 / RUN_FILE)
    record = load_record(FIXTURE_90FF321)
    assert (record.space, record.seed, record.max_epochs, record.time_budget_s) == ("cnn", 0, 2, 540.0)
    assert record.driver == Driver(host="vm", pid=2350)
    assert record.confirmation.train_images == 3000 and record.confirmation.seeds == [0]
    assert {"max_failures", "confirm_options", "data_train_images", "data_test_images"} <= record.unrecorded
    assert record.to_json() == document


def test_fields_a_file_lacks_get_their_defaults_and_unknown_keys_are_kept() -> None:
    record = RunRecord.from_json({"state": "interrupted", "a_later_field": {"x": 1}})
    assert record.objective == "accuracy" and record.resumed == 0 and record.search_seconds == 0.0
    assert not record.recorded("objective") and record.recorded("state")
    assert record.to_json() == {"state": "interrupted", "a_later_field": {"x": 1}}


def test_what_a_run_writes_only_once_it_happened_stays_out_of_a_new_record() -> None:
    written = RunRecord(name="new", state="running").to_json()
    for later in ("resumed", "search_wall_s", "trials", "best_val_accuracy", "trial_states", "stopped_at_target",
                  "confirmation", "session_started"):
        assert later not in written
    assert written["ended"] is None and written["max_params"] is None  # written at the start, as null


def test_the_data_file_of_a_run_is_none_for_the_shipped_mnist_and_the_file_given_otherwise() -> None:
    assert RunRecord(data=SHIPPED_DATA).data_file is None
    assert RunRecord().data_file is None, "a record that lacks it: the shipped MNIST, as before --data existed"
    assert RunRecord(data="/data/digits.npz").data_file == "/data/digits.npz"


def test_an_interrupted_confirmation_is_its_state_alone() -> None:
    assert Confirmation(state="interrupted").to_json() == {"state": "interrupted"}
    assert "state" not in Confirmation(top_k=1).to_json()


@pytest.mark.parametrize("document", [[1, 2], "text", {"driver": "vm"}])
def test_a_run_json_that_is_not_a_record_is_a_value_error(document) -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        RunRecord.from_json(document)


@pytest.mark.parametrize(("document", "message"), [
    ({"objective": None}, "field 'objective' is None, but must be a string"),
    ({"trials": "12"}, "field 'trials' is '12', but must be a whole number or null"),
    ({"resumed": True}, "field 'resumed' is True, but must be a whole number"),
    ({"best_val_accuracy": "0.99"}, "field 'best_val_accuracy' is '0.99', but must be a number or null"),
    ({"argv": "--space cnn"}, "field 'argv' is '--space cnn', but must be a list"),
    ({"confirmation": {"jobs_run": 1.5}}, "field 'jobs_run' is 1.5, but must be a whole number or null"),
])
def test_a_field_that_is_not_of_its_type_makes_the_record_unreadable(document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RunRecord.from_json(document)


def test_a_whole_number_reads_as_a_float_field_and_null_as_an_optional_one() -> None:
    record = RunRecord.from_json({"time_budget_s": 540, "max_params": None, "cluster_resources": {"CPU": 2}})
    assert record.time_budget_s == 540 and record.max_params is None and record.recorded("max_params")


@pytest.mark.parametrize("text", ["{\"state\": ", "[]", "{\"objective\": null}"])
def test_a_damaged_run_json_is_a_run_file_error_naming_the_file(tmp_path: Path, text: str) -> None:
    (tmp_path / RUN_FILE).write_text(text)
    with pytest.raises(RunFileError, match=re.escape(f"{str(tmp_path / RUN_FILE)!r} is not a readable run record (")):
        load_record(tmp_path)
    assert (tmp_path / RUN_FILE).read_text() == text


def test_the_writer_creates_the_folder_saves_every_change_and_is_found_by_its_path(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    writer = RecordWriter.create(run_dir, RunRecord(name="run", state="running"))
    assert RecordWriter.of(run_dir) is writer and RecordWriter.of(tmp_path / "." / "run") is writer
    writer.update(state="interrupted", search_wall_s=12.5)
    assert load_record(run_dir) == writer.record
    assert read_json(run_dir / RUN_FILE)["search_wall_s"] == 12.5


def test_a_field_set_on_an_older_record_is_then_recorded(tmp_path: Path) -> None:
    (tmp_path / RUN_FILE).write_text(json.dumps({"state": "interrupted", "argv": []}))
    writer = RecordWriter.open(tmp_path)
    writer.update(max_failures=1)
    assert writer.record.recorded("max_failures") and read_json(tmp_path / RUN_FILE)["max_failures"] == 1
    assert "confirm_options" not in read_json(tmp_path / RUN_FILE)


def test_a_misspelt_field_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    writer = RecordWriter.create(tmp_path / "run", RunRecord(name="run"))
    with pytest.raises(TypeError):
        writer.update(stat="finished")
    assert load_record(tmp_path / "run").state is None
