"""Honest confirmation: retrain the best configurations and the notebook's models, score each once on test.

The search ranks trials on the validation split only. Here the top K distinct configurations
(distinct by every hyperparameter but epochs; the notebook's own points are left out, since
they are re-measured anyway) are retrained from scratch on all training images, each with S
seeds, for the epoch at which their trial peaked, and scored once on the test images. The
notebook's three models go through exactly the same steps with the same seeds and their own
epochs, batch sizes and optimizers; their measurements are cached (``search.baseline_cache``).

The jobs run on the search's Ray cluster, in a pool of actors holding the same CPUs/GPUs as a
search trial, as many at once as the search ran trials; the longest jobs go first, so the
pool finishes as early as it can. The training/test arrays go into the object store once.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from mnist_models import FinalSplit, configure_tensorflow, fit_config
from spaces import NOTEBOOK_POINTS, NOTEBOOK_SPACE, notebook_config

CONFIRM_FILE = "confirm.parquet"
BEST_MODEL_FILE = "best_model.keras"
BEST_CONFIG_FILE = "best_config.json"
EVAL_BATCH_SIZE = 1024
LOSS_EPSILON = 1e-7  # Keras clips probabilities the same way in its cross-entropy.
# Seconds per epoch on all 60,000 training images with one TensorFlow thread, two jobs at a
# time on this project's 2-core CPU machine (the confirmations of two default runs there,
# after the tf.data fix: 1.35-1.46, 2.79-2.94 and 5.87-6.53 s), rounded up. Only for a
# notebook model the search did not run: to order the jobs and to fit the confirmation into
# its budget.
NOTEBOOK_EPOCH_SECONDS = {"dense_256": 1.5, "dense_deep": 3.0, "cnn_small": 6.5}
FULL_TRAIN_IMAGES = 60_000


@dataclass(frozen=True)
class Candidate:
    """One configuration to confirm: a searched trial's, or a notebook model's."""

    name: str  # the trial id, or the notebook model's name
    kind: str  # "searched" or "notebook"
    config: dict[str, Any]  # full configuration; "epochs" is what confirmation trains
    trial_id: str | None = None
    best_val_accuracy: float | None = None
    search_epochs: int | None = None  # the epochs the trial was given in the search
    epoch_seconds: float | None = None  # estimated, on the confirmation's training images

    @property
    def epochs(self) -> int:
        return int(self.config["epochs"])


@dataclass(frozen=True)
class Job:
    candidate: Candidate
    seed: int
    keep_model: bool = False

    @property
    def estimated_seconds(self) -> float:
        return (self.candidate.epoch_seconds or 1.0) * self.candidate.epochs


@dataclass
class ConfirmSettings:
    """What the confirmation needs from the run's options, as plain values."""

    top_k: int
    seeds: tuple[int, ...]
    train_limit: int | None
    cpus_per_job: float
    gpus_per_job: float
    concurrency: int
    max_failures: int = 1
    notebook_max_epochs: int | None = None  # smoke mode only: cap the notebook models' epochs
    budget_s: float | None = None  # most estimated wall seconds of training; None: no limit


def confirm_seeds(run_seed: int, count: int) -> tuple[int, ...]:
    """The seeds every confirmed model is trained with: the run's seed and the next ones.

    Runs with the same ``--seed`` share seeds, so the notebook models' cached measurements
    are reused by every such run.
    """
    return tuple(run_seed + index for index in range(count))


def notebook_model_of(row: Mapping[str, Any]) -> str | None:
    """The notebook model whose hyperparameters (epochs aside) this trial row has, if any."""
    for model, point in NOTEBOOK_POINTS.items():
        if row.get("hp_family", NOTEBOOK_SPACE[model]) != NOTEBOOK_SPACE[model]:
            continue
        if all(row.get(f"hp_{key}") == value for key, value in point.items() if key != "epochs"):
            return model
    return None


def config_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A trial row's configuration (hyperparameters a trial did not use are null in the table)."""
    return {key[3:]: value for key, value in row.items() if key.startswith("hp_") and value is not None}


