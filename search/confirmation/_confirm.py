"""Honest confirmation: retrain the best configurations and the notebook's models, score each once on test.

The search ranks trials on the validation split only. Here the top K distinct configurations
are retrained from scratch on all training images, each with S seeds, for the epoch at which
their trial peaked, and scored once on the test images. The notebook's three models go
through exactly the same steps with the same seeds and their own epochs, batch sizes and
optimizers; their measurements are cached (``_notebook_cache``).

Three steps: the plan (candidates, cached measurements, the jobs that fit the budget), the
run (the jobs on the search's Ray cluster, longest first, as many at once as the search ran
trials) and the write (``confirm.parquet``, the best model, the verdict in the terminal, where
the jobs trained). A job refused for its device stops the confirmation with
``mnist_models.DeviceError`` before anything is written; the notebook measurements made until
then are in the cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TextIO

import numpy as np

from mnist_models import FinalSplit, Mnist, final_split
from search.confirmation._best_model import save_best_model
from search.confirmation._ensemble import EnsemblePlan, ensemble_members, ensemble_row, ensemble_section
from search.confirmation._ensemble_model import build_on_cluster
from search.confirmation._candidates import (
    Candidate,
    notebook_candidates,
    select_front_configurations,
    select_top_configurations,
)
from search.confirmation._job import confirm_row, sort_rows
from search.confirmation._notebook_cache import BaselineCache, cache_key
from search.confirmation._plan import BudgetFit, Job, fit_to_budget, plan_jobs, plan_jobs_of
from search.confirmation._pool import PoolSettings, run_jobs
from search.run_folder import (
    BEST_MODEL_FILE,
    CONFIRM_FILE,
    ENSEMBLE_MODEL_FILE,
    SMALLEST_MODEL_FILE,
    atomic_write_bytes,
    rows_table,
    where_trained,
    write_parquet,
)
from search.verdict import ENSEMBLE_KIND, NOTEBOOK_KIND, NOTEBOOK_PUBLISHED_BEST, Judgement, headline, judge, verdict_table


@dataclass(frozen=True)
class ConfirmSettings:
    """What the confirmation needs, as plain values."""

    top_k: int
    seeds: tuple[int, ...]
    train_limit: int | None  # smoke runs: train on the first N training images
    cpus_per_job: float
    gpus_per_job: float
    concurrency: int
    cache_folder: Path
    versions: Mapping[str, str]  # of the libraries, as run.json has them
    search_train_images: int | None = None
    max_failures: int = 1
    notebook_max_epochs: int | None = None  # smoke mode only: cap the notebook models' epochs
    budget_s: float | None = None  # most estimated wall seconds of training; None: no limit
    objective: str = "accuracy"  # "pareto": the configurations are chosen along the validation front
    threshold: float | None = NOTEBOOK_PUBLISHED_BEST  # the published bar of the verdict (None: other data)
    keras_backend: str = "tensorflow"  # what the jobs train with: a notebook measurement is reused on the same one only


@dataclass(frozen=True)
class ConfirmPlan:
    train_images: int
    searched: list[Candidate]
    notebook: list[Candidate]
    jobs: list[Job]
    cached_rows: list[dict[str, Any]]  # the notebook measurements found in the cache
    cache_keys: dict[tuple[str, int], dict[str, Any]]
    fit: BudgetFit


def confirm(settings: ConfirmSettings, *, run_dir: Path, trial_rows: list[dict[str, Any]], mnist: Mnist,
            out: TextIO) -> dict[str, Any]:
    """Plan, run and write the confirmation; returns what ``run.json`` records of it."""
    started = time.monotonic()
    split = final_split(mnist)
    cache = BaselineCache(settings.cache_folder)
    plan = plan_confirmation(settings, trial_rows, split=split, data_sha256=mnist.sha256, cache=cache)
    _print_plan(plan, settings, split, cache, out)
    rows, kept = run_confirmation(plan, split, settings, cache=cache, out=out)
    rows = sort_rows(rows)
    devices = where_trained([row for row in rows if not row["cached"]], noun="job")
    members = ensemble_members(rows, kept.probabilities)
    if members.members:
        rows.append(ensemble_row(members, kept.probabilities, rows, split.y_test))
    write_parquet(run_dir / CONFIRM_FILE, rows_table(rows))
    judgement = judge(rows, threshold=settings.threshold)
    ensemble = _save_ensemble(run_dir, members, rows, kept, judgement, settings)
    best = save_best_model(run_dir, judgement, rows, kept.first_seed_models(), data_sha256=mnist.sha256,
                           train_images=plan.train_images, versions=settings.versions, ensemble=ensemble)
    wall_s = time.monotonic() - started
    _print_outcome(judgement, settings, plan, best=best, ensemble=ensemble, wall_s=wall_s, devices=devices,
                   run_dir=run_dir, out=out)
    return _section(settings, plan, split, best=best, ensemble=ensemble, wall_s=wall_s, devices=devices, cache=cache)


@dataclass
class KeptModels:
    """What the confirmation keeps of each searched job: its saved model and its test probabilities."""

    models: dict[tuple[str, int], bytes] = field(default_factory=dict)
    probabilities: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def first_seed_models(self) -> dict[str, tuple[int, bytes]]:
        """Each configuration's model of its first seed that finished."""
        chosen: dict[str, tuple[int, bytes]] = {}
        for (name, seed), payload in sorted(self.models.items()):
            chosen.setdefault(name, (seed, payload))
        return chosen


