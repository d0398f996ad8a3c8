"""Search spaces: define-by-run functions over an Optuna trial, each one record (``Space``) in
``SPACES``, with the notebook's models as points of them, and the configurations' geometry
(the image side, the heads, the feature-map arithmetic) that the model builders follow too.
No Keras, no Ray, nothing of the models' code here."""

from spaces._describe import describe
from spaces._geometry import GLOBAL_HEADS, HEADS, IMAGE_SIDE, ConfigError, feature_map_sides
from spaces._notebook import NOTEBOOK_POINTS, NOTEBOOK_SPACE
from spaces._registry import (
    DERIVED_KEYS,
    SPACES,
    Space,
    config_from_point,
    get_space,
    notebook_config,
    notebook_model_of,
    parameter_names,
    start_points,
)
from spaces._smallest import SIZE_BUDGETS, smallest_candidates

__all__ = [
    "DERIVED_KEYS",
    "GLOBAL_HEADS",
    "HEADS",
    "IMAGE_SIDE",
    "NOTEBOOK_POINTS",
    "NOTEBOOK_SPACE",
    "SIZE_BUDGETS",
    "SPACES",
    "ConfigError",
    "Space",
    "config_from_point",
    "describe",
    "feature_map_sides",
    "get_space",
    "notebook_config",
    "notebook_model_of",
    "parameter_names",
    "smallest_candidates",
    "start_points",
]
