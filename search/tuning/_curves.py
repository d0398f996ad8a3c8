"""TensorBoard curves of every trial, written live into the run's folder.

Tune's own TensorBoard logger writes ``ray/tune/…`` scalars (eleven of them, most of them
bookkeeping) into Ray's staging folder and copies them into the run's folder only when it
syncs, under trial folders named by every hyperparameter. ``TrialCurves`` takes its place
(Tune adds its own only when no ``TBXLoggerCallback`` is given) and writes, in the driver,
within seconds of each epoch:

    RUN/tensorboard/<trial id>[-<notebook model>]/events.out.tfevents.*
        accuracy/train, accuracy/validation, loss/train, loss/validation, time/epoch_seconds

with step = epoch, and the trial's hyperparameters for TensorBoard's HParams tab. So
``tensorboard --logdir RUN`` shows every trial's curves side by side, while the search runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ray.tune.logger import TBXLoggerCallback
from tensorboardX import SummaryWriter
from tensorboardX.proto.api_pb2 import Status
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo
from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboardX.summary import hparams

from search.run_folder import TENSORBOARD_FOLDER
from spaces import notebook_model_of
# Tune's result key -> the TensorBoard tag; tags sharing a prefix share a section.
SCALAR_TAGS = {
    "train_accuracy": "accuracy/train",
    "val_accuracy": "accuracy/validation",
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "epoch_seconds": "time/epoch_seconds",
}
STEP_KEY = "training_iteration"
# tensorboardX writes from a thread and flushes the file at most this often (TensorBoard
# itself reloads every 5 s), so a finished epoch shows within a few seconds.
FLUSH_SECONDS = 2
_HPARAM_TYPES = (bool, int, float, str)


class TrialCurves(TBXLoggerCallback):
    """One TensorBoard run per trial under ``run_dir/tensorboard``, a notebook model's trial
    named after it.

    A ``TBXLoggerCallback`` only so that Tune adds no TensorBoard logger of its own; it keeps
    its own writers and uses none of the base class's state."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self._root = Path(run_dir) / TENSORBOARD_FOLDER
        self._writers: dict[Any, SummaryWriter] = {}

    @property
    def open_writers(self) -> int:
        return len(self._writers)

    def log_trial_start(self, trial: Any) -> None:
        if trial in self._writers:
            self._writers[trial].close()
        writer = SummaryWriter(str(self._root / self.run_name(trial)), flush_secs=FLUSH_SECONDS)
        self._writers[trial] = writer
        self._write_hparams(writer, trial.config or {})

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        if trial not in self._writers:
            self.log_trial_start(trial)
        writer = self._writers[trial]
        step = int(result.get(STEP_KEY) or iteration)
        for key, tag in SCALAR_TAGS.items():
            value = result.get(key)
            if isinstance(value, (int, float)) and value == value:
                writer.add_scalar(tag, float(value), global_step=step)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        writer = self._writers.pop(trial, None)
        if writer is not None:
            self._write_session_end(writer, failed=failed)
            writer.close()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        """Close the writers of trials Tune stopped without completing them (time budget,
        interrupt): their curves are on disk already, flushed at every epoch."""
        for trial in list(self._writers):
            self._writers.pop(trial).close()

    def run_name(self, trial: Any) -> str:
        """``<trial id>``, or ``<trial id>-<model>`` for the notebook's models."""
        model = notebook_model_of(trial.config or {})
        return f"{trial.trial_id}-{model}" if model else str(trial.trial_id)

    @staticmethod
    def _write_hparams(writer: Any, config: Mapping[str, Any]) -> None:
        """The hyperparameters for the HParams tab (a session start only: TensorBoard then
        builds the table from every trial's values, and every trial has its own keys)."""
        values = {key: value for key, value in sorted(config.items()) if isinstance(value, _HPARAM_TYPES)}
        _, session_start, _ = hparams(values, {})
        # SummaryWriter.add_hparams would write into a new sub-folder, away from the curves.
        writer._get_file_writer().add_summary(session_start)

    @staticmethod
    def _write_session_end(writer: Any, *, failed: bool) -> None:
        status = Status.Value("STATUS_FAILURE" if failed else "STATUS_SUCCESS")
        content = HParamsPluginData(session_end_info=SessionEndInfo(status=status), version=0)
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="hparams", content=content.SerializeToString()))
        writer._get_file_writer().add_summary(
            Summary(value=[Summary.Value(tag="_hparams_/session_end_info", metadata=metadata)]))
