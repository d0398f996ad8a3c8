"""The heartbeat and the target's stopper write the run's record through its one writer:
the same in-memory record the pipeline holds, saved to run.json at each change."""

from __future__ import annotations

import pickle
from pathlib import Path

from search.run_folder import RUN_FILE, RecordWriter, RunRecord, TargetHit, read_json
from search.tuning import Heartbeat
from search.tuning._target import TargetReached


def open_run(tmp_path: Path) -> RecordWriter:
    writer = RecordWriter.create(tmp_path / "run", RunRecord(name="run", state="running", search_wall_s=100.0))
    writer.update(session_started="2026-12-01T10:00:00+00:00", session_spent_before_s=100.0)
    return writer


def test_the_heartbeat_stamps_the_writers_record_and_the_file(tmp_path: Path) -> None:
    writer = open_run(tmp_path)
    heartbeat = Heartbeat(writer.run_dir, interval_s=0.0)
    heartbeat.setup()
    heartbeat.on_step_end(1, [])
    assert writer.record.heartbeat is not None and 100.0 <= writer.record.search_wall_s < 160.0
    assert read_json(writer.run_dir / RUN_FILE)["heartbeat"] == writer.record.heartbeat


def test_the_target_stopper_records_the_first_hit_in_the_writers_record_and_stops_all(tmp_path: Path) -> None:
    writer = open_run(tmp_path)
    stopper = TargetReached(writer.run_dir, 0.9)
    assert stopper("t0", {"val_accuracy": 0.5, "training_iteration": 1}) is False and not stopper.stop_all()
    stopper("t1", {"val_accuracy": 0.95, "training_iteration": 2})
    stopper("t2", {"val_accuracy": 0.99, "training_iteration": 2})
    assert stopper.stop_all()
    hit = writer.record.stopped_at_target
    assert isinstance(hit, TargetHit) and (hit.trial_id, hit.val_accuracy, hit.epoch, hit.target) == ("t1", 0.95, 2, 0.9)
    assert hit.search_wall_s >= 100.0  # counted from what the earlier sessions spent
    assert read_json(writer.run_dir / RUN_FILE)["stopped_at_target"]["trial_id"] == "t1"


def test_after_tune_unpickles_them_they_still_write_through_the_open_writer(tmp_path: Path) -> None:
    writer = open_run(tmp_path)
    heartbeat = pickle.loads(pickle.dumps(Heartbeat(writer.run_dir, interval_s=0.0)))
    stopper = pickle.loads(pickle.dumps(TargetReached(writer.run_dir, 0.9)))
    heartbeat.setup()
    heartbeat.beat()
    stopper("t1", {"val_accuracy": 0.95, "training_iteration": 1})
    record = writer.record
    assert record.heartbeat is not None and record.stopped_at_target is not None
    assert RunRecord.from_json(read_json(writer.run_dir / RUN_FILE)) == record
