"""The names of everything a run leaves in ``RESULTS/NAME/``: the one place they are spelled.

    RESULTS/
      .notebook-cache/        the notebook models' measurements, shared by every run
      NAME/
        run.json              the command, settings, versions, state (and, while a search
                              runs, its heartbeat)
        trials.parquet        one row per trial
        study.db              the Optuna study (SQLite)
        tensorboard/          one TensorBoard run per trial
        tune/                 Tune's own experiment folder (for --resume); per trial a
                              folder with result.json (one JSON object per reported epoch)
        confirm.parquet       one row per confirmed configuration x seed, per notebook
                              model x seed, and one for the ensemble
        report.md, report.html and the figures (PNG)
        best_model.keras, best_config.json
        smallest_beating_model.keras, smallest_beating_config.json (when one beats the notebook)
        ensemble_model.keras
"""

from __future__ import annotations

from pathlib import Path

RUN_FILE = "run.json"
TRIALS_FILE = "trials.parquet"
STUDY_FILE = "study.db"
TENSORBOARD_FOLDER = "tensorboard"
TUNE_FOLDER = "tune"
TUNE_RESULT_FILE = "result.json"
CONFIRM_FILE = "confirm.parquet"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURE_FILES = {
    "history": "optimization_history.png",
    "curves": "learning_curves.png",
    "importance": "hyperparameter_importance.png",
    "size": "test_accuracy_vs_parameters.png",
    "front": "accuracy_parameter_front.png",
}
BEST_MODEL_FILE = "best_model.keras"
BEST_CONFIG_FILE = "best_config.json"
ENSEMBLE_MODEL_FILE = "ensemble_model.keras"
# The smallest confirmed configuration that beats the notebook, when there is one.
SMALLEST_MODEL_FILE = "smallest_beating_model.keras"
SMALLEST_CONFIG_FILE = "smallest_beating_config.json"
NOTEBOOK_CACHE_FOLDER = ".notebook-cache"


def is_run_folder(path: Path) -> bool:
    """A folder is a run's when it holds a ``run.json``."""
    return Path(path, RUN_FILE).is_file()


