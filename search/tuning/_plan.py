"""Everything a search needs, as plain values (the pipeline makes it from the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SearchPlan:
    space: str
    name: str
    run_dir: Path
    num_samples: int
    time_budget_s: float
    max_epochs: int
    max_concurrent: int
    cpus_per_trial: float
    gpus_per_trial: float
    seed: int
    max_failures: int
    # Where Tune writes its folder (``storage_uri/tune``) when --results is a storage URI;
    # None: the run's folder. Our own files always go to ``run_dir`` (see search.run_folder).
    storage_uri: str | None = None
