"""What a run prints at its start so a user can watch it: dashboard, TensorBoard, optuna-dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.reporting import dashboard_line, watch_lines


def test_the_dashboard_line_says_how_to_log_in_when_ray_asks_for_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    line = dashboard_line("127.0.0.1:8265")
    assert line.startswith("Ray dashboard:    http://127.0.0.1:8265 ")
    assert "`ray get-auth-token`" in line


def test_the_dashboard_line_is_the_address_alone_without_token_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert dashboard_line("127.0.0.1:8266") == "Ray dashboard:    http://127.0.0.1:8266"
    assert dashboard_line(None) is None and dashboard_line("") is None


def test_the_tensorboard_and_optuna_dashboard_commands_name_the_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "my run"
    tensorboard, optuna = watch_lines(run_dir)
    assert tensorboard == f"TensorBoard:      tensorboard --logdir '{run_dir}'"
    assert optuna == f"Optuna dashboard: optuna-dashboard 'sqlite:///{run_dir}/study.db'"
