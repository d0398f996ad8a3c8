"""``python -m search.run``: search hyperparameters of MNIST Keras models with Ray Tune.

Order of work: check every input (nothing on disk is touched before that), start or join
Ray, run the search, write ``trials.parquet`` and ``run.json``, print the best trials.
Ctrl-C or SIGTERM stops the search cleanly (Tune saves its state) and ``--resume NAME``
continues it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from mnist_models import DataError, SearchSplit, load_mnist, search_split
from search.options import RunOptions, UsageError, check_results_folder, parse_options
from search.results import library_versions, read_json, trial_rows, trials_table, write_json, write_parquet
from search.storage import (StorageError, forget, join_uri, local_results_note, mirror, pull_folder, push_folder,
                            run_uri, staging_folder)
from search.storage import where as run_location
from search.summary import summary_table
from search.watch import dashboard_line, watch_lines

# Keep TensorFlow's C++ start-up chatter out of the terminal, in the driver and in workers;
# RAY_AIR_NEW_OUTPUT=0 keeps Tune's own header out too (with verbose=0 its new output engine
# still prints one, and a TensorBoard command for Ray's staging folder, not the run's).
# TUNE_FUNCTION_THREAD_TIMEOUT_S: before a reused actor takes its next trial, Tune waits this
# long for the stopped trial's training thread to end (default 2 s; read in the actor by
# FunctionTrainable.reset_config). On a loaded machine Keras can take longer to unwind, and
# then Tune fails the *next* trial ("Trainable runner reuse requires reset_config() ...").
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "RAY_AIR_NEW_OUTPUT": "0",
              "TUNE_FUNCTION_THREAD_TIMEOUT_S": "60"}
EXIT_INTERRUPTED = 130


class RunFailed(RuntimeError):
    """The search ran but produced nothing usable (every trial failed)."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_options(argv)
        return resume(options) if options.resume else run(options)
    except (UsageError, DataError) as error:
        print(f"search.run: error: {error}", file=sys.stderr)
        return 2
    except RunFailed as error:
        print(f"search.run: failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("search.run: interrupted before the search had started; nothing to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:
        where = error.filename or "the results folder"
        print(f"search.run: error: cannot write {where} ({error.strerror or error}): free some space or "
              f"give another --results; files already saved are left whole", file=sys.stderr)
        return 1


def run(options: RunOptions) -> int:
    name = options.name or f"{options.space}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir = check_results_folder(options.results, name)
    mnist = load_mnist(options.data)
    split = search_split(mnist, options.seed, train_limit=options.train_limit)
    cluster = start_ray(options)
    try:
        from search.metrics import METRIC, MODE
        from search.scheduler import RecordingASHA
        from search.tuner import make_tuner

        plan = _plan(options, name, run_dir, cluster)
        run_info = _run_info(options, name, plan, mnist.sha256, split, cluster)
        if plan.storage_uri:
            mirror(run_dir, plan.storage_uri, fresh=True)
        _create_run_folder(run_dir, run_info)
        print(f"run {name!r}: searching space {options.space!r} on {split.x_train.shape[0]:,} training and "
              f"{split.x_val.shape[0]:,} validation images, {plan.max_concurrent} trial(s) at a time, "
              f"budget {options.num_samples} trials or {options.time_budget_s:.0f} s; results in {run_location(run_dir)}")
        print("\n".join(watch_lines(run_dir)), flush=True)
        scheduler = RecordingASHA(max_epochs=options.max_epochs, metric=METRIC, mode=MODE)
        tuner = make_tuner(plan, split, callbacks=[_progress(options)], scheduler=scheduler)
        return _fit_and_record(tuner, options, run_dir, run_info, mnist)
    finally:
        _upload_run_folder(run_dir)
        _shutdown_ray()


def resume(options: RunOptions) -> int:
    """Continue run ``options.resume`` with ``Tuner.restore``: finished trials are kept,
    unfinished ones resumed or restarted, the searcher's state restored, and the time budget
    counted from where the run stopped."""
    from ray import tune

    name = options.resume
    results_dir, run_dir, tune_path = _resume_location(options.results, name)
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"--resume {name!r}: there is no run of that name in {str(results_dir)!r}: "
                         f"list the runs with `python -m search.runs --results {options.results}`")
    info = read_json(run_dir / "run.json")
    original = parse_options(info["argv"])
    if options.space_given and options.space != original.space:
        raise UsageError(f"--resume {name!r}: that run searched space {original.space!r}, not "
                         f"{options.space!r}: drop --space, or start a new run with another --name")
    if info.get("state") == "finished":
        if (info.get("confirmation") or {}).get("state") == "interrupted" and original.confirm:
            return _resume_confirmation(options, original, name=name, run_dir=run_dir, info=info)
        raise UsageError(f"--resume {name!r}: that run already finished; nothing to resume: "
                         f"start a new run with another --name")
    if not tune.Tuner.can_restore(tune_path):
        raise UsageError(f"--resume {name!r}: the run stopped before Tune saved any state, so it cannot "
                         f"be resumed: start it again with another --name")
    mnist = _same_data(original, name=name, info=info)
    split = search_split(mnist, original.seed, train_limit=original.train_limit)
    settings = _resumed_settings(original, options, name=name)
    cluster = start_ray(settings)
    try:
        from search.tuner import make_trainable

        plan = _plan(settings, name, run_dir, cluster)
        if plan.storage_uri:
            mirror(run_dir, plan.storage_uri, fresh=False)
        tuner = tune.Tuner.restore(tune_path, trainable=make_trainable(plan, split),
                                   resume_unfinished=True, resume_errored=False, restart_errored=False)
        spent = float(info.get("search_wall_s") or 0.0)
        remaining = max(1.0, original.time_budget_s - spent)
        _restored_tune_config(tuner).time_budget_s = remaining
        # The scheduler comes back as pickled when the run began; give it back what it stopped.
        _restored_tune_config(tuner).scheduler.stopped_early |= _early_stopped_ids(run_dir)
        print(f"resuming run {name!r}: {spent:.0f} s of the {original.time_budget_s:.0f} s budget spent, "
              f"{remaining:.0f} s left")
        print("\n".join(watch_lines(run_dir)), flush=True)
        run_info = {**info, "state": "running", "resumed": info.get("resumed", 0) + 1}
        write_json(run_dir / "run.json", run_info)
        return _fit_and_record(tuner, settings, run_dir, run_info, mnist)
    finally:
        _upload_run_folder(run_dir)
        _shutdown_ray()


