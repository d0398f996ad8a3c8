"""One Ray session for a run: Ray started or joined, what the user should know about it
printed, and at the end the run folder uploaded (with a storage URI) and Ray shut down."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from search.cli import RunOptions, UsageError
from search.pipeline._search_step import RunFailed
from search.reporting import dashboard_line
from search.run_folder import (
    StorageError,
    forget,
    local_results_note,
    push_folder,
    where,
)
from search.cluster import (
    ClusterError,
    NodeWaitTimeout,
    RayCluster,
    shutdown_ray,
    start_ray,
    wait_for_first_trial,
)


@contextmanager
def ray_session(options: RunOptions, run_dir: Path) -> Iterator[RayCluster]:
    """Ray started or joined; on a joined cluster that cannot hold one trial yet, the wait for
    its first node (``cluster.waited_for_nodes_s``) happens here, before the caller starts
    the search and its time budget."""
    try:
        cluster = start_ray(address=options.address, dashboard=options.dashboard,
                            cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial,
                            max_concurrent=options.max_concurrent)
    except ClusterError as error:
        raise UsageError(str(error)) from error
    line = dashboard_line(cluster.dashboard_url)
    if line:
        print(line, flush=True)
    notes = list(cluster.notes)
    if cluster.joined:
        notes.append(local_results_note(options.results, nodes=cluster.nodes, host=cluster.host))
    for note in filter(None, notes):
        print(f"search.run: note: {note}", file=sys.stderr, flush=True)
    try:
        at_once = options.max_concurrent or int(cluster.resources.get("autoscaler_max_trials", 1))
        cluster = wait_for_first_trial(cluster, cpus_per_trial=options.cpus_per_trial,
                                       gpus_per_trial=options.gpus_per_trial, trials_at_once=at_once)
    except NodeWaitTimeout as error:
        shutdown_ray()
        raise RunFailed(str(error)) from None
    except BaseException:
        shutdown_ray()
        raise
    try:
        yield cluster
    finally:
        upload_run_folder(run_dir)
        shutdown_ray()


def upload_run_folder(run_dir: Path) -> None:
    """With --results URI: upload the run's folder once more (study.db, plots and anything not
    written through the run folder's writers), then stop mirroring it. A failure leaves the
    local copy."""
    try:
        push_folder(run_dir)
    except (OSError, StorageError) as error:
        print(f"search.run: warning: could not upload {run_dir} to {where(run_dir)} ({error}); "
              f"the local copy is complete: upload it yourself", file=sys.stderr)
    finally:
        forget(run_dir)
