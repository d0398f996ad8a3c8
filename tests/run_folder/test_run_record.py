"""What run.json says of its driver: running, or gone (killed, its machine lost)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from search.run_folder import RunRecord, driver_gone, driver_identity, seconds_since_heartbeat
from search.run_folder._run_record import HEARTBEAT_TIMEOUT_S

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def running(*, host: str, pid: int, beat_seconds_ago: float, state: str = "running") -> RunRecord:
    return RunRecord.from_json({"state": state, "driver": {"host": host, "pid": pid},
                                "heartbeat": (NOW - timedelta(seconds=beat_seconds_ago)).isoformat()})


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_driver_is_not_gone() -> None:
    me = driver_identity()
    assert me == {"host": socket.gethostname(), "pid": os.getpid()}
    assert not driver_gone(running(host=me["host"], pid=me["pid"], beat_seconds_ago=5), at=NOW)


def test_on_its_own_machine_a_driver_whose_process_ended_is_gone_at_once() -> None:
    assert driver_gone(running(host=socket.gethostname(), pid=dead_pid(), beat_seconds_ago=1), at=NOW)


def test_on_another_machine_a_driver_is_gone_once_its_heartbeat_is_old() -> None:
    assert not driver_gone(running(host="head-7", pid=12, beat_seconds_ago=HEARTBEAT_TIMEOUT_S - 1), at=NOW)
    assert driver_gone(running(host="head-7", pid=12, beat_seconds_ago=HEARTBEAT_TIMEOUT_S + 1), at=NOW)


def test_a_run_in_any_other_state_has_no_driver_to_lose() -> None:
    for state in ("finished", "interrupted", "failed"):
        assert not driver_gone(running(host="x", pid=dead_pid(), beat_seconds_ago=1e6, state=state), at=NOW)


def test_a_heartbeat_written_without_a_time_zone_is_read_as_utc() -> None:
    edited = RunRecord.from_json({"state": "running", "driver": {"host": "head-7", "pid": 12},
                                  "heartbeat": (NOW - timedelta(seconds=30)).replace(tzinfo=None).isoformat()})
    assert seconds_since_heartbeat(edited, at=NOW) == 30
    assert not driver_gone(edited, at=NOW)
