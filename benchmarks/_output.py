"""What a benchmark prints: a table for people, or one JSON object per line (``--json``)."""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence, TextIO

# The keys every JSON line of a benchmark carries, and those each benchmark adds.
COMMON_KEYS = ("benchmark", "record", "machine", "versions", "conditions")
REQUIRED_KEYS = {
    "overhead": ("service_s", "plain_s", "ratio_service_over_plain", "overhead_per_trial_s",
                 "repeats", "definitions"),
    "target": ("peer", "target", "reached", "time_to_target_s", "seeds", "definitions"),
    "utilization": ("worker_cpu_share", "worker_cpu_share_of_available", "definitions"),
    "gpu": ("trials_per_gpu", "epochs_per_minute"),
    "ensemble_members": ("rule", "members", "val_accuracy", "single_mean", "definitions"),
    "longer_training": ("design", "parameters", "val_accuracy_at_cap", "val_accuracy_last", "seconds_an_epoch"),
    "memory": ("rss_mb_after_10", "rss_mb_after_last", "growth_mb_per_trial"),
    "scale": ("trials", "slots", "wall_s", "ideal_s", "ratio_wall_over_ideal", "slot_utilization", "suggest_ms_first",
              "suggest_ms_last", "study_write_ms", "driver_peak_rss_mb", "results_mb"),
}


class MissingKeyError(ValueError):
    """A benchmark record lacks a key its JSON line promises."""


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def json_line(record: Mapping[str, Any]) -> str:
    """One record as one line of JSON (sorted keys, NaN as null), checked for its keys:
    every record has ``COMMON_KEYS`` (a ``skipped`` one only ``benchmark`` and ``skipped``),
    and a ``summary`` record also its benchmark's ``REQUIRED_KEYS``."""
    if "skipped" in record:
        required: tuple[str, ...] = ("benchmark", "skipped")
    else:
        required = COMMON_KEYS
        if record.get("record") == "summary":
            required += REQUIRED_KEYS.get(str(record.get("benchmark")), ())
    missing = [key for key in required if key not in record]
    if missing:
        raise MissingKeyError(f"{record.get('benchmark')} record {record.get('record')!r} lacks "
                              f"{', '.join(missing)}: add them where the record is made")
    return json.dumps(_clean(record), sort_keys=True, allow_nan=False)


def format_number(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain text table, columns right-aligned except the first."""
    cells = [list(headers)] + [[format_number(cell) if not isinstance(cell, str) else cell for cell in row]
                               for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def emit(records: Sequence[Mapping[str, Any]], *, as_json: bool, text: str, stream: TextIO) -> None:
    """Write the records as JSON lines, or ``text`` (the table) for people."""
    if as_json:
        for record in records:
            stream.write(json_line(record) + "\n")
    else:
        stream.write(text.rstrip() + "\n")
    stream.flush()


def describe_machine(machine: Mapping[str, Any], versions: Mapping[str, str]) -> str:
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    load = machine.get("load_average_at_start") or []
    software = ", ".join(f"{name} {version}" for name, version in versions.items())
    return (f"machine: {machine.get('nproc')} CPUs ({machine.get('cpu_model')}), {machine.get('memory_gib')} GiB, "
            f"{gpus}; load average at start {' '.join(str(value) for value in load) or '-'}\n"
            f"software: {software}")