def _save_ensemble(run_dir: Path, plan: EnsemblePlan, rows: list[dict[str, Any]], kept: KeptModels,
                   judgement: Judgement, settings: ConfirmSettings) -> dict[str, Any]:
    """Write ``ensemble_model.keras`` (built on the cluster from the members' models); returns
    what run.json and best_config.json record of the ensemble."""
    row = next((row for row in rows if row["kind"] == ENSEMBLE_KIND), None)
    if row is None:
        return ensemble_section(plan, None, model_file=None)
    started = time.monotonic()
    payload = build_on_cluster([kept.models[(m.name, m.seed)] for m in plan.members], cpus=settings.cpus_per_job)
    atomic_write_bytes(run_dir / ENSEMBLE_MODEL_FILE, payload)
    return ensemble_section(plan, row, model_file=ENSEMBLE_MODEL_FILE, verdict=judgement.ensemble,
                            build_s=time.monotonic() - started)


def plan_confirmation(settings: ConfirmSettings, trial_rows: list[dict[str, Any]], *, split: FinalSplit,
                      data_sha256: str, cache: BaselineCache) -> ConfirmPlan:
    """The candidates, the notebook measurements the cache already holds, and the jobs that fit."""
    train_images = min(settings.train_limit or split.x_train.shape[0], split.x_train.shape[0])
    rows_with_size = [{**row, "search_train_images": settings.search_train_images} for row in trial_rows]
    if settings.objective == "pareto":
        ranked = select_front_configurations(rows_with_size, train_images=train_images)
    else:
        ranked = select_top_configurations(rows_with_size, None, train_images=train_images)
    notebook = notebook_candidates(rows_with_size, train_images=train_images, max_epochs=settings.notebook_max_epochs)
    device = "gpu" if settings.gpus_per_job > 0 else "cpu"
    keys = {(c.name, seed): cache_key(model=c.name, config=c.config, seed=seed, data_sha256=data_sha256,
                                      train_images=train_images, versions=settings.versions, device=device,
                                      backend=settings.keras_backend)
            for c in notebook for seed in settings.seeds}
    cached_rows = []
    for candidate in notebook:
        for seed in settings.seeds:
            hit = cache.get(keys[(candidate.name, seed)])
            if hit is not None:
                cached_rows.append(confirm_row(Job(candidate, seed), hit, cached=True))
    cached = {(row["name"], row["seed"]) for row in cached_rows}
    notebook_jobs = [job for job in plan_jobs(notebook, settings.seeds) if (job.candidate.name, job.seed) not in cached]
    fit = fit_to_budget(ranked, notebook_jobs, settings.seeds, k=settings.top_k, concurrency=settings.concurrency,
                        budget_s=settings.budget_s)
    return ConfirmPlan(train_images=train_images, searched=fit.chosen, notebook=notebook,
                       jobs=plan_jobs_of(notebook_jobs, fit.chosen, settings.seeds), cached_rows=cached_rows,
                       cache_keys=keys, fit=fit)


def run_confirmation(plan: ConfirmPlan, split: FinalSplit, settings: ConfirmSettings, *, cache: BaselineCache,
                     out: TextIO) -> tuple[list[dict[str, Any]], KeptModels]:
    """Run the plan's jobs; every notebook measurement goes into the cache as it comes.
    Returns the confirmation rows (the cached ones included) and what the searched jobs kept."""
    rows = list(plan.cached_rows)
    kept = KeptModels()

    def on_done(job: Job, result: dict[str, Any]) -> None:
        model_bytes = result.pop("model_bytes", None)
        probabilities = result.pop("test_probabilities", None)
        if model_bytes is not None and probabilities is not None:
            kept.models[(job.candidate.name, job.seed)] = model_bytes
            kept.probabilities[(job.candidate.name, job.seed)] = probabilities
        if job.candidate.kind == NOTEBOOK_KIND and "error" not in result:
            cache.put(plan.cache_keys[(job.candidate.name, job.seed)],
                      {key: value for key, value in result.items() if key != "node_id"})
        rows.append(confirm_row(job, result))
        what = (f"error: {result['error']}" if "error" in result else
                f"test accuracy {result['test_accuracy']:.4f}, loss {result['test_loss']:.4f} "
                f"({result['seconds']:.0f} s training)")
        print(f"  confirm [{len(rows) - len(plan.cached_rows)}/{len(plan.jobs)}] {job.candidate.name} "
              f"({job.candidate.epochs} epochs) seed {job.seed}: {what}", file=out, flush=True)

    pool = PoolSettings(cpus_per_job=settings.cpus_per_job, gpus_per_job=settings.gpus_per_job,
                        concurrency=settings.concurrency, max_failures=settings.max_failures,
                        train_limit=settings.train_limit)
    run_jobs(plan.jobs, split, pool, on_done=on_done)
    return rows, kept


