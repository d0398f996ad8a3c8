"""Where trials and confirmation jobs trained: the ``device_*`` columns of ``trials.parquet``
and ``confirm.parquet``, and the sentence that sums them up ("52 trials on 4 x NVIDIA A10G,
4 a GPU"; "6 jobs on CPU")."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping

# The columns, as ``device_columns`` writes them from a training process's placement.
DEVICE_COLUMNS = ("device_backend", "device", "device_seen", "device_visible_ids", "device_gpu_share", "device_node")
CPU = "CPU"


def device_columns(placement: Any) -> dict[str, Any]:
    """The ``device_*`` columns of one trial or job from where its process trained
    (``mnist_models.Placement``; None: not known, every column None)."""
    if placement is None:
        return {column: None for column in DEVICE_COLUMNS}
    device = f"{CPU} (a test's logical GPU)" if getattr(placement, "test_seam", False) else placement.device
    return {"device_backend": placement.backend, "device": device,
            "device_seen": ", ".join(placement.devices_seen) or CPU,
            "device_visible_ids": placement.visible_ids, "device_gpu_share": float(placement.gpu_share),
            "device_node": placement.node}


def where_trained(rows: Iterable[Mapping[str, Any]], *, noun: str) -> str | None:
    """One phrase per kind of device the rows trained on, joined: "52 trials on 4 x NVIDIA
    A10G, 4 a GPU", "6 jobs on CPU". None when no row recorded its device (a run of an older
    version, or one whose every trial failed before training)."""
    placed = [row for row in rows if row.get("device")]
    if not placed:
        return None
    phrases = []
    for device, count in sorted(Counter(str(row["device"]) for row in placed).items(),
                                key=lambda item: (-item[1], item[0])):
        same = [row for row in placed if row["device"] == device]
        phrases.append(f"{count} {_plural(noun, count)} on {_gpus(device, same) if device.startswith('GPU: ') else device}")
    return "; ".join(phrases)


def _gpus(device: str, rows: list[Mapping[str, Any]]) -> str:
    """"4 x NVIDIA A10G, 4 a GPU": the distinct GPUs (node and device ids) and the share of one."""
    name = device.removeprefix("GPU: ")
    gpus = len({(row.get("device_node"), row.get("device_visible_ids")) for row in rows})
    shares = sorted({float(row.get("device_gpu_share") or 0.0) for row in rows})
    share = shares[0] if len(shares) == 1 else None
    if share is not None and 0 < share < 1:
        sharing = f", {round(1 / share):g} a GPU"
    elif share is not None and share >= 1:
        sharing = f", {share:g} GPU(s) a trial" if share != 1 else ""
    else:
        sharing = ""
    return f"{gpus} x {name}{sharing}"


def _plural(noun: str, count: int) -> str:
    return noun if count == 1 else noun + "s"
