"""Where a run's folder lives: a local folder, a shared file system, or a storage URI.

``--results`` is a folder path (on one machine, or a shared file system mounted at the same
path on every node) or a URI that ``pyarrow.fs`` understands: ``s3://bucket/prefix``,
``gs://bucket/prefix``, ``file:///absolute/path``. Who writes what, in Ray 2.60:

- Tune's folder ``tune/`` goes to ``RunConfig(storage_path=...)``, which takes the same URI.
  The Tune driver stages the experiment state and every trial's logs (``result.json``,
  ``progress.csv``, TensorBoard events) in a local folder and syncs them up; the trials'
  metrics reach the driver over Ray, not through the storage. Worker nodes write to the
  storage path only checkpoints and artifacts (``ray/train/_internal/storage.py``:
  ``persist_current_checkpoint``, ``persist_artifacts``), and this service's trials save
  neither. So on several nodes a local path still gets every result, but on the driver's
  machine only (:func:`local_results_note` says so).
- Our own files (``run.json``, ``trials.parquet``, ``study.db``, the confirmation and the
  report) are written by the driver into a local folder, atomically. For a URI that folder
  is a staging copy (:func:`staging_folder`) mirrored to the URI: each file written through
  ``search.run_folder.atomic_write_bytes`` is uploaded as soon as it is written
  (:func:`mirror_file`), and :func:`push_folder` uploads the whole folder (the SQLite study,
  which needs a local file, included) when the run ends.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import sys
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from search._text import first_line
from search.run_folder._layout import TUNE_FOLDER, TUNE_RESULT_FILE

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
STAGING_ENV = "MNIST_SEARCH_STAGING"
# File systems that several machines mount at one path (EFS is nfs4; FSx is lustre).
SHARED_FS_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "ceph", "glusterfs", "beegfs",
    "fuse.glusterfs", "fuse.gcsfuse", "fuse.s3fs", "fuse.juicefs", "fuse.sshfs", "fuse.ceph",
})
TUNE_EXCLUDED = (TUNE_FOLDER,)  # Tune writes its own folder straight to the URI

# Local staging folder of a run -> the URI of the run's folder (filled by ``mirror``).
_MIRRORS: dict[Path, str] = {}


class StorageError(ValueError):
    """A ``--results`` URI that cannot be used; the message names it, the rule and the fix."""


def is_uri(results: str) -> bool:
    """True for ``scheme://...`` (s3, gs, file, ...); False for a folder path."""
    return bool(SCHEME.match(results))


def join_uri(base: str, *names: str) -> str:
    """``s3://bucket/prefix`` + ``name`` -> ``s3://bucket/prefix/name`` (a query string stays last)."""
    head, question, query = base.partition("?")
    return posixpath.join(head.rstrip("/"), *names) + question + query


def run_uri(results: str, name: str) -> str | None:
    """The URI of run ``name`` when ``--results`` is a URI, else None (a folder path)."""
    return join_uri(results, name) if is_uri(results) else None


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """``pyarrow.fs.FileSystem.from_uri``, with one clear error for an unknown scheme or an
    unreachable store (for s3:// it asks the bucket for its region)."""
    try:
        return pafs.FileSystem.from_uri(uri)
    except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise StorageError(
            f"--results {uri!r} cannot be used ({first_line(error)}): give a folder path, or an "
            f"s3://, gs:// or file:// URI that this machine can reach (see docs/CLUSTER.md)"
        ) from error


def staging_folder(uri: str, name: str) -> Path:
    """The local folder where the driver writes run ``name`` of ``uri`` before uploading it.

    The same URI and name always give the same folder, so a resumed run finds its study
    (Tune's saved searcher points at the SQLite file by its path). ``MNIST_SEARCH_STAGING``
    moves the root (default ``~/.cache/mnist-search/staging``).
    """
    root = Path(os.environ.get(STAGING_ENV) or Path.home() / ".cache" / "mnist-search" / "staging")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", SCHEME.sub("", uri)).strip("_")[:80] or "results"
    digest = hashlib.sha256(uri.encode()).hexdigest()[:10]
    return root.expanduser() / f"{readable}-{digest}" / name


