"""A small pool of Ray actors that runs the confirmation's jobs in the given order.

Each actor holds one trial's CPUs and GPUs and imports TensorFlow once; it takes the next
job as soon as it is free. A job that raises comes back as ``{"error": ...}``; an actor that
dies is replaced, and the other jobs go on. A job refused for its device
(``mnist_models.DeviceError``) stops the pool at once: every other job would be given the same
GPU share on the same kind of node, and would train on the CPU or be refused too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ray

from mnist_models import DeviceError, FinalSplit, configure_tensorflow
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
    ``on_done`` sees each job's result as it comes. Returns (job, result) in finishing order.
    Raises ``DeviceError`` (its one line) as soon as a job is refused for its device; the
    jobs still running are cancelled and the rest are not started."""
    if not jobs:
        return []
    return drain(_Pool(split, settings, size=max(1, min(settings.concurrency, len(jobs)))), jobs, on_done=on_done)


def drain(pool: Any, jobs: Sequence[Job], *,
          on_done: Callable[[Job, dict[str, Any]], None] | None = None) -> list[tuple[Job, dict[str, Any]]]:
    """Give ``pool``'s workers (``workers``, ``running``, ``dispatch``, ``next_result``,
    ``close``, as ``_Pool`` has them) the jobs in order, each the next job when it is free;
    ``pool`` is closed however it ends."""
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


def task_failure(error: BaseException) -> dict[str, Any]:
    """A job's exception as its result, ``{"error": its last line}``; raises ``DeviceError``
    with its one line instead when the job was refused for its device (Ray hands the job's
    exception back as its ``cause``, or as an instance of both ``RayTaskError`` and it)."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, DeviceError) or isinstance(error, DeviceError):
        raise DeviceError(last_line(cause)) from None
    return {"error": last_line(cause)}


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
        ).remote(threads=max(1, math.floor(settings.cpus_per_job)), gpu_share=settings.gpus_per_job)

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
            result = task_failure(error)
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

    def __init__(self, *, threads: int, gpu_share: float) -> None:
        self._threads = threads
        self._gpu_share = gpu_share
        configure_tensorflow(threads=threads, use_gpu=gpu_share > 0)

    def run(self, config: dict[str, Any], split: FinalSplit, *, seed: int, train_limit: int | None,
            keep_model: bool) -> dict[str, Any]:
        result = confirm_job(config, split, seed=seed, train_limit=train_limit, threads=self._threads,
                             gpu_share=self._gpu_share, keep_model=keep_model)
        result["node_id"] = ray.get_runtime_context().get_node_id()
        return result
