"""Search spaces by name, each one record (``Space``), and the notebook's models as full configurations."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import optuna

from spaces._cnn import (
    DESIGN_START_POINTS,
    FIXED_WHEN_NOT_LONG_TRAINING,
    FIXED_WHEN_NOT_SIZE_AWARE,
    LONG_TRAINING_MIN_EPOCHS,
    LONG_TRAINING_START_POINTS,
    SMALL_START_POINTS,
    cnn_space,
)
from spaces._dense import DENSE_START_POINTS, dense_space
from spaces._notebook import NOTEBOOK_POINTS, NOTEBOOK_SPACE

SpaceFunction = Callable[[optuna.Trial], dict[str, Any]]
Points = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Space:
    """Everything the service knows of one search space: adding a space is adding one record
    to ``SPACES``."""

    # The define-by-run function: ``function(trial, *, max_epochs)``, and ``size_aware=True``
    # where ``size_aware_fixed`` is set.
    function: Callable[..., dict[str, Any]]
    # The most epochs a trial trains by default (--max-epochs), and in a size-aware search
    # (--objective pareto, --max-params), where small models need more of them.
    max_epochs: int
    size_aware_max_epochs: int
    # Where any search of the space starts besides the notebook's models: designs known to do well.
    design_start_points: Points = field(default_factory=dict)
    # Where a size-aware search starts besides those: small designs.
    size_aware_start_points: Points = field(default_factory=dict)
    # For a space that offers more when a search weighs parameters: the values the keys it then
    # adds have in a configuration without them. None: a size-aware search is the same search.
    size_aware_fixed: Mapping[str, Any] | None = None
    # Choices that slow a trial's first epochs whatever its final score (augmentation, on a
    # dense net): ASHA compares a trial only with trials that made the same choices (docs/SPACES.md;
    # measured: docs/PERFORMANCE.md, "Choices measured").
    early_stopping_bands: tuple[str, ...] = ()
    # For a space that offers more when its trials may train long: the epoch cap from which it
    # does (None: never), the values the keys it then adds have in a configuration without
    # them, and where such a search starts besides the designs above.
    long_training_min_epochs: int | None = None
    long_training_fixed: Mapping[str, Any] = field(default_factory=dict)
    long_training_start_points: Points = field(default_factory=dict)
    # The epoch cap of a search of an hour or more (search.cli: LONG_SEARCH_MIN_BUDGET_S), where
    # its trials have the time to train long; None: ``max_epochs``.
    long_search_max_epochs: int | None = None

    def trains_long(self, max_epochs: int, *, size_aware: bool = False) -> bool:
        """Whether a search capped at ``max_epochs`` is offered the long-training choices (a
        size-aware search, which has its own, is not)."""
        if size_aware and self.size_aware_fixed is not None:
            return False
        return self.long_training_min_epochs is not None and max_epochs >= self.long_training_min_epochs

    def fixed_values(self, *, max_epochs: int, size_aware: bool) -> Mapping[str, Any]:
        """The keys this search suggests that a point from a narrower one may lack (the
        notebook's models, the designs), with the values such a point means."""
        if size_aware and self.size_aware_fixed is not None:
            return self.size_aware_fixed
        return self.long_training_fixed if self.trains_long(max_epochs) else {}


SPACES: dict[str, Space] = {
    "dense": Space(dense_space, max_epochs=20, size_aware_max_epochs=20, design_start_points=DENSE_START_POINTS,
                   early_stopping_bands=("augment",)),
    "cnn": Space(cnn_space, max_epochs=6, size_aware_max_epochs=15, design_start_points=DESIGN_START_POINTS,
                 size_aware_start_points=SMALL_START_POINTS, size_aware_fixed=FIXED_WHEN_NOT_SIZE_AWARE,
                 long_training_min_epochs=LONG_TRAINING_MIN_EPOCHS, long_training_fixed=FIXED_WHEN_NOT_LONG_TRAINING,
                 long_training_start_points=LONG_TRAINING_START_POINTS, long_search_max_epochs=15),
}

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
    space = SPACES[name]
    if size_aware and space.size_aware_fixed is not None:
        return functools.partial(space.function, max_epochs=max_epochs, size_aware=True)
    return functools.partial(space.function, max_epochs=max_epochs)


def notebook_points(space_name: str, *, max_epochs: int) -> dict[str, dict[str, Any]]:
    """The notebook models that are points of ``space_name``, epochs capped at ``max_epochs``."""
    return {
        model: {**point, "epochs": min(point["epochs"], max_epochs)}
        for model, point in NOTEBOOK_POINTS.items()
        if NOTEBOOK_SPACE[model] == space_name
    }


def start_points(space_name: str, *, max_epochs: int, size_aware: bool = False) -> dict[str, dict[str, Any]]:
    """Where the search starts: designs known to do well (``Space.design_start_points``; in a
    size-aware search also a few small ones, ``Space.size_aware_start_points``, and in one
    for accuracy that trains long those that need it, ``Space.long_training_start_points``), the notebook's
    models of ``space_name``, then each of them again with a cosine learning-rate decay
    (named ``<model>+cosine``). Epochs are capped at ``max_epochs``.

    The schedule is the one training choice the spaces add to the notebook's. Measuring the
    notebook's own models with it first tells the user whether the schedule alone improves
    on them, and gives TPE a measured point on each side of that choice from the start: in
    a short search its random first trials may otherwise try the schedule only together
    with choices that hide its effect, and TPE then stops proposing it. The designs come
    first: they train longest, and should end within the search's time budget.
    """
    space = SPACES[space_name]
    points = notebook_points(space_name, max_epochs=max_epochs)
    # A size-aware or long-training space suggests more keys: the notebook's models and the designs have their fixed values.
    fixed = space.fixed_values(max_epochs=max_epochs, size_aware=size_aware)
    points = {model: {**point, **fixed} for model, point in points.items()}
    with_schedule = {f"{model}{COSINE_VARIANT}": {**point, "lr_schedule": "cosine"} for model, point in points.items()}
    designs = dict(space.size_aware_start_points) if size_aware else {}
    if space.trains_long(max_epochs, size_aware=size_aware):
        designs.update({name: {**fixed, **point} for name, point in space.long_training_start_points.items()})
    designs.update({name: {**point, **fixed} for name, point in space.design_start_points.items()})
    capped = {name: {**point, "epochs": min(point["epochs"], max_epochs)} for name, point in designs.items()}
    return {**capped, **points, **with_schedule}


def config_from_point(space_name: str, point: dict[str, Any], *, max_epochs: int,
                      size_aware: bool = False) -> dict[str, Any]:
    """The full configuration (suggested values and constants) the space gives for ``point``; a
    key the space suggests in this search but ``point`` lacks takes its fixed value (a notebook
    model in a long-training search has one convolution a block)."""
    space = get_space(space_name, max_epochs=max_epochs, size_aware=size_aware)
    fixed = SPACES[space_name].fixed_values(max_epochs=max_epochs, size_aware=size_aware)
    trial = optuna.trial.FixedTrial({**fixed, **point})
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
        fixed = SPACES[space].size_aware_fixed or {}
        if any(config.get(key, value) != value for key, value in fixed.items()):
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
