"""``run.json``: every field a run records, its type and its default, in one place.

A run's record is written when it starts (its settings, the data, the cluster, the
libraries), stamped while it searches (the heartbeat, the seconds spent, a target reached)
and completed at the end of the search and of the confirmation. ``RecordWriter``
(``_record_writer.py``) is the only code that writes it; everyone else reads it as a
``RunRecord``.

A record written by an older version lacks some fields: they get the defaults below, and
``unrecorded`` names them, so that a reader can tell "not recorded" from a recorded value
(``--resume`` then takes such a setting from the run's command line instead). Keys this
version does not know are kept in ``extra`` and written back unchanged, and a field the file
lacked is written back only once the run sets it, so nothing saved is lost or made up when
the record is rewritten.

Fields that a run writes only once something happened (the search's end, a resume, a
target reached, the confirmation) are left out of the file until then, as they always were,
so that tools reading ``run.json`` see the same keys.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

# A field's metadata key: the field is left out of run.json while the named field ("self":
# this one) still holds its default, i.e. until the run has written it.
_WRITTEN_WITH = "written_with"
# A field's metadata key: the dataclass that a group field (a JSON object) is read as.
_GROUP = "group"
# What run.json's "data" says of the project's own copy of MNIST (no --data given).
SHIPPED_DATA = "shipped MNIST"
# A run's "state" (its search's), and its confirmation's when that did not finish.
RUN_RUNNING, RUN_INTERRUPTED, RUN_FAILED, RUN_FINISHED = "running", "interrupted", "failed", "finished"

Group = TypeVar("Group", bound="_JsonGroup")


def _later(default: Any = None, *, written_with: str = "self") -> Any:
    """A field the run writes only once something happened (see the module's docstring)."""
    return field(default=default, metadata={_WRITTEN_WITH: written_with})


def _group(kind: type, *, later: bool = False) -> Any:
    metadata: dict[str, Any] = {_GROUP: kind}
    if later:
        metadata[_WRITTEN_WITH] = "self"
    return field(default=None, metadata=metadata)


class _JsonGroup:
    """Reading and writing a dataclass as a JSON object: known keys to fields (groups read as
    their own dataclass), unknown ones kept in ``extra``, absent ones named in ``unrecorded``;
    a known key whose value is not of its field's type is a ``ValueError`` (a damaged file)."""

    @classmethod
    def from_json(cls: type[Group], document: Mapping[str, Any]) -> Group:
        if not isinstance(document, Mapping):
            raise ValueError(f"a {cls.__name__} must be a JSON object, not {type(document).__name__} "
                             f"({document!r:.60}): the file is damaged")
        known = {item.name: item for item in _json_fields(cls)}
        values: dict[str, Any] = {}
        for name, item in known.items():
            if name not in document:
                continue
            value = document[name]
            kind = item.metadata.get(_GROUP)
            if kind is not None and value is not None:
                values[name] = kind.from_json(value)
                continue
            expected = _field_types(cls)[name]
            if not _fits(value, expected):
                raise ValueError(f"field {name!r} is {value!r:.60}, but must be {_type_name(expected)}: "
                                 f"the file is damaged")
            values[name] = value
        extra = {key: value for key, value in document.items() if key not in known}
        unrecorded = frozenset(name for name in known if name not in document)
        return cls(**values, extra=extra, unrecorded=unrecorded)  # type: ignore[call-arg]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = dict(self.extra)  # type: ignore[attr-defined]
        for item in _json_fields(type(self)):
            written_with = item.metadata.get(_WRITTEN_WITH)
            if written_with is not None and _holds_default(self, item.name if written_with == "self" else written_with):
                continue
            if item.name in self.unrecorded and _holds_default(self, item.name):  # type: ignore[attr-defined]
                continue  # an older version's file without it: written back without it
            value = getattr(self, item.name)
            document[item.name] = value.to_json() if isinstance(value, _JsonGroup) else value
        return document

    def recorded(self, name: str) -> bool:
        """Whether the file had field ``name`` (a record from an older version may lack it)."""
        return name not in self.unrecorded  # type: ignore[attr-defined]


@functools.cache
def _field_types(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _fits(value: Any, expected: Any) -> bool:
    """Whether a JSON value is of a field's declared type: its container, not the items
    (``list[int]`` takes any list); a whole number is a float too, a bool is no number."""
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, member) for member in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or expected)


def _type_name(expected: Any) -> str:
    names = {type(None): "null", str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "an object"}
    members = typing.get_args(expected) if typing.get_origin(expected) in (typing.Union, types.UnionType) else (expected,)
    return " or ".join(names.get(typing.get_origin(member) or member, str(member)) for member in members)


def _json_fields(kind: type) -> list[dataclasses.Field]:
    return [item for item in dataclasses.fields(kind) if item.name not in ("extra", "unrecorded")]


def _holds_default(instance: Any, name: str) -> bool:
    item = next(item for item in dataclasses.fields(instance) if item.name == name)
    default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
    return getattr(instance, name) == default


