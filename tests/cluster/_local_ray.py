"""Ray nodes started the way a user starts them, `ray start`, on this machine, for the e2e
tests, and stopped again without touching any other Ray on the machine.

Each node is one `ray start --block` process in a session (process group) of its own; its
Ray processes (GCS, raylet, dashboard, the workers) are its descendants. ``stop`` ends the
processes of these nodes only, by their ids: never `ray stop`, which stops every Ray of the
machine. Every port is a free one, the Ray temporary folder is the test's own, and HOME is a
folder of the test's, so the token that `ray get-auth-token --generate` writes to
``~/.ray/auth_token`` is this cluster's alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import PYTHON

RAY = str(Path(PYTHON).with_name("ray"))
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalRay:
    """A Ray cluster of `ray start` nodes; ``env`` is the environment of every command."""

    def __init__(self, folder: Path, *, token_auth: bool) -> None:
        self.folder = folder
        self.home = folder / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.temp_dir = Path(f"/tmp/ray-{os.getpid()}-{free_port()}")  # short: socket paths have a length limit
        self.env = {**os.environ, "HOME": str(self.home), "PATH": f"{Path(PYTHON).parent}:{os.environ['PATH']}",
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)
        self.env.pop("RAY_AUTH_MODE", None)
        self.token_auth = token_auth
        self.nodes: list[subprocess.Popen] = []
        self.gcs_port = free_port()
        self.dashboard_port = free_port()
        if token_auth:
            # As a user does once: a token in ~/.ray/auth_token; then every Ray command that
            # talks to the cluster runs with RAY_AUTH_MODE=token.
            self.ray("get-auth-token", "--generate", check=True)
            self.env["RAY_AUTH_MODE"] = "token"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def ray(self, *arguments: str, check: bool = False, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """A `ray` command in this cluster's environment (``env`` replaces it)."""
        return subprocess.run([RAY, *arguments], env=self.env if env is None else env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, check=check)

    def start_head(self, *, num_cpus: int, num_gpus: int = 0, dashboard: bool = False,
                   env: dict | None = None) -> None:
        arguments = ["--head", f"--port={self.gcs_port}", f"--num-cpus={num_cpus}", f"--num-gpus={num_gpus}",
                     f"--temp-dir={self.temp_dir}", f"--ray-client-server-port={free_port()}",
                     f"--include-dashboard={str(dashboard).lower()}"]
        if dashboard:
            arguments += [f"--dashboard-port={self.dashboard_port}", "--dashboard-host=127.0.0.1"]
        self._start(arguments, "head", env)

    def add_node(self, *, num_cpus: int, num_gpus: int = 0, env: dict | None = None) -> None:
        """A worker node; ``env`` is added to the cluster's environment for its processes."""
        self._start([f"--address={self.address}", f"--num-cpus={num_cpus}", f"--num-gpus={num_gpus}"],
                    f"node{len(self.nodes)}", {**self.env, **(env or {})})

    def _start(self, arguments: list[str], name: str, env: dict | None) -> None:
        log = self.folder / f"{name}.log"
        with log.open("w") as output:
            node = subprocess.Popen([RAY, "start", "--block", *arguments, f"--dashboard-agent-listen-port={free_port()}",
                                     "--disable-usage-stats"], env=self.env if env is None else env,
                                    stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(node)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ray runtime started" not in log.read_text():
            if node.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`ray start` of {name} failed:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """End every process of these nodes (SIGTERM, then SIGKILL after a few seconds)."""
        pids = {pid for node in self.nodes for pid in [node.pid, *_descendants(node.pid)]}
        for sig, grace_s in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            for node in self.nodes:
                _signal_group(node.pid, sig)
            for pid in pids:
                _signal(pid, sig)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
                for node in self.nodes:
                    node.poll()
                time.sleep(0.2)
        for node in self.nodes:
            node.wait(timeout=5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
