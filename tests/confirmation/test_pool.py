"""The confirmation's pool: each worker takes the next job when free; a job refused for its
device stops the pool at once. Without Ray: the pool's loop is given a pool of made-up workers."""

from __future__ import annotations

from typing import Any

import pytest
from ray.exceptions import RayTaskError

from mnist_models import DeviceError
from search.confirmation._candidates import Candidate
from search.confirmation._plan import Job
from search.confirmation._pool import drain, task_failure

REFUSED = ("node gpu-1: given 0.5 of a GPU (CUDA_VISIBLE_DEVICES='0'), but Keras's tensorflow backend lists no GPU "
           "and would train on the CPU: install ..., or run with --gpus-per-trial 0")


def jobs(count: int) -> list[Job]:
    return [Job(Candidate(f"job{index}", "searched", {"epochs": 1}), seed=0) for index in range(count)]


class MadeUpPool:
    """Workers that finish their jobs in the order given, each job's outcome decided by ``outcomes``."""

    def __init__(self, workers: int, outcomes: dict[str, Any]) -> None:
        self.workers = [f"worker{index}" for index in range(workers)]
        self.running: dict[str, tuple[Job, str]] = {}
        self.dispatched: list[str] = []
        self.closed_with: list[str] | None = None
        self._outcomes = outcomes

    def dispatch(self, worker: str, job: Job) -> None:
        self.running[job.candidate.name] = (job, worker)
        self.dispatched.append(job.candidate.name)

    def next_result(self) -> tuple[Job, str, dict[str, Any]]:
        name = next(iter(self.running))
        job, worker = self.running.pop(name)
        outcome = self._outcomes.get(name, {"test_accuracy": 0.9})
        return job, worker, task_failure(outcome) if isinstance(outcome, BaseException) else outcome

    def close(self) -> None:
        self.closed_with = sorted(self.running)  # the jobs it cancels


def ray_error(cause: BaseException) -> RayTaskError:
    return RayTaskError("run", f"Traceback (most recent call last):\n  ...\n{type(cause).__name__}: {cause}", cause)


def test_every_job_runs_each_worker_taking_the_next_when_free() -> None:
    pool = MadeUpPool(2, {})
    seen: list[str] = []
    finished = drain(pool, jobs(5), on_done=lambda job, result: seen.append(job.candidate.name))
    assert [job.candidate.name for job, _ in finished] == seen == ["job0", "job1", "job2", "job3", "job4"]
    assert pool.closed_with == []


def test_a_job_that_fails_otherwise_comes_back_as_its_error_and_the_others_go_on() -> None:
    pool = MadeUpPool(2, {"job1": ray_error(ValueError("loss is nan"))})
    finished = dict((job.candidate.name, result) for job, result in drain(pool, jobs(4)))
    assert finished["job1"] == {"error": "loss is nan"}
    assert len(finished) == 4


@pytest.mark.parametrize("as_ray_gives_it", [ray_error, lambda cause: ray_error(cause).as_instanceof_cause()],
                         ids=["as the cause", "as an instance of the cause"])
def test_a_job_refused_for_its_device_stops_the_pool_at_once_with_the_one_line(as_ray_gives_it) -> None:
    pool = MadeUpPool(2, {"job1": as_ray_gives_it(DeviceError(REFUSED))})
    seen: list[str] = []
    with pytest.raises(DeviceError) as stopped:
        drain(pool, jobs(6), on_done=lambda job, result: seen.append(job.candidate.name))
    assert str(stopped.value) == REFUSED
    assert seen == ["job0"]  # the refused job is no result
    assert pool.dispatched == ["job0", "job1", "job2"]  # nothing started after the refusal
    assert pool.closed_with == ["job2"]  # the job still running is cancelled
