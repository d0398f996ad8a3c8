"""Where a run's folder lives: a folder, a shared file system, or a storage URI.

URIs are exercised offline: ``file://`` through pyarrow's local file system, and an object
store stood in for by fsspec's in-memory file system.
"""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pyarrow as pa
import pytest
from pyarrow.fs import FSSpecHandler, PyFileSystem

import search.run_folder._storage as storage
from search.cli import UsageError, check_results_folder
from search.run import main
from search.run_folder import write_json, write_parquet
from search.run_folder._storage import (
    StorageError,
    check_run_uri,
    is_shared_path,
    is_uri,
    join_uri,
    local_results_note,
    mirror,
    mirrored_uri,
    pull_folder,
    push_folder,
    put_bytes,
    run_uri,
    staging_folder,
)

MOUNTS = """\
overlay / overlay rw,relatime 0 0
tmpfs /tmp tmpfs rw 0 0
fs-0123.efs.us-west-2.amazonaws.com:/ /mnt/efs nfs4 rw,vers=4.1 0 0
/dev/nvme1n1 /mnt/efs/local-cache ext4 rw 0 0
"""


@pytest.fixture(autouse=True)
def private_staging(monkeypatch, tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    monkeypatch.setenv(storage.STAGING_ENV, str(root))
    yield root
    storage._MIRRORS.clear()


@pytest.fixture
def memory_store(monkeypatch) -> PyFileSystem:
    """``mem://bucket/...`` URIs served by an in-memory file system (an object store's stand-in)."""
    fs = PyFileSystem(FSSpecHandler(fsspec.filesystem("memory")))
    fs.delete_dir_contents("/", accept_root_dir=True, missing_dir_ok=True)
    monkeypatch.setattr(storage, "filesystem", lambda uri: (fs, "/" + uri.split("://", 1)[1]))
    return fs


@pytest.mark.parametrize("results, expected", [
    ("s3://bucket/runs", True), ("gs://bucket", True), ("file:///srv/runs", True),
    ("results", False), ("/mnt/efs/runs", False), ("./s3:/x", False), ("C:/runs", False),
])
def test_a_storage_uri_is_told_from_a_folder_path(results: str, expected: bool) -> None:
    assert is_uri(results) is expected


def test_the_run_uri_is_the_results_uri_and_the_name() -> None:
    assert run_uri("s3://bucket/runs/", "cnn-1") == "s3://bucket/runs/cnn-1"
    assert join_uri("s3://bucket/runs?region=us-west-2", "cnn-1", "run.json") == "s3://bucket/runs/cnn-1/run.json?region=us-west-2"
    assert run_uri("results", "cnn-1") is None


def test_the_staging_folder_is_fixed_by_the_uri_and_the_name(private_staging: Path) -> None:
    folder = staging_folder("s3://bucket/runs", "cnn-1")
    assert folder == staging_folder("s3://bucket/runs", "cnn-1")
    assert folder.name == "cnn-1" and private_staging in folder.parents
    assert staging_folder("s3://bucket/other", "cnn-1") != folder
    assert staging_folder("gs://bucket/runs", "cnn-1") != folder


def test_a_uri_run_that_exists_is_refused(tmp_path: Path) -> None:
    (tmp_path / "runs" / "cnn-1").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"run 'cnn-1' already exists in 'file://.*/runs': pick another --name"):
        check_results_folder(f"file://{tmp_path}/runs", "cnn-1")


def test_a_free_uri_run_gives_its_staging_folder_and_changes_nothing(tmp_path: Path) -> None:
    run_dir = check_results_folder(f"file://{tmp_path}/runs", "cnn-1")
    assert run_dir == staging_folder(f"file://{tmp_path}/runs", "cnn-1")
    assert not run_dir.exists()
    assert not (tmp_path / "runs").exists(), "the check creates nothing"


@pytest.mark.parametrize("uri, message", [
    ("nosuch://bucket/runs", r"--results 'nosuch://bucket/runs' cannot be used \(Unrecognized filesystem type"),
    ("file:///{tmp}/a-file/runs", r"is a file, not a folder"),
])
def test_a_uri_that_cannot_work_is_refused_before_anything_starts(tmp_path: Path, uri: str, message: str) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UsageError, match=message):
        check_results_folder(uri.format(tmp=str(tmp_path).lstrip("/")), "cnn-1")


