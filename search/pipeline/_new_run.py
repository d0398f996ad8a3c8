"""A new run: check everything, start Ray, search, confirm, report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mnist_models import load_mnist, search_split
from search.cli import RunOptions, check_results_folder
from search.pipeline._outcome import Outcome, finish
from search.pipeline._search_step import resume_command, run_search
from search.pipeline._session import ray_session
from search.pipeline._settings import new_run_record, search_plan
from search.reporting import watch_lines
from search.run_folder import RecordWriter, mirror, where
from search.pipeline._warm_start_step import read_warm_start
from search.study import WarmStart
from search.tuning import (
    CompactProgress,
    Heartbeat,
    SearchPlan,
    make_scheduler,
    make_searcher,
    make_tuner,
    start_points_within_budget,
)


def start_new_run(options: RunOptions) -> Outcome:
    """Every input is checked before anything is written; the run's folder appears only once
    Ray has started and accepted the trials' resources."""
    name = options.name or f"{options.space}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir = check_results_folder(options.results, name)
    mnist = load_mnist(options.data)
    split = search_split(mnist, options.seed, train_limit=options.train_limit)
    warm_start = read_warm_start(options)
    with ray_session(options, run_dir) as cluster:
        plan = search_plan(options, name=name, run_dir=run_dir, cluster=cluster)
        record = new_run_record(options, plan=plan, mnist=mnist, split=split, cluster=cluster, warm_start=warm_start)
        if plan.storage_uri:
            mirror(run_dir, plan.storage_uri, fresh=True)
        writer = RecordWriter.create(run_dir, record)
        print(f"run {name!r}: searching space {options.space!r} on {split.x_train.shape[0]:,} training and "
              f"{split.x_val.shape[0]:,} validation images, {plan.max_concurrent} trial(s) at a time, "
              f"budget {options.num_samples} trials or {options.time_budget_s:.0f} s; results in {where(run_dir)}")
        print("\n".join(watch_lines(run_dir)), flush=True)
        scheduler = make_scheduler(plan)
        searcher = make_searcher(plan, stopped_early=scheduler.stopped_early, **_starting_points(plan, warm_start))
        progress = CompactProgress(space=options.space, num_samples=options.num_samples,
                                   time_budget_s=options.time_budget_s)
        tuner = make_tuner(plan, split, callbacks=[progress, Heartbeat(run_dir)], scheduler=scheduler,
                           searcher=searcher)
        outcome = run_search(tuner, plan=plan, scheduler=scheduler, writer=writer)
        if searcher.proposals_over_budget:
            print(f"{searcher.proposals_over_budget} proposal(s) over --max-params {plan.max_params:,} were "
                  f"never trained (the searcher learned they are over the budget)")
        resume = resume_command(run_dir, options.results)
        return finish(outcome, options=options, writer=writer, mnist=mnist, resume=resume)


def _starting_points(plan: SearchPlan, warm_start: WarmStart | None) -> dict[str, Any]:
    """Where the searcher starts: the earlier runs' best configurations and trials
    (``--warm-start``), else the notebook's models within the parameter budget; the run says
    which start points it left out, and why."""
    if warm_start is not None:
        print("warm start: " + "; ".join(f"{run['run']} ({run['trials']} trials, best validation accuracy "
                                          f"{run['best_val_accuracy']:.4f})" for run in warm_start.runs)
              + "; the search begins with their best configuration(s)", flush=True)
        return {"points": warm_start.best_points, "warm_trials": warm_start.trials}
    points, left_out = start_points_within_budget(plan)
    if left_out:
        print("start points over --max-params {:,}, left out: {}".format(
            plan.max_params, ", ".join(f"{name} ({size:,} parameters)" for name, size in left_out.items())),
            flush=True)
    return {"points": points}