def _resume_location(results: str, name: str) -> tuple[str, Path, str]:
    """(where the runs are, run ``name``'s local folder, its Tune folder). A run at a storage
    URI is first pulled (all but Tune's folder, which Tune restores from the URI itself)
    into its local staging folder."""
    from search.tuner import TUNE_FOLDER

    remote = run_uri(results, name)
    if remote is None:
        results_dir = Path(results).expanduser().resolve()
        return str(results_dir), results_dir / name, str(results_dir / name / TUNE_FOLDER)
    run_dir = staging_folder(results, name)
    try:
        pull_folder(remote, run_dir)
    except (StorageError, OSError) as error:
        raise UsageError(f"--resume {name!r}: {results!r} cannot be read ({error}): check the URI and "
                         f"this machine's credentials") from error
    return results, run_dir, join_uri(remote, TUNE_FOLDER)


def _create_run_folder(run_dir: Path, run_info: dict) -> None:
    """Create the run's folder with its run.json; if that fails (a full disk), leave nothing behind."""
    run_dir.mkdir(parents=True)
    try:
        write_json(run_dir / "run.json", run_info)
    except OSError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _early_stopped_ids(run_dir: Path) -> set[str]:
    """Ids of the trials that the saved ``trials.parquet`` records as stopped early by ASHA."""
    import pyarrow.parquet as pq

    path = run_dir / "trials.parquet"
    if not path.is_file():
        return set()
    table = pq.read_table(path, columns=["trial_id", "state"]).to_pylist()
    return {row["trial_id"] for row in table if row["state"] == "early_stopped"}


def _restored_tune_config(tuner: Any) -> Any:
    """The TuneConfig that ``Tuner.restore`` unpickled (Tune offers no public setter)."""
    return tuner._local_tuner._tune_config


