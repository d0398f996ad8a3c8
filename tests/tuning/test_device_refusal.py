"""A trial refused its GPU stops the whole search as Ctrl-C does, and its one line goes to the
run's record; any other failure leaves the search to Tune's retries."""

from __future__ import annotations

import pickle
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from search.run_folder import RUN_FILE, RecordWriter, RunRecord, read_json
from search.tuning._device_refusal import DeviceRefusal, refusal_line

LINE = ("node gpu-1: given 0.5 of a GPU (CUDA_VISIBLE_DEVICES='1'), but Keras's tensorflow backend lists no GPU and "
        "would train on the CPU: install TensorFlow's CUDA libraries on the GPU nodes, or run with --gpus-per-trial 0")
# What Ray writes to a trial's error file for the trainable's exception (shortened).
RAY_TRACE = f"""ray::ImplicitFunc.train() (pid=4242, ip=10.0.0.7, actor_id=ab12, repr=train_trial)
  File "/search/tuning/_trainable.py", line 49, in train_trial
    process.train(config, (split.x_train, split.y_train, split.x_val, split.y_val),
  File "/mnist_models/_training_process.py", line 171, in _start
    raise DeviceError(ready[1])
mnist_models._device.DeviceError: {LINE}
"""
LOST_NODE = "The actor died unexpectedly before finishing this task. (a node was lost)"


@pytest.fixture
def sigint() -> list[int]:
    """SIGINTs this process receives, taken by a handler of the test's instead of Tune's."""
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    yield received
    signal.signal(signal.SIGINT, previous)


def open_run(tmp_path: Path) -> RecordWriter:
    return RecordWriter.create(tmp_path / "run", RunRecord(name="run", state="running"))


def failed_trial(tmp_path: Path, trial_id: str, *failures: str) -> SimpleNamespace:
    """A trial whose error file holds ``failures`` as Tune appends them, the latest last."""
    error_file = tmp_path / f"{trial_id}-error.txt"
    error_file.write_text("".join(f"Failure # {number} (occurred at 2026-12-06_02-40-00)\n{text}\n"
                                  for number, text in enumerate(failures, start=1)))
    return SimpleNamespace(trial_id=trial_id, error_file=str(error_file))


def test_the_one_line_is_found_in_rays_trace_of_the_trials_exception() -> None:
    assert refusal_line(RAY_TRACE) == LINE
    assert refusal_line(f"Traceback ...\n  raise DeviceError(ready[1])\nDeviceError: {LINE}") == LINE
    assert refusal_line(LOST_NODE) is None and refusal_line(None) is None


def test_a_refused_trial_records_its_line_and_stops_the_search_once(tmp_path: Path, sigint: list[int]) -> None:
    writer = open_run(tmp_path)
    refusal = DeviceRefusal(writer.run_dir)
    refusal.on_trial_recover(iteration=3, trials=[], trial=failed_trial(tmp_path, "t1", RAY_TRACE))
    assert sigint == [signal.SIGINT], "stopped as Ctrl-C stops it: Tune saves its state, the trials stay resumable"
    assert writer.record.error == LINE and read_json(writer.run_dir / RUN_FILE)["error"] == LINE
    # The trials refused in the same step: the search is stopping already.
    refusal.on_trial_error(iteration=3, trials=[], trial=failed_trial(tmp_path, "t2", RAY_TRACE))
    assert sigint == [signal.SIGINT] and writer.record.error == LINE


def test_a_trial_lost_with_its_node_is_left_to_tunes_retries(tmp_path: Path, sigint: list[int]) -> None:
    writer = open_run(tmp_path)
    refusal = pickle.loads(pickle.dumps(DeviceRefusal(writer.run_dir)))  # as a resumed search gets it back
    refusal.on_trial_recover(iteration=1, trials=[], trial=failed_trial(tmp_path, "t1", LOST_NODE))
    # Refused on a node before it was mended, lost with its node since: its latest failure counts.
    refusal.on_trial_recover(iteration=2, trials=[], trial=failed_trial(tmp_path, "t2", RAY_TRACE, LOST_NODE))
    refusal.on_trial_error(iteration=2, trials=[], trial=SimpleNamespace(trial_id="t3", error_file=None))
    assert sigint == [] and writer.record.error is None