@dataclass
class Driver(_JsonGroup):
    """Where the run's driver runs (``driver``): how a run whose driver died is told from a running one."""

    host: str | None = None
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass
class TargetHit(_JsonGroup):
    """The first result that reached ``--stop-at`` (``stopped_at_target``), written by the target's stopper."""

    target: float | None = None
    trial_id: str | None = None
    val_accuracy: float | None = None
    epoch: int | None = None
    at: str | None = None  # when, as ``now()`` writes it
    search_wall_s: float | None = None  # search seconds spent then, earlier sessions included
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass
class ConfirmOptions(_JsonGroup):
    """What the run asked of its confirmation (``confirm_options``), recorded when it starts so
    that ``--resume`` confirms as the run was told to, whatever today's defaults are."""

    enabled: bool | None = None  # False: --no-confirm
    top_k: int | None = None
    seeds: int | None = None  # --confirm-seeds: how many
    train_limit: int | None = None  # --confirm-train-limit (smoke runs)
    budget_s: float | None = None  # --confirm-budget; None: no limit
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass
class Confirmation(_JsonGroup):
    """What the confirmation did (``confirmation``), written when it ends; an interrupted
    confirmation writes ``{"state": "interrupted"}`` alone."""

    state: str | None = None  # "interrupted", "failed" (``error`` says why), or None: it finished
    error: str | None = None  # the one line a failed confirmation ended with
    devices: str | None = None  # where its jobs trained, in words (``run_folder.where_trained``)
    top_k: int | None = None
    seeds: list[int] = field(default_factory=list)
    train_images: int | None = None  # each model was trained on
    test_images: int | None = None  # each model was scored on
    confirm_train_limit: int | None = None
    notebook_max_epochs: int | None = None  # smoke mode only
    concurrency: int | None = None
    cpus_per_job: float | None = None
    gpus_per_job: float | None = None
    configurations: list[str] = field(default_factory=list)  # the searched configurations confirmed
    budget_s: float | None = None
    estimated_s: float | None = None
    over_budget: list[dict[str, Any]] = field(default_factory=list)  # name, best_val_accuracy, epochs, estimated_s
    jobs_run: int | None = None
    notebook_from_cache: int | None = None
    cache_folder: str | None = None
    wall_s: float | None = None
    best_model: str | None = None  # "TRIAL, seed S, test accuracy A"
    # members, rule, test_accuracy, test_loss, num_params, model_file, beats_notebook, verdict; or
    # members [] and why_none. None: a run of an older version, which built no ensemble.
    ensemble: dict[str, Any] | None = None
    objective: str | None = None
    threshold: float | None = None  # the published bar of the verdict; None on other data
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def interrupted(self) -> bool:
        return self.state == RUN_INTERRUPTED

    def to_json(self) -> dict[str, Any]:
        if self.interrupted:
            return {**self.extra, "state": self.state}
        if self.state == RUN_FAILED:
            return {**self.extra, "state": self.state, "error": self.error}
        document = super().to_json()
        if self.state is None:
            document.pop("state", None)
        return document


@dataclass
class RunRecord(_JsonGroup):
    """One run's ``run.json``. The defaults are what a reader gets for a field the file lacks."""

    # What was asked: the command and every setting of the run.
    name: str | None = None
    space: str | None = None
    command: str | None = None
    argv: list[str] = field(default_factory=list)
    seed: int | None = None
    data: str | None = None  # the data file as given, or SHIPPED_DATA
    data_sha256: str | None = None
    train_limit: int | None = None  # --train-limit
    max_epochs: int | None = None
    num_samples: int | None = None
    time_budget_s: float | None = None
    objective: str = "accuracy"
    max_params: int | None = None
    stop_at: float | None = None
    max_concurrent: int | None = None  # as resolved when the run started (the cluster's room, if not given)
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    max_failures: int | None = None
    confirm_options: ConfirmOptions | None = _group(ConfirmOptions)
    # run, trials, best_val_accuracy, best_epochs_run, best_planned_epochs, best_cut_at_target (--stop-at)
    warm_start_from: list[dict[str, Any]] = field(default_factory=list)
    # The data as split for the search, and the data file's own sizes.
    search_train_images: int | None = None
    validation_images: int | None = None
    data_train_images: int | None = None  # every training image of the data file
    data_test_images: int | None = None  # every test image of the data file
    # Where and with what it ran.
    cluster_resources: dict[str, float] = field(default_factory=dict)
    waited_for_nodes_s: float | None = None  # before the search and its budget began
    versions: dict[str, str] = field(default_factory=dict)
    keras_backend: str | None = None  # the Keras backend the run's trials and jobs train with
    # Its state: "running", "interrupted", "failed" or "finished" (the search's; see ``confirmation``).
    started: str | None = None
    ended: str | None = None
    state: str | None = None
    driver: Driver | None = _group(Driver)
    heartbeat: str | None = None
    resumed: int = _later(0)  # how many times
    # The search session now running (read by the target's stopper), and the search's seconds so far.
    session_started: str | None = _later()
    session_spent_before_s: float | None = _later()
    search_wall_s: float | None = _later()
    # What the search gave, written when it ended.
    trials: int | None = _later()
    best_val_accuracy: float | None = _later(written_with="trials")
    trial_states: dict[str, int] | None = _later(written_with="trials")
    trial_devices: str | None = _later()  # where the trials trained, in words (``run_folder.where_trained``)
    trial_retries: int | None = _later()  # trials run again after their worker was lost (a spot reclaim, a crash)
    error: str | None = _later()  # the one line a failed search ended with (a GPU its backend cannot use, say)
    stopped_at_target: TargetHit | None = _group(TargetHit, later=True)
    confirmation: Confirmation | None = _group(Confirmation, later=True)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def data_file(self) -> str | None:
        """The data file the run searched, as ``--data`` gave it; None for the shipped MNIST."""
        return None if self.data in (None, SHIPPED_DATA) else self.data

    @property
    def search_seconds(self) -> float:
        """Search seconds spent so far, by every session (0 before the search began)."""
        return float(self.search_wall_s or 0.0)