def _fit_and_record(tuner: Any, options: RunOptions, run_dir: Path, run_info: dict, mnist: Any) -> int:
    # A trial restarted after an interruption reports its epochs again; Optuna keeps the first.
    warnings.filterwarnings("ignore", message="The reported value is ignored because this `step")
    previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_sigint)
    signal.signal(signal.SIGINT, _interrupt_before_tune)
    started = time.monotonic()
    try:
        grid = tuner.fit()
        # Tune's own SIGINT handler replaces ours during fit and, on the first Ctrl-C, stops
        # the search, saves its state and puts ours back: so ours in place means interrupted.
        interrupted = signal.getsignal(signal.SIGINT) is _interrupt_before_tune
    except KeyboardInterrupt:
        _record_state(run_dir, run_info, "interrupted", started)
        raise
    except BaseException:
        _record_state(run_dir, run_info, "failed", started)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    trials = grid._experiment_analysis.trials
    scheduler = _restored_tune_config(tuner).scheduler
    rows = trial_rows(trials, list(grid), getattr(scheduler, "stopped_early", set()), interrupted=interrupted)
    write_parquet(run_dir / "trials.parquet", trials_table(rows))
    succeeded = [row for row in rows if row["best_val_accuracy"] is not None]
    state = "interrupted" if interrupted else ("finished" if succeeded else "failed")
    search_wall_s = _record_state(run_dir, run_info, state, started, rows=rows)
    print()
    print(summary_table(rows, space=options.space, max_epochs=options.max_epochs))
    counts = _count_states(rows)
    print(f"\n{len(rows)} trials, {search_wall_s:.0f} s of search; "
          + ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) + f"; results in {run_location(run_dir)}")
    if interrupted:
        print(f"\nThe search was interrupted; Tune saved its state. Continue it with:\n"
              f"  python -m search.run --resume {run_dir.name} --results {options.results}", flush=True)
        return EXIT_INTERRUPTED
    if not succeeded:
        first_error = next((row["error"] for row in rows if row["error"]), "no trial reported an epoch")
        raise RunFailed(f"all {len(rows)} trials failed; the first error: {first_error}")
    from search.confirm import confirm_and_report

    return confirm_and_report(options, run_dir=run_dir, trial_rows=rows, mnist=mnist,
                              concurrency=int(run_info["max_concurrent"]))


def _same_data(original: RunOptions, *, name: str, info: dict) -> Any:
    """The run's data file, refused if it changed since the run started."""
    mnist = load_mnist(original.data)
    if mnist.sha256 != info["data_sha256"]:
        raise UsageError(f"--resume {name!r}: the data file {mnist.source!r} has changed since the run "
                         f"started (sha256 {mnist.sha256[:12]}…, was {info['data_sha256'][:12]}…): "
                         f"restore the file or start a new run")
    return mnist


def _resumed_settings(original: RunOptions, options: RunOptions, *, name: str) -> RunOptions:
    """The run's own settings, with where to run and write taken from the resuming command."""
    return dataclasses.replace(original, address=options.address, dashboard=options.dashboard,
                               results=options.results, name=name)


def _resume_confirmation(options: RunOptions, original: RunOptions, *, name: str, run_dir: Path,
                         info: dict) -> int:
    """The search finished but its confirmation was interrupted: run the confirmation again
    from ``trials.parquet`` (the notebook's measurements already made come from the cache)."""
    import pyarrow.parquet as pq

    mnist = _same_data(original, name=name, info=info)
    rows = pq.read_table(run_dir / "trials.parquet").to_pylist()
    settings = _resumed_settings(original, options, name=name)
    print(f"resuming run {name!r}: its search finished ({len(rows)} trials); confirming again", flush=True)
    start_ray(settings)
    try:
        from search.confirm import confirm_and_report

        return confirm_and_report(settings, run_dir=run_dir, trial_rows=rows, mnist=mnist,
                                  concurrency=int(info["max_concurrent"]))
    finally:
        _upload_run_folder(run_dir)
        _shutdown_ray()


def _record_state(run_dir: Path, run_info: dict, state: str, started: float,
                  rows: list[dict] | None = None) -> float:
    """Update run.json (atomically) with the state, the end time and the search time spent so far."""
    search_wall_s = float(run_info.get("search_wall_s") or 0.0) + (time.monotonic() - started)
    update: dict[str, Any] = {"state": state, "ended": _now(), "search_wall_s": round(search_wall_s, 1)}
    if rows is not None:
        scored = [row["best_val_accuracy"] for row in rows if row["best_val_accuracy"] is not None]
        update.update(trials=len(rows), best_val_accuracy=max(scored, default=None),
                      trial_states=_count_states(rows))
    run_info.update(update)
    write_json(run_dir / "run.json", run_info)
    return search_wall_s


