"""Result records: one JSON object per run, written durably, read forgivingly, with a declared schema.

Every study writes its runs through :func:`write_record` (one record per file, atomically) or
:func:`append_record` (``adlip run --out``), and every chapter reads them through
:func:`load_records` or :func:`records_frame`. :class:`Record` declares the fields a run record of
the sweeps carries; :func:`provenance` gives the fields every record of any study carries (adlip's
version and commit, the stack's versions, the machine, the time), so that a number can always be
traced to the code that made it.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

import numpy as np

import adlip

REPO_ROOT = Path(__file__).resolve().parent.parent


class Provenance(TypedDict):
    """Where a record comes from: carried by every record of every study."""

    adlip_version: str
    git_commit: str | None      # adlip's commit, "+dirty" if adlip/ had uncommitted changes
    python: str
    machine: str
    created: str                # UTC, ISO 8601


class Record(Provenance, total=False):
    """A run record of the sweeps (``adlip.experiments.run_one``; a failed run has the first block only)."""

    versions: dict              # tensorflow, tf-keras, deel-lip, numpy, scikit-learn (records since 2026-11)
    cpu: dict                   # model and vector instruction sets, see cpu() (records since 2026-11-27)
    run_id: str
    experiment: str | None
    profile: str
    algorithm: str              # a name of adlip.detectors.registry
    dataset: str
    normal_class: int
    lipschitz: float | None     # K, None for the standard model
    seed: int
    status: str                 # "ok" or "failed"
    error: str | None
    config: dict                # the RunConfig, enough to rerun it
    epochs: int
    budget: dict                # every resolved budget knob, in the thesis's units
    threads: dict | None
    auc: float
    train_seconds: float
    score_seconds: float
    n_train: int
    n_test: int
    data_fingerprint: str
    lip_lower_bound: float | None
    lip_sigma: float | None
    lip_round_maxima: list | None
    lip_pairs: int | None
    lip_gradient_ascent: float | None
    lip_seconds: float
    score_constant: float | None            # the certified score's L2 constant (records since 2026-11-26)
    certified_radius_median: float | None   # median L2 radius of the test images' certified decisions
    collapsed: bool | None
    history: dict               # per-epoch curves
    resumed: list               # stages an interrupted run reused (adlip.resume; records since 2026-11-27)
    profile_budget: dict
    detector_params: dict


REQUIRED_FIELDS = tuple(Provenance.__annotations__)


DEFAULT_RESULTS = "results"
PACKAGED_RESULTS = Path(__file__).resolve().parent / "_results"   # filled in by the package's build


def results_folder(results_dir=DEFAULT_RESULTS, *parts) -> Path:
    """The folder ``results_dir/<parts...>`` to read committed records from, wherever adlip runs.

    An explicit ``results_dir`` is taken as it is. The default, ``"results"``, is looked up in
    turn: in the working folder (a checkout, or records made here), in the records an installed
    adlip ships (``adlip/_results``, copied there when the package is built), and in the checkout an
    editable install points to. The first that has the folder wins; if none has it, the working
    folder's path is returned, so that an error message (or a run that writes there) names it.
    """
    here = Path(results_dir, *parts)
    if str(results_dir) != DEFAULT_RESULTS or here.exists():
        return here
    for root in (PACKAGED_RESULTS, REPO_ROOT / DEFAULT_RESULTS):
        if root.joinpath(*parts).is_dir():
            return root.joinpath(*parts)
    return here


def git_commit() -> str | None:
    """adlip's own commit, with ``+dirty`` if ``adlip/`` has uncommitted changes; None when adlip is
    not imported from its repository (an installed copy), whatever repository the current folder is in.
    """
    if not (REPO_ROOT / ".git").exists() or not (REPO_ROOT / "pyproject.toml").is_file():
        return None
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if not top or Path(top).resolve() != REPO_ROOT:
            return None
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "adlip"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def check_clean_code(allow_dirty: bool = False) -> None:
    """Refuse to make records from code that is not committed (``adlip/`` with uncommitted changes).

    A record names the commit that made it; from a dirty tree that commit does not hold the code.
    ``allow_dirty=True`` lets it through (the records say ``+dirty``), for experiments in progress.
    """
    commit = git_commit()
    if commit and commit.endswith("+dirty") and not allow_dirty:
        raise ValueError(f"adlip/ in {REPO_ROOT} has uncommitted changes, so records would name a commit "
                         "that does not hold the code that made them; commit first, run from a checkout "
                         "pinned at a commit (git worktree add ../adlip-run HEAD), or pass --allow-dirty")


def versions() -> dict:
    """Installed versions of the stack a record's numbers depend on (None if a package is missing)."""
    from importlib import metadata

    found = {}
    for package in ("tensorflow", "tf-keras", "deel-lip", "numpy", "scikit-learn"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


# The instruction sets TensorFlow's CPU kernels (oneDNN, Eigen) dispatch on. Two CPUs that differ
# in these run different kernels, which add up in different orders: the same seed then gives
# numbers that mostly agree to 1e-6 to 1e-4 relative (sensitive ones, such as a gradient-ascent
# slope, to about 1e-3), not bit for bit.
VECTOR_FEATURES = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                   "avx512_fp16", "amx_tile", "neon", "asimd", "sve")


