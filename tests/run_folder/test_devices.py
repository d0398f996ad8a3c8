"""Where trials and jobs trained: the device columns and the sentence that sums them up."""

from __future__ import annotations

from types import SimpleNamespace

from search.run_folder import DEVICE_COLUMNS, device_columns, where_trained


def gpu_row(node: str, ids: str, share: float = 0.25) -> dict:
    return {"device": "GPU: NVIDIA A10G", "device_node": node, "device_visible_ids": ids, "device_gpu_share": share}


def test_trials_on_four_shared_gpus_are_summed_up_by_gpu_and_share() -> None:
    rows = [gpu_row(f"node{index % 4}", "0") for index in range(52)]
    assert where_trained(rows, noun="trial") == "52 trials on 4 x NVIDIA A10G, 4 a GPU"


def test_cpu_runs_say_cpu() -> None:
    rows = [{"device": "CPU", "device_node": "laptop"}] * 6
    assert where_trained(rows, noun="job") == "6 jobs on CPU"
    assert where_trained(rows[:1], noun="trial") == "1 trial on CPU"


def test_rows_without_a_device_are_not_recorded_and_mixed_devices_are_listed_apart() -> None:
    assert where_trained([{"device": None}, {}], noun="trial") is None
    rows = [gpu_row("a", "0", 1.0), gpu_row("a", "1", 1.0), {"device": "CPU"}]
    assert where_trained(rows, noun="trial") == "2 trials on 2 x NVIDIA A10G; 1 trial on CPU"


def test_a_placement_becomes_the_device_columns_and_a_tests_logical_gpu_says_so() -> None:
    placement = SimpleNamespace(backend="jax", device="GPU: NVIDIA H100", devices_seen=["NVIDIA H100"],
                                visible_ids="1", gpu_share=0.5, node="n1", test_seam=False)
    assert device_columns(placement) == {"device_backend": "jax", "device": "GPU: NVIDIA H100",
                                         "device_seen": "NVIDIA H100", "device_visible_ids": "1",
                                         "device_gpu_share": 0.5, "device_node": "n1"}
    seam = SimpleNamespace(**{**vars(placement), "device": "CPU", "devices_seen": [], "test_seam": True})
    assert device_columns(seam)["device"] == "CPU (a test's logical GPU)" and device_columns(seam)["device_seen"] == "CPU"
    assert device_columns(None) == dict.fromkeys(DEVICE_COLUMNS)