class _ReadOnlyStore(FSSpecHandler):
    def open_output_stream(self, path, metadata):
        raise PermissionError(f"AWS Error ACCESS_DENIED during PutObject operation: {path}")


class _UnreadableStore(FSSpecHandler):
    def get_file_info(self, paths):
        raise PermissionError("AWS Error ACCESS_DENIED during HeadObject operation")


def test_a_store_that_cannot_be_read_is_refused_and_names_the_credentials(monkeypatch) -> None:
    unreadable = PyFileSystem(_UnreadableStore(fsspec.filesystem("memory")))
    monkeypatch.setattr(storage, "filesystem", lambda uri: (unreadable, "/bucket/runs"))
    with pytest.raises(StorageError, match=r"^--results 's3://bucket/runs' cannot be read \(AWS Error ACCESS_DENIED "
                                           r"during HeadObject operation\): check the URI and this machine's "
                                           r"credentials$"):
        check_run_uri("s3://bucket/runs", "cnn-1")


def test_an_unwritable_store_is_refused(monkeypatch) -> None:
    read_only = PyFileSystem(_ReadOnlyStore(fsspec.filesystem("memory")))
    monkeypatch.setattr(storage, "filesystem", lambda uri: (read_only, "/bucket/runs"))
    with pytest.raises(StorageError, match=r"cannot be written \(AWS Error ACCESS_DENIED"):
        check_run_uri("mem://bucket/runs", "cnn-1")


def test_files_written_in_a_mirrored_folder_reach_the_uri_at_once(tmp_path: Path) -> None:
    local, remote = tmp_path / "staging" / "cnn-1", tmp_path / "remote" / "cnn-1"
    mirror(local, f"file://{remote}", fresh=True)
    write_json(local / "run.json", {"state": "running"})
    write_parquet(local / "trials.parquet", pa.table({"trial_id": ["a", "b"]}))
    assert json.loads((remote / "run.json").read_text()) == {"state": "running"}
    assert (remote / "trials.parquet").read_bytes() == (local / "trials.parquet").read_bytes()
    assert sorted(path.name for path in remote.iterdir()) == ["run.json", "trials.parquet"], "no temporary file left"
    storage.forget(local)
    write_json(local / "run.json", {"state": "finished"})
    assert json.loads((remote / "run.json").read_text()) == {"state": "running"}, "forgotten: no longer mirrored"


