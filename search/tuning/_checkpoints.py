"""The trials' epoch checkpoints in Tune's folder: needed while a search can go on, not after."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pyarrow.fs as pafs

from search.run_folder import TUNE_FOLDER, is_uri
from search.tuning._plan import SearchPlan

CHECKPOINT_PREFIX = "checkpoint_"  # Tune's name for a trial's checkpoint folders

# How many epoch checkpoints a trial keeps (``CheckpointConfig(num_to_keep=...)``). Tune saves
# its whole experiment state (every trial's, so its cost grows with the search) each time any
# trial has saved this many checkpoints since the last save, so that the state never names a
# checkpoint already deleted. With 1 that is a save for every epoch of every trial; with 2 it
# is about one save per epoch-length of time, whatever the number of slots, and the state names
# the latest checkpoint or the one before, both still on disk (docs/PERFORMANCE.md, the driver
# at scale). Checkpoints are deleted once the search has finished.
CHECKPOINTS_KEPT = 2


def remove_trial_checkpoints(plan: SearchPlan) -> int:
    """Delete every trial's checkpoint folder under the run's Tune folder (local, or at the
    storage URI); returns how many. Called once a search has finished: a finished search is
    not resumed, and a dense search's checkpoints would hold gigabytes."""
    root = plan.storage_uri or str(Path(plan.run_dir).resolve())
    if is_uri(root):
        fs, base = pafs.FileSystem.from_uri(root)
    else:
        fs, base = pafs.LocalFileSystem(), root
    tune_dir = posixpath.join(base, TUNE_FOLDER)
    removed = 0
    for trial in fs.get_file_info(pafs.FileSelector(tune_dir, allow_not_found=True)):
        if trial.type != pafs.FileType.Directory:
            continue
        for entry in fs.get_file_info(pafs.FileSelector(trial.path, allow_not_found=True)):
            if entry.type == pafs.FileType.Directory and entry.base_name.startswith(CHECKPOINT_PREFIX):
                fs.delete_dir(entry.path)
                removed += 1
    return removed
