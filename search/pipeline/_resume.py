"""``--resume NAME``: continue an interrupted search with ``Tuner.restore``, or run an interrupted
or failed confirmation again."""

from __future__ import annotations

from pathlib import Path

from ray import tune

from mnist_models import Mnist, SearchSplit, keras_backend, load_mnist, search_split
from search.cli import RunOptions, UsageError
from search.pipeline._outcome import Outcome, confirm_and_report_outcome, finish
from search.pipeline._run_location import pulled_run_folder
from search.pipeline._search_step import resume_command, run_search
from search.pipeline._session import ray_session
from search.pipeline._settings import recorded_settings, resumed_options, search_plan, this_driver
from search.reporting import watch_lines
from search.run_folder import (
    EARLY_STOPPED,
    RUN_FAILED,
    RUN_FINISHED,
    RUN_INTERRUPTED,
    RUN_RUNNING,
    STUDY_FILE,
    TRIALS_FILE,
    TUNE_FOLDER,
    RecordWriter,
    RunFileError,
    is_run_folder,
    driver_gone,
    join_uri,
    mirror,
    now,
    read_rows,
    run_uri,
    seconds_since_heartbeat,
)
from search.study import STOPPED_BY_ASHA, trials_stopped_by
from search.tuning import SearchPlan, make_trainable, restored_scheduler, restored_tune_config


# A finished search whose confirmation ended in one of these states is confirmed again by --resume:
# Ctrl-C, or a job refused for its device (on a cluster mended since).
_CONFIRM_AGAIN = (RUN_INTERRUPTED, RUN_FAILED)


def resume_run(options: RunOptions) -> Outcome:
    """Finished trials are kept, unfinished ones resumed or restarted, the searcher's state
    restored, and the time budget counted from what the run spent (a run whose driver was
    killed included: its heartbeat in run.json says how much)."""
    name = options.resume
    results_dir, run_dir, tune_path = _resume_location(options.results, name)
    if not is_run_folder(run_dir):
        raise UsageError(f"--resume {name!r}: there is no run of that name in {str(results_dir)!r}: "
                         f"list the runs with `python -m search.runs --results {options.results}`")
    try:
        writer = RecordWriter.open(run_dir)
    except RunFileError as error:
        raise _damaged(name, error) from error
    record = writer.record
    settings = resumed_options(record, options, name=name)
    _check_settings_kept(options, settings, name=name)
    if record.state == RUN_FINISHED:
        if record.confirmation is not None and record.confirmation.state in _CONFIRM_AGAIN and settings.confirm:
            return _resume_confirmation(settings, writer=writer)
        raise UsageError(f"--resume {name!r}: that run already finished; nothing to resume: "
                         f"start a new run with another --name")
    _check_not_running(writer, name=name)
    if not tune.Tuner.can_restore(tune_path):
        raise UsageError(f"--resume {name!r}: the run stopped before Tune saved any state, so it cannot "
                         f"be resumed: start it again with another --name")
    mnist = _same_data(settings, name=name, writer=writer)
    stopped_early = _early_stopped_ids(run_dir, name=name)
    with ray_session(settings, run_dir) as cluster:
        plan = search_plan(settings, name=name, run_dir=run_dir, cluster=cluster)
        if plan.storage_uri:
            mirror(run_dir, plan.storage_uri, fresh=False)
        split = search_split(mnist, settings.seed, train_limit=settings.train_limit)
        tuner, scheduler = _restored_search(tune_path, plan, split, writer=writer, budget_s=settings.time_budget_s,
                                            stopped_early=stopped_early)
        print("\n".join(watch_lines(run_dir)), flush=True)
        # A record of an older version gains the settings it lacked, as this resume uses them;
        # the line a failed search ended with goes, as this session's search begins.
        writer.update(state=RUN_RUNNING, resumed=record.resumed + 1, driver=this_driver(), heartbeat=now(), error=None,
                      **recorded_settings(settings, max_concurrent=plan.max_concurrent))
        outcome = run_search(tuner, plan=plan, scheduler=scheduler, writer=writer)
        return finish(outcome, options=settings, writer=writer, mnist=mnist,
                      resume=resume_command(run_dir, settings.results))


# The flags a resuming command may give: where the run goes on and writes, not what it searches.
_WHERE_FLAGS = frozenset({"resume", "results", "address", "dashboard"})
# A flag's RunOptions field where argparse names it otherwise.
_FIELD_OF = {"time_budget": "time_budget_s", "confirm_budget": "confirm_budget_s"}


def _check_settings_kept(options: RunOptions, settings: RunOptions, *, name: str) -> None:
    """A resumed run keeps every setting it started with: a flag that asks for another value is
    refused, not silently ignored (the same value again is fine)."""
    for flag in sorted(options.given - _WHERE_FLAGS):
        field = _FIELD_OF.get(flag, flag)
        asked, kept = getattr(options, field), getattr(settings, field)
        if flag == "data" and asked is not None and kept is not None:
            asked, kept = Path(asked).expanduser().resolve(), Path(kept).expanduser().resolve()
        if asked == kept:
            continue
        if flag == "space":
            raise UsageError(f"--resume {name!r}: that run searched space {settings.space!r}, not "
                             f"{options.space!r}: drop --space, or start a new run with another --name")
        if flag == "warm_start":
            raise UsageError(f"--resume {name!r}: a resumed run goes on from what it started from: drop "
                             f"--warm-start, or start a new run with another --name")
        option = "--no-confirm" if flag == "confirm" else "--" + flag.replace("_", "-")
        label = "confirmation" if flag == "confirm" else option
        unit = " s" if field.endswith("_s") else ""
        raise UsageError(f"--resume {name!r}: that run's {label} is {_shown(kept, unit)}, not {_shown(asked, unit)}, "
                         f"and a resumed run keeps its settings: drop {option}, or start a new run with another --name")