def _print_plan(plan: ConfirmPlan, settings: ConfirmSettings, split: FinalSplit, cache: BaselineCache,
                out: TextIO) -> None:
    for candidate, estimate in plan.fit.over_budget:
        print(f"  passed over {candidate.name} (validation {candidate.best_val_accuracy:.4f}, {candidate.epochs} "
              f"epoch(s)): with it the confirmation would take about {estimate / 60:.1f} min, over its "
              f"{settings.budget_s / 60:.1f} min budget (--confirm-budget)", file=out, flush=True)
    chosen = "along the validation front" if settings.objective == "pareto" else "by validation accuracy"
    print(f"\nconfirming {len(plan.searched)} configuration(s) ({chosen}) and the notebook's {len(plan.notebook)} models x "
          f"{len(settings.seeds)} seed(s) {list(settings.seeds)} on {plan.train_images:,} training images, scored "
          f"once on {split.x_test.shape[0]:,} test images; {len(plan.jobs)} job(s), "
          f"{min(settings.concurrency, max(1, len(plan.jobs)))} at a time ({len(plan.cached_rows)} notebook "
          f"measurement(s) from {cache.folder}); about {plan.fit.estimated_s / 60:.1f} min of training by the "
          f"search's epoch times", file=out, flush=True)


def _print_outcome(judgement: Any, settings: ConfirmSettings, plan: ConfirmPlan, *, best: str | None,
                   ensemble: Mapping[str, Any], wall_s: float, devices: str | None, run_dir: Path,
                   out: TextIO) -> None:
    print(f"\n{verdict_table(judgement)}\n\n{headline(judgement)}", file=out)
    if settings.train_limit:
        capped = (f" and the notebook models for at most {settings.notebook_max_epochs} epoch(s)"
                  if settings.notebook_max_epochs else "")
        print(f"(smoke mode: confirmation trained on the first {plan.train_images:,} training images only"
              f"{capped} (--confirm-train-limit); these verdicts are not results)", file=out)
    small = judgement.smallest_beating
    smallest = (f", {SMALLEST_MODEL_FILE} ({small.name}, {small.num_params:,} parameters)"
                if small is not None and (run_dir / SMALLEST_MODEL_FILE).is_file() else "")
    trained = f" ({devices})" if devices else ""
    ensembled = (f", {ENSEMBLE_MODEL_FILE} ({len(ensemble['members'])} models, test accuracy "
                 f"{ensemble['test_accuracy']:.4f}, built in {ensemble['build_s']:.0f} s)"
                 if ensemble.get("model_file") else "")
    print(f"confirmation: {len(plan.jobs)} job(s) in {wall_s:.0f} s{trained}; {CONFIRM_FILE}"
          + (f", {BEST_MODEL_FILE} ({best})" if best else "") + smallest + ensembled + f" in {run_dir}",
          file=out, flush=True)
    if not ensemble.get("model_file"):
        print(ensemble["why_none"], file=out, flush=True)


def _section(settings: ConfirmSettings, plan: ConfirmPlan, split: FinalSplit, *, best: str | None,
             ensemble: dict[str, Any], wall_s: float, devices: str | None, cache: BaselineCache) -> dict[str, Any]:
    """What ``run.json`` records of the confirmation (under ``confirmation``)."""
    return {
        "top_k": settings.top_k,
        "seeds": list(settings.seeds),
        "train_images": plan.train_images,
        "test_images": int(split.x_test.shape[0]),
        "confirm_train_limit": settings.train_limit,
        "notebook_max_epochs": settings.notebook_max_epochs,
        "concurrency": settings.concurrency,
        "cpus_per_job": settings.cpus_per_job,
        "gpus_per_job": settings.gpus_per_job,
        "configurations": [c.name for c in plan.searched],
        "budget_s": settings.budget_s,
        "estimated_s": round(plan.fit.estimated_s, 1),
        "over_budget": [{"name": c.name, "best_val_accuracy": c.best_val_accuracy, "epochs": c.epochs,
                         "estimated_s": round(estimate, 1)} for c, estimate in plan.fit.over_budget],
        "jobs_run": len(plan.jobs),
        "notebook_from_cache": len(plan.cached_rows),
        "cache_folder": str(cache.folder),
        "wall_s": round(wall_s, 1),
        "devices": devices,
        "best_model": best,
        "ensemble": ensemble,
        "objective": settings.objective,
        "threshold": settings.threshold,
    }
