"""``--resume NAME``: continue an interrupted search with ``Tuner.restore``, or run an interrupted
confirmation again."""

from __future__ import annotations

from pathlib import Path

from ray import tune

from mnist_models import Mnist, SearchSplit, load_mnist, search_split
from search.cli import RunOptions, UsageError, parse_options
from search.pipeline._outcome import Outcome, confirm_and_report_outcome, finish
from search.pipeline._run_location import pulled_run_folder
from search.pipeline._run_record import RunRecord
from search.pipeline._search_step import resume_command, run_search
from search.pipeline._session import ray_session
from search.pipeline._settings import resumed_options, search_plan
from search.reporting import watch_lines
from search.run_folder import (
    EARLY_STOPPED,
    STUDY_FILE,
    TRIALS_FILE,
    TUNE_FOLDER,
    is_run_folder,
    driver_gone,
    driver_identity,
    join_uri,
    mirror,
    now,
    read_rows,
    run_uri,
    seconds_since_heartbeat,
)
from search.study import trials_stopped_by
from search.tuning import SearchPlan, make_trainable, restored_scheduler, restored_tune_config


def resume_run(options: RunOptions) -> Outcome:
    """Finished trials are kept, unfinished ones resumed or restarted, the searcher's state
    restored, and the time budget counted from what the run spent (a run whose driver was
    killed included: its heartbeat in run.json says how much)."""
    name = options.resume
    results_dir, run_dir, tune_path = _resume_location(options.results, name)
    if not is_run_folder(run_dir):
        raise UsageError(f"--resume {name!r}: there is no run of that name in {str(results_dir)!r}: "
                         f"list the runs with `python -m search.runs --results {options.results}`")
    record = RunRecord.load(run_dir)
    original = parse_options(record.get("argv"))
    if options.space_given and options.space != original.space:
        raise UsageError(f"--resume {name!r}: that run searched space {original.space!r}, not "
                         f"{options.space!r}: drop --space, or start a new run with another --name")
    if record.get("state") == "finished":
        if (record.get("confirmation") or {}).get("state") == "interrupted" and original.confirm:
            return _resume_confirmation(options, original, record=record)
        raise UsageError(f"--resume {name!r}: that run already finished; nothing to resume: "
                         f"start a new run with another --name")
    _check_not_running(record, name=name)
    if not tune.Tuner.can_restore(tune_path):
        raise UsageError(f"--resume {name!r}: the run stopped before Tune saved any state, so it cannot "
                         f"be resumed: start it again with another --name")
    mnist = _same_data(original, name=name, record=record)
    settings = resumed_options(original, options, name=name)
    with ray_session(settings, run_dir) as cluster:
        plan = search_plan(settings, name=name, run_dir=run_dir, cluster=cluster)
        if plan.storage_uri:
            mirror(run_dir, plan.storage_uri, fresh=False)
        split = search_split(mnist, original.seed, train_limit=original.train_limit)
        tuner, scheduler = _restored_search(tune_path, plan, split, record=record, budget_s=original.time_budget_s)
        print("\n".join(watch_lines(run_dir)), flush=True)
        record.update(state="running", resumed=record.get("resumed", 0) + 1, driver=driver_identity(), heartbeat=now())
        outcome = run_search(tuner, plan=plan, scheduler=scheduler, record=record)
        return finish(outcome, options=settings, record=record, mnist=mnist,
                      resume=resume_command(run_dir, settings.results))


def _check_not_running(record: RunRecord, *, name: str) -> None:
    """A run that says "running" is resumed only once its driver is gone."""
    if record.get("state") != "running":
        return
    driver = record.get("driver") or {}
    since = seconds_since_heartbeat(record.document)
    if not driver_gone(record.document):
        raise UsageError(f"--resume {name!r}: that run is still running (its driver, pid {driver.get('pid')} on "
                         f"{driver.get('host')}, stamped run.json {since:.0f} s ago): wait for it, or stop it "
                         f"(Ctrl-C, or kill {driver.get('pid')}) and resume it then")
    print(f"run {name!r}: its driver (pid {driver.get('pid')} on {driver.get('host')}) is gone, last heard from "
          f"{since:.0f} s ago; resuming from what it saved", flush=True)


def _restored_search(tune_path: str, plan: SearchPlan, split: SearchSplit, *, record: RunRecord,
                     budget_s: float) -> tuple[tune.Tuner, object]:
    """Tune's saved search, given the time budget it has left and the trials ASHA stopped (from
    the study, which commits every trial's end as it happens: a killed driver wrote no table)."""
    tuner = tune.Tuner.restore(tune_path, trainable=make_trainable(plan, split),
                               resume_unfinished=True, resume_errored=False, restart_errored=False)
    spent = float(record.get("search_wall_s") or 0.0)
    remaining = max(1.0, budget_s - spent)
    restored_tune_config(tuner).time_budget_s = remaining
    # The scheduler comes back as pickled when the run began; give it back what it stopped.
    scheduler = restored_scheduler(tuner)
    scheduler.stopped_early |= _early_stopped_ids(plan.run_dir) | trials_stopped_by(
        plan.run_dir / STUDY_FILE, plan.name, "asha")
    print(f"resuming run {plan.name!r}: {spent:.0f} s of the {budget_s:.0f} s budget spent, {remaining:.0f} s left")
    return tuner, scheduler


def _resume_confirmation(options: RunOptions, original: RunOptions, *, record: RunRecord) -> Outcome:
    """The search finished but its confirmation was interrupted: run the confirmation again
    from ``trials.parquet`` (the notebook's measurements already made come from the cache)."""
    run_dir, name = record.run_dir, record.run_dir.name
    mnist = _same_data(original, name=name, record=record)
    rows = read_rows(run_dir / TRIALS_FILE)
    settings = resumed_options(original, options, name=name)
    print(f"resuming run {name!r}: its search finished ({len(rows)} trials); confirming again", flush=True)
    with ray_session(settings, run_dir):
        return confirm_and_report_outcome(settings, record=record, rows=rows, mnist=mnist,
                                          resume=resume_command(run_dir, settings.results))


def _resume_location(results: str, name: str) -> tuple[str, Path, str]:
    """(where the runs are, run ``name``'s local folder, its Tune folder). A run at a storage
    URI is first pulled (all but Tune's folder, which Tune restores from the URI itself)
    into its local staging folder."""
    remote = run_uri(results, name)
    if remote is None:
        results_dir = Path(results).expanduser().resolve()
        return str(results_dir), results_dir / name, str(results_dir / name / TUNE_FOLDER)
    run_dir = pulled_run_folder(results, name, remote, flag="--resume")
    return results, run_dir, join_uri(remote, TUNE_FOLDER)


def _early_stopped_ids(run_dir: Path) -> set[str]:
    """Ids of the trials that the saved ``trials.parquet`` records as stopped early by ASHA."""
    path = run_dir / TRIALS_FILE
    if not path.is_file():
        return set()
    return {row["trial_id"] for row in read_rows(path, columns=["trial_id", "state"]) if row["state"] == EARLY_STOPPED}


def _same_data(original: RunOptions, *, name: str, record: RunRecord) -> Mnist:
    """The run's data file, refused if it changed since the run started."""
    mnist = load_mnist(original.data)
    if mnist.sha256 != record.get("data_sha256"):
        raise UsageError(f"--resume {name!r}: the data file {mnist.source!r} has changed since the run "
                         f"started (sha256 {mnist.sha256[:12]}…, was {record.get('data_sha256')[:12]}…): "
                         f"restore the file or start a new run")
    return mnist
