"""CPU time from Linux's process accounting: /proc/stat for the machine, /proc/PID/stat for
each process of a command's tree (the command, Ray's own processes, the trial workers)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
WORKER, RAY = "worker", "ray"
IDLE_TITLES = ("ray::IDLE",)


def parse_machine_stat(text: str) -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat's ``cpu`` line.

    Total is user + nice + system + idle + iowait + irq + softirq + steal (guest time is
    already inside user); busy is total minus idle and iowait.
    """
    for line in text.splitlines():
        if line.startswith("cpu "):
            ticks = [int(value) for value in line.split()[1:9]]
            ticks += [0] * (8 - len(ticks))
            total = sum(ticks)
            busy = total - ticks[3] - ticks[4]
            return busy / CLOCK_TICKS, total / CLOCK_TICKS
    raise ValueError("/proc/stat has no 'cpu' line")


def parse_process_stat(text: str) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) from one /proc/PID/stat line. The command name
    (field 2) may hold spaces and parentheses, so fields are counted after the last ')'."""
    after = text[text.rindex(")") + 2:].split()
    # after[0] is field 3 (state): ppid is field 4, utime field 14, stime field 15.
    return int(after[1]), (int(after[11]) + int(after[12])) / CLOCK_TICKS


# Ray's own agents also title themselves ``ray::…``: they are not workers.
RAY_OWN_TITLES = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def classify(cmdline: str) -> str:
    """A Ray worker process (titled ``ray::…`` by Ray, or running default_worker.py) is a
    worker; any other process of the tree is Ray's own (raylet, GCS, dashboard and its
    agents) or the driver, unless it descends from a worker (``TreeAccount.owner``)."""
    title = cmdline.split(maxsplit=1)[0] if cmdline else ""
    if title in RAY_OWN_TITLES:
        return RAY
    if title.startswith("ray::") or "default_worker.py" in cmdline:
        return WORKER
    return RAY


def machine_seconds() -> tuple[float, float]:
    return parse_machine_stat(Path("/proc/stat").read_text())


def process_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds, command line) for every process still readable."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid, seconds = parse_process_stat((entry / "stat").read_text())
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue  # Ended while being read.
        table[int(entry.name)] = (ppid, seconds, cmdline)
    return table


def descendants(root: int, table: dict[int, tuple[int, float, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found & (set(table) | {root})


@dataclass
class TreeAccount:
    """CPU seconds a process tree spent since the first ``sample``: a process seen at the
    first sample counts from its time then, one born later from zero, one that ended keeps
    what it had at its last sample (sample often: what it spent after is lost).

    Every process is classified once the sampling is over, by everything seen of it: a worker
    is a trial worker once its title has been anything but idle. So the CPU time of a worker
    that was idle and then ran a trial counts as a trial worker's at every sample.

    A process a worker started counts as that worker's: a trial trains in a child process of
    its Ray worker (``python -m mnist_models._training_child``), and that CPU time is the
    trial's, not Ray's."""

    root: int
    first: dict[int, float] = field(default_factory=dict)
    history: list[dict[int, float]] = field(default_factory=list)
    kind: dict[int, str] = field(default_factory=dict)
    titles: dict[int, set[str]] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)  # as first seen: an orphan keeps its worker

    def sample(self, table: dict[int, tuple[int, float, str]] | None = None) -> None:
        table = process_table() if table is None else table
        spent = dict(self.history[-1]) if self.history else {}
        for pid in descendants(self.root, table):
            if pid not in table:
                continue
            ppid, seconds, cmdline = table[pid]
            self.parent.setdefault(pid, ppid)
            if pid not in self.first:
                self.first[pid] = seconds if not self.history else 0.0
            spent[pid] = seconds - self.first[pid]
            self.kind[pid] = WORKER if self.kind.get(pid) == WORKER else classify(cmdline)
            if self.kind[pid] == WORKER and cmdline.startswith("ray::"):
                self.titles.setdefault(pid, set()).add(cmdline.split()[0])
        self.history.append(spent)

    def is_trial_worker(self, pid: int) -> bool:
        return self.kind.get(pid) == WORKER and any(title not in IDLE_TITLES for title in self.titles.get(pid, ()))

    def owner(self, pid: int) -> int:
        """The nearest worker among ``pid`` and its ancestors, or ``pid`` itself when none is a
        worker: the process whose kind ``pid``'s CPU time counts under."""
        seen, current = set(), pid
        while current in self.kind and current not in seen:
            if self.kind[current] == WORKER:
                return current
            seen.add(current)
            current = self.parent.get(current, -1)
        return pid

    def totals(self, index: int = -1) -> dict[str, float]:
        """CPU seconds, up to sample ``index``, of trial workers (with the processes they
        started), idle workers and the rest of the tree (Ray and the driver)."""
        totals = {"trial_workers_s": 0.0, "idle_workers_s": 0.0, "ray_and_driver_s": 0.0}
        for pid, seconds in (self.history[index] if self.history else {}).items():
            owner = self.owner(pid)
            if self.is_trial_worker(owner):
                totals["trial_workers_s"] += seconds
            elif self.kind[owner] == WORKER:
                totals["idle_workers_s"] += seconds
            else:
                totals["ray_and_driver_s"] += seconds
        return totals