def test_a_failed_upload_keeps_the_local_file_and_says_so_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    local = tmp_path / "staging" / "cnn-1"
    mirror(local, "s3://bucket/runs/cnn-1", fresh=True)

    def unreachable(fs, path, payload):
        raise OSError("AWS Error NETWORK_CONNECTION during PutObject operation: curlCode: 6")

    monkeypatch.setattr(storage, "filesystem", lambda uri: (None, uri))
    monkeypatch.setattr(storage, "put_bytes", unreachable)
    write_json(local / "run.json", {"state": "running"})
    assert json.loads((local / "run.json").read_text()) == {"state": "running"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not upload run.json to s3://bucket/runs/cnn-1/run.json" in err


def test_a_fresh_run_clears_a_leftover_staging_folder(tmp_path: Path) -> None:
    local = tmp_path / "staging" / "cnn-1"
    (local / "tensorboard").mkdir(parents=True)
    (local / "study.db").write_bytes(b"old")
    mirror(local, f"file://{tmp_path}/remote/cnn-1", fresh=True)
    assert not local.exists()
    assert mirrored_uri(local / "run.json") == f"file://{tmp_path}/remote/cnn-1/run.json"
    assert mirrored_uri(tmp_path / "elsewhere.json") is None


def test_an_object_store_gets_the_whole_file_in_one_put(memory_store) -> None:
    put_bytes(memory_store, "/bucket/runs/cnn-1/run.json", b'{"state": "running"}')
    put_bytes(memory_store, "/bucket/runs/cnn-1/run.json", b'{"state": "finished"}')
    with memory_store.open_input_stream("/bucket/runs/cnn-1/run.json") as stream:
        assert stream.read() == b'{"state": "finished"}'
    listed = memory_store.get_file_info(storage.pafs.FileSelector("/bucket", recursive=True))
    assert [info.base_name for info in listed if info.is_file] == ["run.json"]


def test_the_whole_folder_goes_up_at_the_end_but_tunes_own_folder(tmp_path: Path, memory_store) -> None:
    local = tmp_path / "staging" / "cnn-1"
    mirror(local, "mem://bucket/runs/cnn-1", fresh=True)
    (local / "tensorboard" / "trial-a").mkdir(parents=True)
    (local / "tensorboard" / "trial-a" / "events.out").write_bytes(b"curve")
    (local / "study.db").write_bytes(b"SQLite format 3\0")
    (local / "tune").mkdir()
    (local / "tune" / "experiment_state.json").write_text("{}")
    (local / ".run.json.x.tmp").write_text("half")
    assert push_folder(local) == 2
    back = tmp_path / "pulled"
    assert pull_folder("mem://bucket/runs/cnn-1", back) == 2
    assert (back / "study.db").read_bytes() == b"SQLite format 3\0"
    assert (back / "tensorboard" / "trial-a" / "events.out").read_bytes() == b"curve"
    assert not (back / "tune").exists()


def test_a_folder_not_mirrored_is_not_pushed(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    assert push_folder(tmp_path) == 0


@pytest.mark.parametrize("path, shared", [
    ("/mnt/efs/runs", True), ("/mnt/efs", True), ("/mnt/efs/local-cache/runs", False),
    ("/tmp/runs", False), ("/home/ubuntu/results", False), ("/mnt/efsx", False),
])
def test_a_shared_file_system_is_told_by_its_mount(path: str, shared: bool) -> None:
    assert is_shared_path(Path(path), MOUNTS) is shared


def test_a_local_results_folder_on_several_nodes_gets_one_line() -> None:
    note = local_results_note("results", nodes=3, host="head-1", cwd="/home/ubuntu/mnist-search", mounts=MOUNTS)
    assert note is not None and "\n" not in note
    assert "--results 'results' is a local folder: with 3 nodes" in note and "(head-1)" in note
    assert "s3://" in note and "shared file system" in note


@pytest.mark.parametrize("results, nodes, cwd", [
    ("results", 1, "/home/ubuntu/mnist-search"),  # one node: nothing to say
    ("s3://bucket/runs", 3, "/home/ubuntu"),  # a URI reaches every node
    ("/mnt/efs/runs", 3, "/home/ubuntu"),  # a shared file system too
    ("runs", 3, "/mnt/efs"),  # relative, but inside the shared mount
])
def test_results_every_node_reaches_get_no_note(results: str, nodes: int, cwd: str) -> None:
    assert local_results_note(results, nodes=nodes, host="head-1", cwd=cwd, mounts=MOUNTS) is None


def test_a_relative_folder_inside_a_ray_job_is_called_out() -> None:
    cwd = "/tmp/ray/session_2026/runtime_resources/working_dir_files/_ray_pkg_0123"
    note = local_results_note("results", nodes=2, host="head-1", cwd=cwd, mounts=MOUNTS)
    assert note is not None and "temporary working directory" in note


def test_resuming_a_run_a_uri_does_not_hold_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["--resume", "nothing-here", "--results", f"file://{tmp_path}/runs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"there is no run of that name in 'file://{tmp_path}/runs'" in err
    assert not (tmp_path / "runs").exists()


def test_resuming_a_uri_run_reads_its_files_back_from_the_uri(tmp_path: Path, capsys, private_staging: Path) -> None:
    remote = tmp_path / "runs" / "cnn-run"
    remote.mkdir(parents=True)
    (remote / "run.json").write_text(json.dumps({"argv": ["--space", "cnn"], "state": "interrupted"}))
    assert main(["--resume", "cnn-run", "--results", f"file://{tmp_path}/runs"]) == 2
    assert "the run stopped before Tune saved any state" in capsys.readouterr().err
    pulled = staging_folder(f"file://{tmp_path}/runs", "cnn-run") / "run.json"
    assert json.loads(pulled.read_text())["state"] == "interrupted"
    assert sorted(path.name for path in remote.iterdir()) == ["run.json"], "the URI is left as it was"