def select_top_configurations(
    rows: Iterable[Mapping[str, Any]], k: int | None, *, train_images: int | None = None,
) -> list[Candidate]:
    """The K best distinct configurations by best validation accuracy, each to be trained for
    the epoch at which its trial peaked.

    Distinct means: differing in some hyperparameter other than epochs (of two trials that
    differ only in epochs, the better one stands). Failed trials and the notebook's own
    points are not candidates. Ties on validation accuracy go to the earlier trial id.
    ``k=None`` ranks them all.
    """
    scored = [row for row in rows
              if row.get("best_val_accuracy") is not None and row.get("best_epoch")
              and row.get("state") != "failed" and notebook_model_of(row) is None]
    scored.sort(key=lambda row: (-float(row["best_val_accuracy"]), str(row["trial_id"])))
    chosen: list[Candidate] = []
    seen: set[tuple] = set()
    for row in scored:
        config = config_of(row)
        identity = tuple(sorted((key, repr(value)) for key, value in config.items() if key != "epochs"))
        if identity in seen:
            continue
        seen.add(identity)
        chosen.append(Candidate(
            name=str(row["trial_id"]),
            kind="searched",
            config={**config, "epochs": int(row["best_epoch"])},
            trial_id=str(row["trial_id"]),
            best_val_accuracy=float(row["best_val_accuracy"]),
            search_epochs=int(config.get("epochs") or row["best_epoch"]),
            epoch_seconds=_epoch_seconds_from_trial(row, train_images),
        ))
        if len(chosen) == k:
            break
    return chosen


def notebook_candidates(rows: Iterable[Mapping[str, Any]] = (), *, train_images: int | None = None,
                        max_epochs: int | None = None) -> list[Candidate]:
    """The notebook's three models with their own epochs, batch sizes and optimizers
    (epochs capped at ``max_epochs`` in smoke mode only)."""
    measured = {}
    for row in rows:
        model = notebook_model_of(row)
        seconds = _epoch_seconds_from_trial(row, train_images) if model else None
        if seconds:
            measured[model] = seconds
    scale = (train_images or FULL_TRAIN_IMAGES) / FULL_TRAIN_IMAGES
    return [
        Candidate(name=model, kind="notebook", config=_capped(notebook_config(model), max_epochs),
                  epoch_seconds=measured.get(model) or NOTEBOOK_EPOCH_SECONDS[model] * scale)
        for model in NOTEBOOK_POINTS
    ]


def _capped(config: dict[str, Any], max_epochs: int | None) -> dict[str, Any]:
    return config if max_epochs is None else {**config, "epochs": min(int(config["epochs"]), max_epochs)}


def plan_jobs(candidates: Sequence[Candidate], seeds: Sequence[int]) -> list[Job]:
    """Every candidate x seed, longest first (so a pool of workers ends as early as it can);
    the first seed of each searched configuration keeps its trained model."""
    jobs = [Job(candidate, seed, keep_model=candidate.kind == "searched" and index == 0)
            for candidate in candidates for index, seed in enumerate(seeds)]
    return sorted(jobs, key=lambda job: -job.estimated_seconds)


def estimate_wall_seconds(jobs: Sequence[Job], concurrency: int) -> float:
    """The jobs' wall time on ``concurrency`` workers that each take the next job when free
    (the jobs in their given order), from their estimated seconds."""
    workers = [0.0] * max(1, concurrency)
    for job in jobs:
        index = workers.index(min(workers))
        workers[index] += job.estimated_seconds
    return max(workers)


@dataclass(frozen=True)
class BudgetFit:
    """The configurations chosen to confirm, and those left out because their retraining
    would have pushed the confirmation's estimated wall time past its budget."""

    chosen: list[Candidate]
    over_budget: list[tuple[Candidate, float]]  # (candidate, estimated wall seconds with it)
    estimated_s: float


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


def plan_jobs_of(fixed_jobs: Sequence[Job], candidates: Sequence[Candidate], seeds: Sequence[int] = ()) -> list[Job]:
    """``fixed_jobs`` and every candidate x seed, longest first."""
    return sorted([*fixed_jobs, *plan_jobs(candidates, seeds)], key=lambda job: -job.estimated_seconds)