def check_run_uri(uri: str, name: str) -> None:
    """Refuse a run name that exists at ``uri``, or a ``uri`` this machine cannot write to.

    Writes one probe file (and removes it), so credentials and permissions fail here,
    before Ray starts, rather than after the search.
    """
    fs, base = filesystem(uri)
    run_path = posixpath.join(base, name)
    try:
        exists = fs.get_file_info(run_path).type != pafs.FileType.NotFound
    except OSError as error:
        raise StorageError(f"--results {uri!r} cannot be read ({first_line(error)}): check the URI "
                           f"and this machine's credentials") from error
    if exists:
        raise StorageError(f"run {name!r} already exists in {uri!r}: pick another --name, or continue it "
                           f"with --resume {name} (nothing was changed)")
    probe_dir = _nearest_existing_dir(fs, base) if fs.type_name == "local" else base
    probe = posixpath.join(probe_dir, f".mnist-search-probe-{uuid.uuid4().hex}")
    try:
        with fs.open_output_stream(probe) as stream:
            stream.write(b"")
        fs.delete_file(probe)
    except OSError as error:
        raise StorageError(f"--results {uri!r} cannot be written ({first_line(error)}): check the URI "
                           f"and that this machine (and every node) may write there") from error


def _nearest_existing_dir(fs: pafs.FileSystem, path: str) -> str:
    while fs.get_file_info(path).type == pafs.FileType.NotFound and posixpath.dirname(path) != path:
        path = posixpath.dirname(path)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        raise StorageError(f"{path!r} is a file, not a folder: give a folder URI")
    return path


def mirror(local: Path, uri: str, *, fresh: bool) -> None:
    """From now on, files written under ``local`` by :func:`mirror_file` also go to ``uri``.

    For a ``fresh`` run (whose name :func:`check_run_uri` found free at the URI) a leftover
    staging folder, from an earlier attempt that never reached the URI, is cleared first.
    """
    local = Path(local)
    if fresh and local.exists():
        shutil.rmtree(local)
    _MIRRORS[local.resolve()] = uri


def forget(local: Path) -> None:
    _MIRRORS.pop(Path(local).resolve(), None)


def mirrored_uri(path: Path) -> str | None:
    """The URI that the local file or folder ``path`` is mirrored to, or None."""
    path = Path(path).resolve()
    for root, uri in _MIRRORS.items():
        if path == root or root in path.parents:
            return join_uri(uri, *path.relative_to(root).parts)
    return None


def where(run_dir: Path) -> str:
    """Where a user finds the run: the URI when the folder is mirrored, else the folder."""
    return mirrored_uri(run_dir) or str(run_dir)


def mirror_file(path: Path, payload: bytes) -> None:
    """Upload ``payload`` (just written to ``path``) to ``path``'s URI, if it is mirrored.

    A failed upload (a network glitch) does not stop the run: it says so in one line, the
    local copy is whole, and :func:`push_folder` uploads everything again at the end.
    """
    uri = mirrored_uri(path)
    if uri is None:
        return
    try:
        fs, remote = filesystem(uri)
        put_bytes(fs, remote, payload)
    except (OSError, StorageError) as error:
        print(f"search.run: warning: could not upload {path.name} to {uri} ({first_line(error)}); "
              f"it is kept in {path.parent} and uploaded again when the run ends", file=sys.stderr, flush=True)


def put_bytes(fs: pafs.FileSystem, path: str, payload: bytes) -> None:
    """Write a whole file so that a reader sees the old version or the new one, never a part.

    An object store (S3, GCS) publishes an object only when its upload completes; a file
    system gets a temporary file beside the target, renamed into place.
    """
    parent = posixpath.dirname(path)
    fs.create_dir(parent, recursive=True)
    if fs.type_name != "local":
        with fs.open_output_stream(path) as stream:
            stream.write(payload)
        return
    temporary = posixpath.join(parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with fs.open_output_stream(temporary) as stream:
            stream.write(payload)
        fs.move(temporary, path)
    except BaseException:
        if fs.get_file_info(temporary).type != pafs.FileType.NotFound:
            fs.delete_file(temporary)
        raise


def push_folder(local: Path, *, exclude: tuple[str, ...] = TUNE_EXCLUDED) -> int:
    """Upload every file under the mirrored folder ``local`` (but ``exclude``d top-level
    entries) to its URI; returns how many files. Does nothing for a folder not mirrored."""
    local = Path(local)
    uri = mirrored_uri(local)
    if uri is None or not local.is_dir():
        return 0
    fs, base = filesystem(uri)
    count = 0
    for path in sorted(local.rglob("*")):
        relative = path.relative_to(local)
        if not path.is_file() or relative.parts[0] in exclude or path.name.endswith(".tmp"):
            continue
        put_bytes(fs, posixpath.join(base, *relative.parts), path.read_bytes())
        count += 1
    return count


def pull_folder(uri: str, local: Path, *, exclude: tuple[str, ...] = TUNE_EXCLUDED) -> int:
    """Download every file of the folder at ``uri`` (but ``exclude``d top-level entries) into
    ``local``, each written atomically; returns how many files."""
    fs, base = filesystem(uri)
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    count = 0
    for info in fs.get_file_info(selector):
        relative = posixpath.relpath(info.path, base)
        if info.type != pafs.FileType.File or relative.split("/")[0] in exclude:
            continue
        _download(fs, info.path, Path(local, *relative.split("/")))
        count += 1
    return count


def _download(fs: pafs.FileSystem, path: str, target: Path) -> None:
    """Copy the file ``path`` of ``fs`` to the local ``target``, written atomically."""
    with fs.open_input_stream(path) as stream:
        payload = stream.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, target)


