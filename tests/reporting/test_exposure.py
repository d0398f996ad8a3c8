"""Nothing exposed: reading a results folder never unpickles or executes what it holds."""

from __future__ import annotations

import ast
import pickle
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, PYTHON
from tests.reporting.test_report import make_run_folder

# Every module that reads a results folder: the commands that read one, and the parts they use.
READERS = sorted(str(path.relative_to(PROJECT_ROOT)) for folder in ("reporting", "verdict", "run_folder")
                 for path in (PROJECT_ROOT / "search" / folder).glob("*.py")) + [
    "search/report.py", "search/runs.py", "search/confirmation/_notebook_cache.py"]


class _Trap:
    """Unpickling this object writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


def _plant_pickles(run_dir: Path, marker: Path) -> None:
    payload = pickle.dumps(_Trap(marker))
    for name in ("tuner.pkl", "searcher-state.pkl", "confirm.pkl"):
        (run_dir / name).write_bytes(payload)
    tune = run_dir / "tune"
    tune.mkdir(exist_ok=True)
    (tune / "tuner.pkl").write_bytes(payload)


@pytest.mark.parametrize("module", READERS)
def test_readers_of_a_results_folder_import_no_pickle_and_execute_nothing(module: str) -> None:
    tree = ast.parse((PROJECT_ROOT / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            assert not any(name.split(".")[0] in ("pickle", "cloudpickle", "dill", "joblib") for name in names), module
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("eval", "exec"), module
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            assert isinstance(node.value, ast.Constant) and node.value.value is False, module


def test_rendering_the_report_and_listing_runs_never_unpickle_planted_files(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run_dir = make_run_folder(results / "planted")
    marker = tmp_path / "marker.txt"
    _plant_pickles(run_dir, marker)
    report = subprocess.run([PYTHON, "-m", "search.report", str(run_dir)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    runs = subprocess.run([PYTHON, "-m", "search.runs", "--results", str(results)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert runs.returncode == 0, runs.stderr
    assert "fixture" in runs.stdout and "finished" in runs.stdout
    assert not marker.exists()