def confirm_job(
    config: Mapping[str, Any], split: FinalSplit, *, seed: int, train_limit: int | None,
    threads: int, use_gpu: bool, keep_model: bool = False,
) -> dict[str, Any]:
    """Train ``config`` from scratch on the training images with ``seed``; score it once on test.

    Returns test accuracy and loss, training seconds, parameter count, the per-image
    correctness vector (for paired statistics) and, with ``keep_model``, the saved model's
    bytes (a ``.keras`` file). No Ray here: the actor below calls it, and so can a test.
    """
    configure_tensorflow(threads=threads, use_gpu=use_gpu)
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x_train, y_train = split.x_train, split.y_train
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    started, cpu_started = time.perf_counter(), time.process_time()
    model, _ = fit_config(config, x_train, y_train, seed=seed)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    probabilities = model.predict(split.x_test, batch_size=EVAL_BATCH_SIZE, verbose=0)
    labels = np.asarray(split.y_test, dtype=np.int64)
    correct = np.argmax(probabilities, axis=1) == labels
    chosen = np.clip(probabilities[np.arange(labels.size), labels], LOSS_EPSILON, 1.0 - LOSS_EPSILON)
    result: dict[str, Any] = {
        "test_accuracy": float(correct.mean()),
        "test_loss": float(-np.log(chosen).mean()),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # of the whole worker process while it trained
        "num_params": int(model.count_params()),
        "train_images": int(x_train.shape[0]),
        "test_correct": correct,
    }
    if keep_model:
        result["model_bytes"] = _model_bytes(model)
    return result


def _model_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / BEST_MODEL_FILE
        model.save(path)
        return path.read_bytes()


def run_jobs(
    jobs: Sequence[Job], split: FinalSplit, settings: ConfirmSettings, *,
    on_done: Callable[[Job, dict[str, Any]], None] | None = None,
) -> list[tuple[Job, dict[str, Any]]]:
    """Run the jobs on the Ray cluster, ``settings.concurrency`` at a time, in the given order.

    A pool of actors, each holding one trial's CPUs/GPUs, takes the next job as soon as it is
    free. A job that raises comes back as ``{"error": ...}``; an actor that dies is replaced.
    """
    import ray

    if not jobs:
        return []
    split_ref = ray.put(split)  # once; every actor reads the same copy
    worker_class = ray.remote(_ConfirmWorker)
    threads = max(1, math.floor(settings.cpus_per_job))

    def new_worker() -> Any:
        return worker_class.options(
            num_cpus=settings.cpus_per_job, num_gpus=settings.gpus_per_job,
            max_restarts=settings.max_failures, max_task_retries=settings.max_failures,
        ).remote(threads=threads, use_gpu=settings.gpus_per_job > 0)

    pending = list(jobs)
    workers = [new_worker() for _ in range(max(1, min(settings.concurrency, len(jobs))))]
    running: dict[Any, tuple[Job, Any]] = {}
    finished: list[tuple[Job, dict[str, Any]]] = []

    def dispatch(worker: Any) -> None:
        job = pending.pop(0)
        future = worker.run.remote(dict(job.candidate.config), split_ref, seed=job.seed,
                                   train_limit=settings.train_limit, keep_model=job.keep_model)
        running[future] = (job, worker)

    try:
        for worker in workers:
            if pending:
                dispatch(worker)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            job, worker = running.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayActorError as error:
                result = {"error": _first_line(error)}
                ray.kill(worker)
                worker = new_worker()
                workers.append(worker)
            except ray.exceptions.RayTaskError as error:
                result = {"error": _first_line(error.cause if error.cause else error)}
            finished.append((job, result))
            if on_done is not None:
                on_done(job, result)
            if pending:
                dispatch(worker)
    finally:
        # Cancelled first: a task of a killed actor would otherwise be retried (max_task_retries),
        # and Ray says so once per job on an interrupted confirmation.
        for future in running:
            ray.cancel(future)
        for worker in workers:
            ray.kill(worker)
    return finished


class _ConfirmWorker:
    """A Ray actor that runs confirmation jobs; TensorFlow is imported once per actor."""

    def __init__(self, *, threads: int, use_gpu: bool) -> None:
        self._threads = threads
        self._use_gpu = use_gpu
        configure_tensorflow(threads=threads, use_gpu=use_gpu)

    def run(self, config: dict[str, Any], split: FinalSplit, *, seed: int, train_limit: int | None,
            keep_model: bool) -> dict[str, Any]:
        import ray

        result = confirm_job(config, split, seed=seed, train_limit=train_limit, threads=self._threads,
                             use_gpu=self._use_gpu, keep_model=keep_model)
        result["node_id"] = ray.get_runtime_context().get_node_id()
        return result


