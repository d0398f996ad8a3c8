"""The search service: Ray Tune runs the trials, an Optuna TPE searcher proposes them, ASHA stops
bad ones, and the best configurations are confirmed on the test set against the notebook.

The commands (``python -m search.run``, ``search.runs``, ``search.report``) sit on these
parts, each a sub-package with its face (docs/ARCHITECTURE.md draws them):

- ``cli``: the command line's flags and their checks;
- ``pipeline``: a run's lifecycle, from the options to the results folder;
- ``cluster``: Ray started here or joined, and what a launched cluster's autoscaler can add;
- ``tuning``: the Ray Tune wiring (trainable, searcher, scheduler, curves, progress);
- ``confirmation``: retraining with several seeds and scoring once on test;
- ``verdict``: which configurations beat the notebook, and how surely;
- ``reporting``: the report, its figures, the closing table, the runs listing;
- ``study``: the Optuna side (objective, sampler, storage), without Ray;
- ``run_folder``: the names, files and storage of ``RESULTS/NAME/``, and ``run.json``'s record.

The benchmarks live beside the service, in the checkout's top-level ``benchmarks/``, and are
not installed with it.
"""

__all__ = ["cli", "cluster", "confirmation", "pipeline", "reporting", "run_folder", "study", "tuning", "verdict"]
