"""The lines a run prints at its start, so a user can watch it with the tools they know:
the Ray dashboard, TensorBoard and optuna-dashboard. Light to import (no Ray)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from search.run_folder import STUDY_FILE
from search.study import study_url

AUTH_MODE_ENV = "RAY_AUTH_MODE"


def token_auth_enabled() -> bool:
    """Whether this driver's Ray cluster asks for a token. Ray 2.59+ turns token
    authentication on for a new local cluster unless RAY_AUTH_MODE says otherwise, and then
    sets RAY_AUTH_MODE=token in the driver's environment."""
    return os.environ.get(AUTH_MODE_ENV, "").strip().lower() == "token"


def dashboard_line(dashboard_url: str | None) -> str | None:
    """'Ray dashboard: http://127.0.0.1:8265 (…how to log in…)', or None without a dashboard."""
    if not dashboard_url:
        return None
    url = dashboard_url if "://" in dashboard_url else f"http://{dashboard_url}"
    if token_auth_enabled():
        return (f"Ray dashboard:    {url}  (it asks for this cluster's token: "
                f"`ray get-auth-token` prints it)")
    return f"Ray dashboard:    {url}"


def watch_lines(run_dir: Path) -> list[str]:
    """The TensorBoard and optuna-dashboard commands for the run in ``run_dir``."""
    run_dir = Path(run_dir).resolve()
    return [
        f"TensorBoard:      tensorboard --logdir {shlex.quote(str(run_dir))}",
        f"Optuna dashboard: optuna-dashboard {shlex.quote(study_url(run_dir / STUDY_FILE))}",
    ]