def confirm_row(job: Job, result: Mapping[str, Any], *, cached: bool = False) -> dict[str, Any]:
    """One row of ``confirm.parquet``: a configuration x seed, with its hyperparameters."""
    candidate = job.candidate
    correct = result.get("test_correct")
    row: dict[str, Any] = {
        "name": candidate.name,
        "kind": candidate.kind,
        "trial_id": candidate.trial_id,
        "seed": int(job.seed),
        "test_accuracy": result.get("test_accuracy"),
        "test_loss": result.get("test_loss"),
        "epochs": candidate.epochs,
        "num_params": result.get("num_params"),
        "seconds": result.get("seconds"),
        "cpu_seconds": result.get("cpu_seconds"),
        "train_images": result.get("train_images"),
        "test_images": None if correct is None else int(len(correct)),
        "best_val_accuracy": candidate.best_val_accuracy,
        "search_epochs": candidate.search_epochs,
        "cached": cached,
        "node_id": result.get("node_id"),
        "error": result.get("error"),
        "test_correct": None if correct is None else [bool(value) for value in np.asarray(correct)],
    }
    for key, value in sorted(candidate.config.items()):
        row[f"hp_{key}"] = value
    return row


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notebook models first (in the notebook's order), then searched configurations; by seed."""
    order = {model: index for index, model in enumerate(NOTEBOOK_POINTS)}
    return sorted(rows, key=lambda row: (row["kind"] != "notebook", order.get(row["name"], 99),
                                         row["name"], row["seed"]))


def _epoch_seconds_from_trial(row: Mapping[str, Any], train_images: int | None) -> float | None:
    """A trial's seconds per epoch in the search, scaled to the confirmation's training images.

    From the epochs' own times where the table has them: a trial's wall time also holds its
    worker's start and TensorFlow's import, which is most of a 1-epoch trial that ASHA
    stopped (23 s for a 6 s epoch in one default run), and would make the budget pass over
    good configurations. Tables written before that column fall back to the wall time.
    """
    epochs = row.get("epochs_run")
    seconds = row.get("training_seconds") or row.get("wall_seconds")
    if not seconds or not epochs:
        return None
    search_images = row.get("search_train_images") or 54_000
    return float(seconds) / int(epochs) * (train_images or FULL_TRAIN_IMAGES) / float(search_images)


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:500]


# --- The entry point called by search.run -------------------------------------------------------

def confirm_and_report(options: Any, *, run_dir: Path, trial_rows: list[dict[str, Any]], mnist: Any,
                       concurrency: int, stream: Any = None) -> int:
    """Confirm the search's best configurations and the notebook's models, write
    ``confirm.parquet``, ``best_model.keras``/``best_config.json`` and the report, and print
    the verdict table. With ``--no-confirm`` only the (search-only) report is written.
    Returns the run's exit code.
    """
    import sys

    from search.report import render_report
    from search.results import read_json, write_json

    out = stream or sys.stdout
    if options.confirm:
        settings = ConfirmSettings(
            top_k=options.top_k, seeds=confirm_seeds(options.seed, options.confirm_seeds),
            train_limit=options.confirm_train_limit, cpus_per_job=options.cpus_per_trial,
            gpus_per_job=options.gpus_per_trial, concurrency=concurrency, max_failures=options.max_failures,
            # Smoke runs (--confirm-train-limit) also cap the notebook models' epochs at --max-epochs.
            notebook_max_epochs=options.max_epochs if options.confirm_train_limit else None,
            budget_s=options.confirm_budget_s,
        )
        info = read_json(run_dir / "run.json")
        try:
            section = _confirm(settings, run_dir=run_dir, trial_rows=trial_rows, mnist=mnist,
                               results=options.results, versions=info.get("versions", {}),
                               search_train_images=info.get("search_train_images"), out=out)
        except KeyboardInterrupt:
            write_json(run_dir / "run.json", {**read_json(run_dir / "run.json"),
                                              "confirmation": {"state": "interrupted"}})
            print(f"\nsearch.run: the confirmation was interrupted; the search's results are saved in {run_dir} "
                  f"(trials.parquet) and notebook measurements already made are in the cache; confirm again "
                  f"with: python -m search.run --resume {run_dir.name} --results {options.results}", file=sys.stderr)
            return 130
        write_json(run_dir / "run.json", {**read_json(run_dir / "run.json"), "confirmation": section})
    try:
        paths = render_report(run_dir)
    except Exception as error:  # The results are on disk already; say how to retry.
        print(f"search.run: the report could not be written ({type(error).__name__}: {error}); "
              f"the results are in {run_dir}: re-render with python -m search.report {run_dir}", file=sys.stderr)
        return 1
    print(f"report: {paths['html']} (and {paths['md'].name}, figures beside it)", file=out, flush=True)
    return 0


