"""The confirmation's plan: every candidate x seed as a job, longest first, within its budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from search.confirmation._candidates import Candidate
from search.verdict import SEARCHED_KIND


@dataclass(frozen=True)
class Job:
    candidate: Candidate
    seed: int
    keep_model: bool = False

    @property
    def estimated_seconds(self) -> float:
        return (self.candidate.epoch_seconds or 1.0) * self.candidate.epochs


@dataclass(frozen=True)
class BudgetFit:
    """The configurations chosen to confirm, and those left out because their retraining
    would have pushed the confirmation's estimated wall time past its budget."""

    chosen: list[Candidate]
    over_budget: list[tuple[Candidate, float]]  # (candidate, estimated wall seconds with it)
    estimated_s: float


def plan_jobs(candidates: Sequence[Candidate], seeds: Sequence[int]) -> list[Job]:
    """Every candidate x seed, longest first (so a pool of workers ends as early as it can);
    every searched job keeps its trained model and test probabilities (the best model and the
    ensemble are made of them)."""
    jobs = [Job(candidate, seed, keep_model=candidate.kind == SEARCHED_KIND)
            for candidate in candidates for seed in seeds]
    return sorted(jobs, key=lambda job: -job.estimated_seconds)


def plan_jobs_of(fixed_jobs: Sequence[Job], candidates: Sequence[Candidate], seeds: Sequence[int] = ()) -> list[Job]:
    """``fixed_jobs`` and every candidate x seed, longest first."""
    return sorted([*fixed_jobs, *plan_jobs(candidates, seeds)], key=lambda job: -job.estimated_seconds)


def estimate_wall_seconds(jobs: Sequence[Job], concurrency: int) -> float:
    """The jobs' wall time on ``concurrency`` workers that each take the next job when free
    (the jobs in their given order), from their estimated seconds."""
    workers = [0.0] * max(1, concurrency)
    for job in jobs:
        index = workers.index(min(workers))
        workers[index] += job.estimated_seconds
    return max(workers)


def fit_to_budget(
    ranked: Sequence[Candidate], fixed_jobs: Sequence[Job], seeds: Sequence[int], *, k: int,
    concurrency: int, budget_s: float | None,
) -> BudgetFit:
    """The best ``k`` of ``ranked`` (in rank order) whose jobs, with ``fixed_jobs`` (the
    notebook measurements not in the cache), fit ``budget_s`` estimated wall seconds.

    A candidate that would not fit is passed over and the next one is tried, so a slow
    configuration ranked first cannot stretch the run: a run's length stays what its
    time budgets say. The notebook's jobs always run; they come first.
    """
    chosen: list[Candidate] = []
    over: list[tuple[Candidate, float]] = []
    estimate = estimate_wall_seconds(plan_jobs_of(fixed_jobs, []), concurrency)
    for candidate in ranked:
        if len(chosen) == k:
            break
        trial = estimate_wall_seconds(plan_jobs_of(fixed_jobs, [*chosen, candidate], seeds), concurrency)
        if budget_s is not None and trial > budget_s:
            over.append((candidate, trial))
            continue
        chosen.append(candidate)
        estimate = trial
    return BudgetFit(chosen=chosen, over_budget=over, estimated_s=estimate)