def pull_files(uri: str, local: Path, names: tuple[str, ...], *, results_named: str | None = None) -> int:
    """Download the files ``names`` (paths relative to the folder at ``uri``; those missing
    are skipped) into ``local``; with ``results_named``, also every ``*/result.json`` under the
    sub-folder of that name (Tune's per-trial results). Returns how many files."""
    fs, base = filesystem(uri)
    wanted = [posixpath.join(base, name) for name in names]
    if results_named is not None:
        selector = pafs.FileSelector(posixpath.join(base, results_named), recursive=True, allow_not_found=True)
        wanted += [info.path for info in fs.get_file_info(selector)
                   if info.type == pafs.FileType.File and posixpath.basename(info.path) == TUNE_RESULT_FILE]
    found = [info.path for info in fs.get_file_info(wanted) if info.type == pafs.FileType.File]
    for path in found:
        _download(fs, path, Path(local, *posixpath.relpath(path, base).split("/")))
    return len(found)


def folder_names_at(uri: str) -> list[str]:
    """The names of the folders directly inside the folder at ``uri`` (none where an object
    store has nothing under that prefix; a missing local folder is an error)."""
    fs, base = filesystem(uri)
    try:
        if fs.type_name == "local" and fs.get_file_info(base).type != pafs.FileType.Directory:
            raise StorageError(f"--results {uri!r} is not a folder: give the URI that search.run wrote its "
                               f"runs into")
        infos = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    except OSError as error:
        raise StorageError(f"--results {uri!r} cannot be read ({first_line(error)}): check the URI "
                           f"and this machine's credentials") from error
    return sorted(posixpath.basename(info.path) for info in infos if info.type == pafs.FileType.Directory)


def is_shared_path(path: Path, mounts: str | None = None) -> bool:
    """Whether ``path`` lies on a network file system (NFS/EFS, Lustre/FSx, CIFS, ...), by
    the longest mount point in ``/proc/mounts`` (or ``mounts``, its text) above it."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return False
    path = Path(os.path.abspath(path))
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (path == Path(point) or Path(point) in path.parents) and len(point) > len(best):
            best, best_type = point, fields[2]
    return best_type in SHARED_FS_TYPES


def local_results_note(results: str, *, nodes: int, host: str, cwd: str | None = None,
                       mounts: str | None = None) -> str | None:
    """One line for a local ``--results`` on a cluster of several nodes, or None when all is well.

    It works (the driver gathers every trial's results, see the module's docstring) but
    the files stay on the driver's machine; a relative path inside a ``ray job submit
    --working-dir`` job even lands in a folder that Ray deletes later.
    """
    if is_uri(results) or nodes <= 1:
        return None
    cwd = cwd or os.getcwd()
    given = Path(results).expanduser()
    if is_shared_path(Path(cwd, given), mounts):  # Path(cwd, absolute) is the absolute path
        return None
    if not given.is_absolute() and "/runtime_resources/" in cwd:
        return (f"--results {results!r} is relative to this Ray job's temporary working directory, which "
                f"Ray deletes later: give an s3:// or gs:// URI, a shared file system path, or an absolute path")
    return (f"--results {results!r} is a local folder: with {nodes} nodes, every result is gathered on "
            f"this driver's machine ({host}) only; fetch it from there (ray rsync-down), or give an "
            f"s3:// or gs:// URI or a shared file system path")