def _interrupt_before_tune(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_as_sigint(signum: int, frame: Any) -> None:
    """SIGTERM stops the search the way Ctrl-C does: Tune saves its state and returns."""
    os.kill(os.getpid(), signal.SIGINT)


def _plan(options: RunOptions, name: str, run_dir: Path, cluster: dict[str, float]):
    from search.tuner import SearchPlan, default_concurrency

    return SearchPlan(
        space=options.space, name=name, run_dir=run_dir, num_samples=options.num_samples,
        time_budget_s=options.time_budget_s, max_epochs=options.max_epochs,
        max_concurrent=options.max_concurrent or default_concurrency(
            cluster, cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial),
        cpus_per_trial=options.cpus_per_trial, gpus_per_trial=options.gpus_per_trial,
        seed=options.seed, max_failures=options.max_failures, storage_uri=run_uri(options.results, name),
    )


def _run_info(options: RunOptions, name: str, plan: Any, data_sha256: str, split: SearchSplit,
              cluster: dict[str, float]) -> dict[str, Any]:
    return {
        "name": name,
        "space": options.space,
        "command": "python -m search.run " + " ".join(options.argv),
        "argv": list(options.argv),
        "seed": options.seed,
        "data_sha256": data_sha256,
        "data": options.data or "shipped MNIST",
        "train_limit": options.train_limit,
        "search_train_images": int(split.x_train.shape[0]),
        "validation_images": int(split.x_val.shape[0]),
        "max_epochs": options.max_epochs,
        "num_samples": options.num_samples,
        "time_budget_s": options.time_budget_s,
        "max_concurrent": plan.max_concurrent,
        "cpus_per_trial": options.cpus_per_trial,
        "gpus_per_trial": options.gpus_per_trial,
        "cluster_resources": cluster,
        "versions": library_versions(),
        "started": _now(),
        "ended": None,
        "state": "running",
    }


def _progress(options: RunOptions):
    from search.progress import CompactProgress

    return CompactProgress(space=options.space, num_samples=options.num_samples,
                           time_budget_s=options.time_budget_s)


def _count_states(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _upload_run_folder(run_dir: Path) -> None:
    """With --results URI: upload the run's folder once more (study.db, plots and anything not
    written through search.results), then stop mirroring it. A failure leaves the local copy."""
    try:
        push_folder(run_dir)
    except (OSError, StorageError) as error:
        print(f"search.run: warning: could not upload {run_dir} to {run_location(run_dir)} ({error}); "
              f"the local copy is complete: upload it yourself", file=sys.stderr)
    finally:
        forget(run_dir)


def _shutdown_ray() -> None:
    import ray

    ray.shutdown()


def start_ray(options: RunOptions) -> dict[str, float]:
    """Join the cluster at ``--address`` (or RAY_ADDRESS), or start Ray here on this machine's CPUs.

    Returns the cluster's resources. GPUs per trial where the cluster has none are refused
    on Ray embedded here, but not on a joined cluster: its autoscaler may add GPU nodes for
    the waiting trials (search.cluster). A local --results on several nodes gets a note.
    """
    os.environ.update(WORKER_ENV)
    import ray

    address = options.address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": dict(WORKER_ENV)}
    if address:
        _check_address_answers(address)
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False,
                     logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UsageError(f"--address {address!r} does not answer ({_first_line(error)}): start the "
                             f"cluster (ray start --head, or ray up cluster.yaml) or fix the address")
    else:
        # address="local": a new Ray here, never one that `ray start` left running on this machine.
        context = ray.init(address="local", include_dashboard=options.dashboard, dashboard_host="127.0.0.1",
                           runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
        if options.dashboard and context.dashboard_url:
            print(dashboard_line(context.dashboard_url), flush=True)
    cluster = {key: float(value) for key, value in ray.cluster_resources().items()
               if key in ("CPU", "GPU", "memory")}
    if options.gpus_per_trial > 0 and cluster.get("GPU", 0) == 0:
        if not address:
            ray.shutdown()
            raise UsageError(f"--gpus-per-trial is {options.gpus_per_trial}, but this Ray cluster has no GPU: "
                             f"use --gpus-per-trial 0 or run on a GPU cluster (see README)")
        _note_waiting_for_gpus(options, cluster)
    if address:
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        note = local_results_note(options.results, nodes=nodes, host=socket.gethostname())
        if note:
            print(f"search.run: note: {note}", file=sys.stderr, flush=True)
    if options.cpus_per_trial > cluster.get("CPU", 0):
        ray.shutdown()
        raise UsageError(f"--cpus-per-trial is {options.cpus_per_trial}, but the Ray cluster has "
                         f"{cluster.get('CPU', 0):g} CPUs: ask for at most that many")
    return cluster


def _note_waiting_for_gpus(options: RunOptions, cluster: dict[str, float]) -> None:
    from search.cluster import autoscaler_max_trials, read_launcher_config, waiting_for_gpus_note

    config = read_launcher_config()
    max_trials = config and autoscaler_max_trials(config, cpus_per_trial=options.cpus_per_trial,
                                                  gpus_per_trial=options.gpus_per_trial)
    if max_trials:
        cluster["autoscaler_max_trials"] = float(max_trials)
    note = waiting_for_gpus_note(options.gpus_per_trial, max_trials=max_trials, max_concurrent=options.max_concurrent)
    print(f"search.run: note: {note}", file=sys.stderr, flush=True)


def _check_address_answers(address: str) -> None:
    """A HOST:PORT address must accept a TCP connection within a few seconds."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--address {address!r} is not HOST:PORT or 'auto': write it like 10.0.0.5:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as error:
        raise UsageError(f"--address {address!r} does not answer ({error}): start the cluster "
                         f"(ray start --head) or fix the address")


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
