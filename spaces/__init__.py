"""Search spaces: define-by-run functions over an Optuna trial. No Keras, no Ray here."""

from spaces._cnn import cnn_space
from spaces._describe import describe
from spaces._dense import dense_space
from spaces._notebook import NOTEBOOK_POINTS, NOTEBOOK_SPACE
from spaces._smallest import SIZE_BUDGETS, smallest_candidates
from spaces._registry import (
    COSINE_VARIANT,
    DERIVED_KEYS,
    DESIGN_START_POINTS,
    EARLY_STOPPING_BANDS,
    SIZE_AWARE_SPACES,
    SPACES,
    UnknownSpaceError,
    config_from_point,
    get_space,
    notebook_config,
    notebook_model_of,
    notebook_points,
    parameter_names,
    start_points,
)

__all__ = [
    "COSINE_VARIANT",
    "DERIVED_KEYS",
    "DESIGN_START_POINTS",
    "EARLY_STOPPING_BANDS",
    "NOTEBOOK_POINTS",
    "NOTEBOOK_SPACE",
    "SIZE_AWARE_SPACES",
    "SIZE_BUDGETS",
    "SPACES",
    "UnknownSpaceError",
    "cnn_space",
    "config_from_point",
    "dense_space",
    "describe",
    "get_space",
    "notebook_config",
    "notebook_model_of",
    "notebook_points",
    "parameter_names",
    "smallest_candidates",
    "start_points",
]