def cpu(cpuinfo: str | Path = "/proc/cpuinfo") -> dict:
    """The processor a record was computed on: its model and the vector instruction sets it has.

    Bitwise reproducibility holds on one kind of CPU: on another, the same seed's numbers move in
    their last digits. A record carries this so that such a difference can be told from a change in
    the code. Off Linux (no ``/proc/cpuinfo``) the features are unknown (None).
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return dict(model=platform.processor() or None, features=None)
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() not in fields:
            fields[name.strip()] = value.strip()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    return dict(model=fields.get("model name") or fields.get("Model name") or platform.processor() or None,
                features=[feature for feature in VECTOR_FEATURES if feature in flags])


def provenance() -> dict:
    return dict(adlip_version=adlip.__version__, git_commit=git_commit(), versions=versions(),
                python=platform.python_version(), machine=platform.machine(), cpu=cpu(),
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _jsonable(value):
    """Parameters as JSON-friendly values (tuples and arrays to lists, dataclasses to dicts, others to their repr)."""
    def default(v):
        if hasattr(v, "__dataclass_fields__"):
            return asdict(v)
        if isinstance(v, (np.ndarray, np.generic)):
            return v.tolist()
        return repr(v)

    return json.loads(json.dumps(value, default=default))


def _record_value(value):
    """A numpy value or a dataclass as plain JSON (anything else is a TypeError, not a silent repr)."""
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"a record cannot hold a {type(value).__name__}: convert it to numbers, text or lists")


def write_record(record: dict, path: Path, sort_keys: bool = True) -> None:
    """Write one record as one JSON line, atomically and durably.

    The line goes to a temporary file in the same folder, which is flushed to disk (fsync) and then
    renamed over ``path``: a crash or a full disk leaves either the old file or the new one, never
    half of one, and the temporary file is removed if the write fails. ``sort_keys=False`` keeps
    the order of every dict, for records whose order means something. Numpy values and
    dataclasses are written as plain JSON.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=sort_keys, default=_record_value) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX, suffix=".jsonl")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(line)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


TEMPORARY_PREFIX = ".tmp-"


def remove_stale_temporaries(folder, older_than: float = 3600.0) -> list:
    """Delete temporary record files that an interrupted write left in ``folder`` (older than
    ``older_than`` seconds, so that a write in progress elsewhere is never touched)."""
    removed = []
    now = time.time()
    for path in Path(folder).glob(f"{TEMPORARY_PREFIX}*"):
        try:
            if path.is_file() and now - path.stat().st_mtime > older_than:
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


def append_record(record: dict, path: Path) -> None:
    """Append one record to a JSON-lines file (the ``adlip run --out FILE`` behaviour).

    If the file ends in a torn line (a write cut short), the new record starts on a line of its own.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as stream:
        stream.seek(0, os.SEEK_END)
        if stream.tell():
            stream.seek(-1, os.SEEK_END)
            if stream.read(1) != b"\n":
                stream.write(b"\n")
        stream.write((json.dumps(record, sort_keys=True) + "\n").encode())
        stream.flush()
        os.fsync(stream.fileno())


def check_records_file(path) -> Path:
    """``path`` if records can be appended to it: absent (its folder writable), empty, or JSON lines.

    For ``adlip run --out``: checked before any training, so a bad path costs nothing.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as {path / 'runs.jsonl'}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ValueError(f"--out {path} is not writable")
        try:
            with open(path, encoding="utf-8") as stream:
                for number, line in enumerate(stream, 1):
                    if line.strip():
                        json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"--out {path} is not a JSON-lines records file (line {number} is not JSON); "
                             "choose a new file name") from None
        return path
    folder = path.parent if str(path.parent) else Path(".")
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: cannot create it, {existing or folder} is not a writable folder")
    return path


def load_records(path, strict: bool = False) -> list:
    """All records under ``path`` (a ``.jsonl`` file or a folder searched recursively).

    A damaged line (a torn write, a merge conflict) is skipped with a warning that names its file
    and line, so that one bad record does not take a whole table down; ``strict=True`` raises a
    ValueError instead.
    """
    import warnings

    path = Path(path)
    if not path.exists():
        raise ValueError(f"no result records at {path}")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.jsonl") if not p.name.startswith("."))
    records = []
    for file in files:
        with open(file, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                except ValueError as error:
                    message = f"{file}, line {number}: damaged record ({error})"
                    if strict:
                        raise ValueError(message) from None
                    warnings.warn(message + "; skipped", RuntimeWarning, stacklevel=2)
                    continue
                records.append(record)
    return records


def read_record_file(path) -> list:
    """The records in one file: a ``.json`` file holds one record, a ``.jsonl`` file one per line."""
    path = Path(path)
    if path.suffix == ".json":
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError(f"{path} does not hold a record (a JSON object)")
        return [record]
    return load_records(path)


def records_frame(path, strict: bool = False):
    """The records under ``path`` as a pandas DataFrame: one row per record, its fields as columns.

    ``config`` and ``budget`` are spread into columns of their own (``config.<name>``,
    ``budget.<name>``) so that ``groupby`` can use them. Example::

        records_frame("results/exp2/full").groupby(["algorithm", "lipschitz"], dropna=False)["auc"].mean()
    """
    return frame_of(load_records(path, strict=strict))


def frame_of(records):
    """Records already in memory as the DataFrame :func:`records_frame` gives (one row per record)."""
    import pandas as pd

    return pd.json_normalize(list(records), max_level=1, sep=".")
