"""Search spaces by name, and the notebook's models as full configurations."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import optuna

from spaces._cnn import SIZE_AWARE_DEFAULTS, SMALL_START_POINTS, cnn_space
from spaces._dense import DENSE_START_POINTS, dense_space
from spaces._notebook import NOTEBOOK_POINTS, NOTEBOOK_SPACE

SpaceFunction = Callable[[optuna.Trial], dict[str, Any]]

SPACES: dict[str, Callable[..., dict[str, Any]]] = {"dense": dense_space, "cnn": cnn_space}
# The spaces that offer more when a search weighs parameters, and the values the added keys
# have in a configuration without them.
SIZE_AWARE_SPACES: dict[str, dict[str, Any]] = {"cnn": SIZE_AWARE_DEFAULTS}
# Where a size-aware search of a space starts besides the notebook's models.
SIZE_AWARE_START_POINTS: dict[str, dict[str, dict[str, Any]]] = {"cnn": SMALL_START_POINTS}
# Where any search of a space starts besides the notebook's models: designs known to do well.
DESIGN_START_POINTS: dict[str, dict[str, dict[str, Any]]] = {"dense": DENSE_START_POINTS}
# Choices that slow a trial's first epochs whatever its final score (augmentation, on a dense
# net): ASHA compares a trial only with trials that made the same choices (docs/SPACES.md;
# measured: docs/PERFORMANCE.md, "Choices measured").
EARLY_STOPPING_BANDS: dict[str, tuple[str, ...]] = {"dense": ("augment",)}

# What the spaces return rather than suggest: the model family, and values that follow from
# suggested ones (the CNN's padding follows from its number of blocks). They are part of every
# configuration but not choices of the search, so a hyperparameter-importance chart leaves them out.
DERIVED_KEYS = frozenset({"family", "padding"})
# The name of a notebook model's start point with a cosine learning-rate decay: 'cnn_small+cosine'.
COSINE_VARIANT = "+cosine"
# Random configurations drawn to find every parameter a space can suggest (a few dozen take
# every branch of the spaces here; many more make it certain).
PARAMETER_NAME_PROBES = 400


class UnknownSpaceError(ValueError):
    pass


def get_space(name: str, *, max_epochs: int, size_aware: bool = False) -> SpaceFunction:
    """The define-by-run function of space ``name``, with epochs capped at ``max_epochs``;
    ``size_aware`` for a search that weighs parameters too (spaces that have nothing to add
    for it are the same either way)."""
    if name not in SPACES:
        raise UnknownSpaceError(
            f"unknown space {name!r}: choose one of {', '.join(sorted(SPACES))}"
        )
    if max_epochs < 1:
        raise ValueError(f"max_epochs is {max_epochs}, but must be >= 1")
    if size_aware and name in SIZE_AWARE_SPACES:
        return functools.partial(SPACES[name], max_epochs=max_epochs, size_aware=True)
    return functools.partial(SPACES[name], max_epochs=max_epochs)


def notebook_points(space_name: str, *, max_epochs: int) -> dict[str, dict[str, Any]]:
    """The notebook models that are points of ``space_name``, epochs capped at ``max_epochs``."""
    return {
        model: {**point, "epochs": min(point["epochs"], max_epochs)}
        for model, point in NOTEBOOK_POINTS.items()
        if NOTEBOOK_SPACE[model] == space_name
    }


def start_points(space_name: str, *, max_epochs: int, size_aware: bool = False) -> dict[str, dict[str, Any]]:
    """Where the search starts: designs known to do well (``DESIGN_START_POINTS``; in a
    size-aware search also a few small ones, ``SIZE_AWARE_START_POINTS``), the notebook's
    models of ``space_name``, then each of them again with a cosine learning-rate decay
    (named ``<model>+cosine``). Epochs are capped at ``max_epochs``.

    The schedule is the one training choice the spaces add to the notebook's. Measuring the
    notebook's own models with it first tells the user whether the schedule alone improves
    on them, and gives TPE a measured point on each side of that choice from the start: in
    a short search its random first trials may otherwise try the schedule only together
    with choices that hide its effect, and TPE then stops proposing it. The designs come
    first: they train longest, and should end within the search's time budget.
    """
    points = notebook_points(space_name, max_epochs=max_epochs)
    if size_aware and space_name in SIZE_AWARE_SPACES:
        # The size-aware space suggests these too: the notebook's model has their defaults.
        points = {model: {**point, **SIZE_AWARE_SPACES[space_name]} for model, point in points.items()}
    with_schedule = {f"{model}{COSINE_VARIANT}": {**point, "lr_schedule": "cosine"} for model, point in points.items()}
    designs = dict(SIZE_AWARE_START_POINTS.get(space_name, {})) if size_aware else {}
    designs.update(DESIGN_START_POINTS.get(space_name, {}))
    capped = {name: {**point, "epochs": min(point["epochs"], max_epochs)} for name, point in designs.items()}
    return {**capped, **points, **with_schedule}


def config_from_point(space_name: str, point: dict[str, Any], *, max_epochs: int,
                      size_aware: bool = False) -> dict[str, Any]:
    """The full configuration (suggested values and constants) the space gives for ``point``."""
    space = get_space(space_name, max_epochs=max_epochs, size_aware=size_aware)
    trial = optuna.trial.FixedTrial(point)
    constants = space(trial)
    return {**trial.params, **constants}


def notebook_config(model: str) -> dict[str, Any]:
    """The full configuration of notebook model ``model`` with its own epochs."""
    if model not in NOTEBOOK_POINTS:
        raise KeyError(f"unknown notebook model {model!r}: choose one of {sorted(NOTEBOOK_POINTS)}")
    point = NOTEBOOK_POINTS[model]
    return config_from_point(NOTEBOOK_SPACE[model], point, max_epochs=point["epochs"])


def notebook_model_of(config: Mapping[str, Any]) -> str | None:
    """The notebook model ``config`` is, whatever its epochs: ``'cnn_small'``, or
    ``'cnn_small+cosine'`` for the same model with a cosine learning-rate decay (the start
    points of the search); None for any other configuration."""
    for model, point in NOTEBOOK_POINTS.items():
        space = NOTEBOOK_SPACE[model]
        if config.get("family", space) != space:
            continue
        defaults = SIZE_AWARE_SPACES.get(space, {})
        if any(config.get(key, default) != default for key, default in defaults.items()):
            continue
        if not all(config.get(key) == value for key, value in point.items() if key not in ("epochs", "lr_schedule")):
            continue
        schedule = config.get("lr_schedule", point["lr_schedule"])
        if schedule == point["lr_schedule"]:
            return model
        if schedule == "cosine":
            return f"{model}{COSINE_VARIANT}"
    return None


def parameter_names(space_name: str, *, max_epochs: int, size_aware: bool = False) -> set[str]:
    """Every parameter ``space_name`` can suggest (conditional ones included), found by running
    it on random values long enough to take every branch."""
    space = get_space(space_name, max_epochs=max_epochs, size_aware=size_aware)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    finally:
        optuna.logging.set_verbosity(verbosity)
    names: set[str] = set()
    for _ in range(PARAMETER_NAME_PROBES):
        trial = study.ask()
        space(trial)
        names |= set(trial.params)
        study.tell(trial, 0.0)
    return names