def _shown(value: object, unit: str = "") -> str:
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return f"{value:g}{unit}"
    return repr(str(value))


def _check_not_running(writer: RecordWriter, *, name: str) -> None:
    """A run that says "running" is resumed only once its driver is gone."""
    record = writer.record
    if record.state != RUN_RUNNING:
        return
    pid, host = (record.driver.pid, record.driver.host) if record.driver else (None, None)
    since = seconds_since_heartbeat(record)
    if not driver_gone(record):
        raise UsageError(f"--resume {name!r}: that run is still running (its driver, pid {pid} on "
                         f"{host}, stamped run.json {since:.0f} s ago): wait for it, or stop it "
                         f"(Ctrl-C, or kill {pid}) and resume it then")
    print(f"run {name!r}: its driver (pid {pid} on {host}) is gone, last heard from "
          f"{since:.0f} s ago; resuming from what it saved", flush=True)


def _restored_search(tune_path: str, plan: SearchPlan, split: SearchSplit, *, writer: RecordWriter,
                     budget_s: float, stopped_early: set[str]) -> tuple[tune.Tuner, object]:
    """Tune's saved search, given the time budget it has left and the trials ASHA stopped (from
    the study, which commits every trial's end as it happens: a killed driver wrote no table).

    Unfinished trials go on from their last epoch. So do the failed trials of a run that
    failed (a trial refused its GPU stopped it, say: the refused trials are run again on the
    mended cluster; Tune keeps counting their failures against ``--max-failures``); an
    interrupted run's failed trials stay failed."""
    failed_run = writer.record.state == RUN_FAILED
    tuner = tune.Tuner.restore(tune_path, trainable=make_trainable(plan, split),
                               resume_unfinished=True, resume_errored=failed_run, restart_errored=False)
    spent = writer.record.search_seconds
    remaining = max(1.0, budget_s - spent)
    restored_tune_config(tuner).time_budget_s = remaining
    # The scheduler comes back as pickled when the run began; give it back what it stopped.
    scheduler = restored_scheduler(tuner)
    scheduler.stopped_early |= stopped_early | trials_stopped_by(
        plan.run_dir / STUDY_FILE, plan.name, STOPPED_BY_ASHA)
    print(f"resuming run {plan.name!r}: {spent:.0f} s of the {budget_s:.0f} s budget spent, {remaining:.0f} s left")
    return tuner, scheduler


def _resume_confirmation(settings: RunOptions, *, writer: RecordWriter) -> Outcome:
    """The search finished but its confirmation was interrupted or failed: run the confirmation
    again from ``trials.parquet`` (the notebook's measurements already made come from the
    cache), on the Keras backend the run recorded."""
    run_dir, name = writer.run_dir, writer.run_dir.name
    _same_backend(writer, name=name)
    mnist = _same_data(settings, name=name, writer=writer)
    try:
        rows = read_rows(run_dir / TRIALS_FILE)
    except RunFileError as error:
        raise _damaged(name, error) from error
    print(f"resuming run {name!r}: its search finished ({len(rows)} trials); confirming again", flush=True)
    with ray_session(settings, run_dir):
        return confirm_and_report_outcome(settings, writer=writer, rows=rows, mnist=mnist,
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


def _early_stopped_ids(run_dir: Path, *, name: str) -> set[str]:
    """Ids of the trials that the saved ``trials.parquet`` records as stopped early by ASHA."""
    path = run_dir / TRIALS_FILE
    if not path.is_file():
        return set()
    try:
        rows = read_rows(path, columns=["trial_id", "state"])
    except RunFileError as error:
        raise _damaged(name, error) from error
    return {row["trial_id"] for row in rows if row.get("state") == EARLY_STOPPED and "trial_id" in row}


def _damaged(name: str, error: RunFileError) -> UsageError:
    """A file of the run that cannot be read: refused before anything of the run changes."""
    return UsageError(f"--resume {name!r}: {error}: restore the file from a copy, or start a new run with "
                      f"another --name")


def _same_backend(writer: RecordWriter, *, name: str) -> None:
    """The run's Keras backend, refused if this process has another: the confirmation would
    compare models trained on two backends (a record of an older version names none)."""
    recorded, here = writer.record.keras_backend, keras_backend()
    if recorded is not None and recorded != here:
        raise UsageError(f"--resume {name!r}: that run trains with Keras's {recorded} backend, but this one would "
                         f"use {here}: run it again with KERAS_BACKEND={recorded}")


def _same_data(settings: RunOptions, *, name: str, writer: RecordWriter) -> Mnist:
    """The run's data file, refused if it changed since the run started."""
    mnist = load_mnist(settings.data)
    recorded = writer.record.data_sha256 or "not recorded"
    if mnist.sha256 != writer.record.data_sha256:
        raise UsageError(f"--resume {name!r}: the data file {mnist.source!r} has changed since the run "
                         f"started (sha256 {mnist.sha256[:12]}…, was {recorded[:12]}…): "
                         f"restore the file or start a new run")
    return mnist
