"""A small pool of Ray actors that runs the confirmation's jobs in the given order.

Each actor holds one trial's CPUs and GPUs and imports TensorFlow once; it takes the next
job as soon as it is free. A job that raises comes back as ``{"error": ...}``; an actor that
dies is replaced, and the other jobs go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ray

from mnist_models import FinalSplit, configure_tensorflow
from search._text import last_line
from search.confirmation._job import confirm_job
from search.confirmation._plan import Job


@dataclass(frozen=True)
class PoolSettings:
    cpus_per_job: float
    gpus_per_job: float
    concurrency: int
    max_failures: int
    train_limit: int | None  # smoke runs: train on the first N images


def run_jobs(jobs: Sequence[Job], split: FinalSplit, settings: PoolSettings, *,
             on_done: Callable[[Job, dict[str, Any]], None] | None = None) -> list[tuple[Job, dict[str, Any]]]:
    """Run ``jobs`` on the Ray cluster, ``settings.concurrency`` at a time, in the given order;
    ``on_done`` sees each job's result as it comes. Returns (job, result) in finishing order."""
    if not jobs:
        return []
    pool = _Pool(split, settings, size=max(1, min(settings.concurrency, len(jobs))))
    pending = list(jobs)
    finished: list[tuple[Job, dict[str, Any]]] = []
    try:
        for worker in list(pool.workers):
            if pending:
                pool.dispatch(worker, pending.pop(0))
        while pool.running:
            job, worker, result = pool.next_result()
            finished.append((job, result))
            if on_done is not None:
                on_done(job, result)
            if pending:
                pool.dispatch(worker, pending.pop(0))
    finally:
        pool.close()
    return finished


class _Pool:
    def __init__(self, split: FinalSplit, settings: PoolSettings, *, size: int) -> None:
        self._settings = settings
        self._split_ref = ray.put(split)  # once; every actor reads the same copy
        self._worker_class = ray.remote(_ConfirmWorker)
        self.workers = [self._new_worker() for _ in range(size)]
        self.running: dict[Any, tuple[Job, Any]] = {}

    def _new_worker(self) -> Any:
        settings = self._settings
        return self._worker_class.options(
            num_cpus=settings.cpus_per_job, num_gpus=settings.gpus_per_job,
            max_restarts=settings.max_failures, max_task_retries=settings.max_failures,
        ).remote(threads=max(1, math.floor(settings.cpus_per_job)), use_gpu=settings.gpus_per_job > 0)

    def dispatch(self, worker: Any, job: Job) -> None:
        future = worker.run.remote(dict(job.candidate.config), self._split_ref, seed=job.seed,
                                   train_limit=self._settings.train_limit, keep_model=job.keep_model)
        self.running[future] = (job, worker)

    def next_result(self) -> tuple[Job, Any, dict[str, Any]]:
        """The next job to finish, the worker to give the next job to, and the job's result."""
        ready, _ = ray.wait(list(self.running), num_returns=1)
        job, worker = self.running.pop(ready[0])
        try:
            result = ray.get(ready[0])
        except ray.exceptions.RayActorError as error:
            result = {"error": last_line(error)}
            ray.kill(worker)
            worker = self._new_worker()
            self.workers.append(worker)
        except ray.exceptions.RayTaskError as error:
            result = {"error": last_line(error.cause if error.cause else error)}
        return job, worker, result

    def close(self) -> None:
        # Cancelled first: a task of a killed actor would otherwise be retried (max_task_retries),
        # and Ray says so once per job on an interrupted confirmation.
        for future in self.running:
            ray.cancel(future)
        for worker in self.workers:
            ray.kill(worker)


class _ConfirmWorker:
    """A Ray actor that runs confirmation jobs; TensorFlow is imported once per actor."""

    def __init__(self, *, threads: int, use_gpu: bool) -> None:
        self._threads = threads
        self._use_gpu = use_gpu
        configure_tensorflow(threads=threads, use_gpu=use_gpu)

    def run(self, config: dict[str, Any], split: FinalSplit, *, seed: int, train_limit: int | None,
            keep_model: bool) -> dict[str, Any]:
        result = confirm_job(config, split, seed=seed, train_limit=train_limit, threads=self._threads,
                             use_gpu=self._use_gpu, keep_model=keep_model)
        result["node_id"] = ray.get_runtime_context().get_node_id()
        return result