def _confirm(settings: ConfirmSettings, *, run_dir: Path, trial_rows: list[dict[str, Any]], mnist: Any,
             results: str, versions: Mapping[str, str], search_train_images: int | None, out: Any) -> dict[str, Any]:
    from mnist_models import final_split
    from search.baseline_cache import BaselineCache, cache_key
    from search.results import trials_table, write_parquet
    from search.verdict import headline, judge, verdict_table

    started = time.monotonic()
    split = final_split(mnist)
    train_images = min(settings.train_limit or split.x_train.shape[0], split.x_train.shape[0])
    rows_with_size = [{**row, "search_train_images": search_train_images} for row in trial_rows]
    ranked = select_top_configurations(rows_with_size, None, train_images=train_images)
    notebook = notebook_candidates(rows_with_size, train_images=train_images, max_epochs=settings.notebook_max_epochs)
    cache = BaselineCache.for_results(results)
    device = "gpu" if settings.gpus_per_job > 0 else "cpu"
    keys = {(c.name, seed): cache_key(model=c.name, config=c.config, seed=seed, data_sha256=mnist.sha256,
                                      train_images=train_images, versions=versions, device=device)
            for c in notebook for seed in settings.seeds}
    rows: list[dict[str, Any]] = []
    for candidate in notebook:
        for seed in settings.seeds:
            hit = cache.get(keys[(candidate.name, seed)])
            if hit is not None:
                rows.append(confirm_row(Job(candidate, seed), hit, cached=True))
    cached = {(row["name"], row["seed"]) for row in rows}
    notebook_jobs = [job for job in plan_jobs(notebook, settings.seeds) if (job.candidate.name, job.seed) not in cached]
    fit = fit_to_budget(ranked, notebook_jobs, settings.seeds, k=settings.top_k, concurrency=settings.concurrency,
                        budget_s=settings.budget_s)
    searched = fit.chosen
    jobs = plan_jobs_of(notebook_jobs, searched, settings.seeds)
    for candidate, estimate in fit.over_budget:
        print(f"  passed over {candidate.name} (validation {candidate.best_val_accuracy:.4f}, {candidate.epochs} "
              f"epoch(s)): with it the confirmation would take about {estimate / 60:.1f} min, over its "
              f"{settings.budget_s / 60:.1f} min budget (--confirm-budget)", file=out, flush=True)
    print(f"\nconfirming {len(searched)} configuration(s) and the notebook's {len(notebook)} models x "
          f"{len(settings.seeds)} seed(s) {list(settings.seeds)} on {train_images:,} training images, scored once on "
          f"{split.x_test.shape[0]:,} test images; {len(jobs)} job(s), {min(settings.concurrency, max(1, len(jobs)))} "
          f"at a time ({len(cached)} notebook measurement(s) from {cache.folder}); "
          f"about {fit.estimated_s / 60:.1f} min of training by the search's epoch times", file=out, flush=True)
    models: dict[str, tuple[int, bytes]] = {}
    done = 0

    def on_done(job: Job, result: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        model_bytes = result.pop("model_bytes", None)
        if model_bytes is not None:
            models[job.candidate.name] = (job.seed, model_bytes)
        if job.candidate.kind == "notebook" and "error" not in result:
            cache.put(keys[(job.candidate.name, job.seed)],
                      {key: value for key, value in result.items() if key != "node_id"})
        rows.append(confirm_row(job, result))
        what = (f"error: {result['error']}" if "error" in result else
                f"test accuracy {result['test_accuracy']:.4f}, loss {result['test_loss']:.4f} "
                f"({result['seconds']:.0f} s training)")
        print(f"  confirm [{done}/{len(jobs)}] {job.candidate.name} ({job.candidate.epochs} epochs) seed {job.seed}: {what}",
              file=out, flush=True)

    run_jobs(jobs, split, settings, on_done=on_done)
    rows = sort_rows(rows)
    write_parquet(run_dir / CONFIRM_FILE, trials_table(rows))
    judgement = judge(rows)
    best = _save_best_model(run_dir, judgement, rows, models, mnist_sha256=mnist.sha256,
                            train_images=train_images, versions=versions)
    wall_s = time.monotonic() - started
    print(f"\n{verdict_table(judgement)}\n\n{headline(judgement)}", file=out)
    if settings.train_limit:
        capped = (f" and the notebook models for at most {settings.notebook_max_epochs} epoch(s)"
                  if settings.notebook_max_epochs else "")
        print(f"(smoke mode: confirmation trained on the first {train_images:,} training images only"
              f"{capped} (--confirm-train-limit); these verdicts are not results)", file=out)
    print(f"confirmation: {len(jobs)} job(s) in {wall_s:.0f} s; {CONFIRM_FILE}"
          + (f", {BEST_MODEL_FILE} ({best})" if best else "") + f" in {run_dir}", file=out, flush=True)
    return {
        "top_k": settings.top_k,
        "seeds": list(settings.seeds),
        "train_images": train_images,
        "test_images": int(split.x_test.shape[0]),
        "confirm_train_limit": settings.train_limit,
        "notebook_max_epochs": settings.notebook_max_epochs,
        "concurrency": settings.concurrency,
        "cpus_per_job": settings.cpus_per_job,
        "gpus_per_job": settings.gpus_per_job,
        "configurations": [c.name for c in searched],
        "budget_s": settings.budget_s,
        "estimated_s": round(fit.estimated_s, 1),
        "over_budget": [{"name": c.name, "best_val_accuracy": c.best_val_accuracy, "epochs": c.epochs,
                         "estimated_s": round(estimate, 1)} for c, estimate in fit.over_budget],
        "jobs_run": len(jobs),
        "notebook_from_cache": len(cached),
        "cache_folder": str(cache.folder),
        "wall_s": round(wall_s, 1),
        "best_model": best,
    }


def _save_best_model(run_dir: Path, judgement: Any, rows: list[dict[str, Any]], models: dict[str, tuple[int, bytes]],
                     *, mnist_sha256: str, train_images: int, versions: Mapping[str, str]) -> str | None:
    """``best_model.keras`` (the best confirmed configuration by mean test accuracy, its first
    seed's model) and ``best_config.json`` with what it scores on the test set."""
    from search.results import atomic_write_bytes, write_json

    best = judgement.best_searched
    if best is None or best.name not in models:
        return None
    seed, payload = models[best.name]
    row = next(row for row in rows if row["name"] == best.name and row["seed"] == seed)
    verdict = next(v for v in judgement.verdicts if v.summary.name == best.name)
    atomic_write_bytes(run_dir / BEST_MODEL_FILE, payload)
    write_json(run_dir / BEST_CONFIG_FILE, {
        "name": best.name,
        "trial_id": row["trial_id"],
        "config": {key[3:]: value for key, value in row.items() if key.startswith("hp_") and value is not None},
        "seed": seed,
        "test_accuracy": row["test_accuracy"],
        "test_loss": row["test_loss"],
        "num_params": row["num_params"],
        "mean_test_accuracy": best.mean,
        "min_test_accuracy": best.min,
        "seeds": list(best.seeds),
        "beats_notebook": verdict.beats,
        "verdict": verdict.reason,
        "train_images": train_images,
        "data_sha256": mnist_sha256,
        "versions": dict(versions),
        "input": "float32 images shaped (n, 28, 28), pixels scaled to [0, 1]; the output is 10 class probabilities",
        "load_with": f"keras.saving.load_model('{BEST_MODEL_FILE}')",
    })
    return f"{best.name}, seed {seed}, test accuracy {row['test_accuracy']:.4f}"
