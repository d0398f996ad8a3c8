"""``python -m benchmarks asha RUN``: how often ASHA's first rung stopped a trial that would
have ended among the run's best.

Reads run RUN's ``trials.parquet`` and ``run.json``, takes the trials ASHA stopped after the
first rung's epochs (all of them, or ``--sample N`` of them drawn with ``--seed``), and trains
each again to its planned epochs on the run's own search split with the seed the run gave it
(``mnist_models.trial_seed``): on a CPU its curve repeats the search's to the last digit up to
the epoch where ASHA stopped it, then goes on. A retrained trial "would have ended in the top
K" when its best validation accuracy is above the K-th best of the run's trials.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any, TextIO

from mnist_models import configure_tensorflow, fit_config, load_mnist, search_split, trial_seed
from benchmarks._errors import BenchError
from benchmarks._finished_run import finished_run
from benchmarks._output import emit, table
from search.run_folder import EARLY_STOPPED, RunRecord, config_from_row

DEFINITIONS = {
    "stopped_at_first_rung": "trials of the run that ASHA stopped after at most --rung epochs",
    "retrained": "of those, the ones trained again to their planned epochs (all, or --sample of them)",
    "top_k_bar": "the K-th best best_val_accuracy among the run's trials, as the run ended",
    "would_be_top_k": "retrained trials whose best validation accuracy is above top_k_bar",
}


def add_arguments(parser: argparse.ArgumentParser, *, positive_int: Any, **_: Any) -> None:
    parser.add_argument("run", metavar="RUN", help="a finished run's folder, like results/cnn-20261201-101500")
    parser.add_argument("--sample", type=positive_int("--sample"), default=None,
                        help="retrain only this many of the stopped trials, drawn with --seed (default all)")
    parser.add_argument("--rung", type=positive_int("--rung"), default=1,
                        help="the first rung's epochs: trials stopped after at most this many (default 1)")
    parser.add_argument("--top", type=positive_int("--top"), default=3, help="K of the top K (default 3)")
    parser.add_argument("--threads", type=positive_int("--threads"), default=2,
                        help="TensorFlow threads for the retraining (default 2)")


def run(args: argparse.Namespace, *, machine: dict[str, Any], versions: dict[str, str], stream: TextIO) -> int:
    finished = finished_run(args.run)
    record, rows = finished.record, finished.rows
    scores = sorted((row["best_val_accuracy"] for row in rows if row.get("best_val_accuracy") is not None),
                    reverse=True)
    if len(scores) < args.top:
        raise BenchError(f"the run has {len(scores)} scored trials, fewer than --top {args.top}: give a longer run")
    bar = scores[args.top - 1]
    stopped = [row for row in rows if row["state"] == EARLY_STOPPED and row["epochs_run"] <= args.rung
               and row["hp_epochs"] > row["epochs_run"]]
    chosen = stopped if args.sample is None else random.Random(args.seed).sample(stopped, min(args.sample, len(stopped)))
    results = _retrain(chosen, record, threads=args.threads)
    beating = [result for result in results if result["retrained_best"] > bar]
    summary = {"benchmark": "asha", "record": "summary", "machine": machine, "versions": versions,
               "conditions": {"run": str(finished.folder), "rung": args.rung, "top": args.top, "sample": args.sample,
                              "seed": args.seed, "trials": len(rows)},
               "definitions": DEFINITIONS, "stopped_at_first_rung": len(stopped), "retrained": len(results),
               "top_k_bar": bar, "would_be_top_k": len(beating),
               "share_would_be_top_k": len(beating) / len(results) if results else None}
    records = [{"benchmark": "asha", "record": "trial", "machine": machine, "versions": versions,
                "conditions": summary["conditions"], **result} for result in results] + [summary]
    text = table(("trial", "epochs at stop", "val acc at stop", "planned epochs", "retrained best", "top?"),
                 [(r["trial_id"], r["epochs_at_stop"], f"{r['val_at_stop']:.4f}", r["planned_epochs"],
                   f"{r['retrained_best']:.4f}", "yes" if r["retrained_best"] > bar else "no") for r in results])
    emit(records, as_json=args.json, stream=stream,
         text=f"asha: {len(stopped)} of {len(rows)} trials stopped after at most {args.rung} epoch(s); "
              f"{len(results)} retrained to their planned epochs; top-{args.top} bar {bar:.4f}\n\n{text}\n\n"
              f"{len(beating)} of {len(results)} would have ended in the run's top {args.top}")
    return 0


def _retrain(rows: list[dict[str, Any]], record: RunRecord, *, threads: int) -> list[dict[str, Any]]:
    configure_tensorflow(threads=threads, use_gpu=False)
    mnist = load_mnist(record.data_file)
    if mnist.sha256 != record.data_sha256:
        raise BenchError(f"the run's data has changed since it ran (sha256 {mnist.sha256[:12]}…): restore it")
    seed = int(record.seed or 0)
    split = search_split(mnist, seed, train_limit=record.train_limit)
    results = []
    for row in rows:
        config = config_from_row(row)
        started = time.perf_counter()
        _, history = fit_config(config, split.x_train, split.y_train, seed=trial_seed(seed, config),
                                validation_data=(split.x_val, split.y_val))
        curve = [float(value) for value in history.history["val_accuracy"]]
        results.append({"trial_id": row["trial_id"], "epochs_at_stop": int(row["epochs_run"]),
                        "val_at_stop": float(row["best_val_accuracy"]), "planned_epochs": int(config["epochs"]),
                        "retrained_best": max(curve), "retrained_curve": curve,
                        "seconds": time.perf_counter() - started})
    return results
