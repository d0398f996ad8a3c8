"""Everything a search needs, as plain values (the pipeline makes it from the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from search.study import size_aware


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
    objective: str = "accuracy"  # or "pareto": validation accuracy and parameters
    max_params: int | None = None  # the largest model the search may train
    stop_at: float | None = None  # the validation accuracy that ends the search

    @property
    def size_aware(self) -> bool:
        """Whether the search weighs parameters (its space then offers what small models need)."""
        return size_aware(self.objective, self.max_params)
