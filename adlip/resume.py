"""The finished stages of one run, kept on disk so that an interrupted run resumes where it stopped.

A run (:func:`adlip.runs.run_one`) has three expensive stages: training, scoring the test images
and measuring the Lipschitz bounds. For AnoGAN at the thesis's budget they took about 16, 37 and
16 minutes on one core of the machine that made the first record, three to four times that on a
slower one, so a sweep stopped mid-run (the end of a session, a reboot, Ctrl-C) used to lose up
to an hour per worker (several on the slower machine). With a :class:`RunStages` folder each stage is written as it finishes: the
fitted detector (``detector.save``), the test scores part by part (``score_batches``: AnoGAN's
latent search one search batch at a time), the Lipschitz measurements; a detector with a
``checkpoint_dir`` (AnoGAN, f-AnoGAN) also saves its training state between epochs
(:mod:`adlip.detectors.checkpoints`). Rerunning the same run reads them back and does only what
is missing.

A resumed run gives bitwise the record an uninterrupted one gives (a test checks it), because
nothing is reused unless it was made by the same code with the same TensorFlow thread count on
the same kind of CPU: the folder remembers the git commit, the thread count and the CPU's vector
instruction sets it was made with, and is discarded, not reused, when any differs or when the code
had uncommitted changes. Nothing in the folder
is ever executed: the detector is read with ``adlip.detectors.load`` (safe mode, no pickles),
scores with ``numpy.load(allow_pickle=False)``, the rest is JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from adlip.records import _record_value

STAGES_FILE = "stages.json"


def _write_atomically(path: Path, write) -> None:
    """``write(temporary_path)``, then rename the file into place: a crash leaves no half file."""
    temporary = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    write(temporary)
    os.replace(temporary, path)


class RunStages:
    """The folder ``root / run_id`` holding one run's finished stages (``root`` None: nowhere, every
    stage is computed and nothing is written).

    ``identity`` (a dict: the code's commit, the thread count) says what made them; a folder made
    by anything else is emptied when opened. ``identity`` None (code with uncommitted changes, or
    no way to tell which code this is) keeps nothing: every stage is computed afresh.
    """

    def __init__(self, root, run_id: str, identity: dict | None):
        self.folder = None if root is None else Path(root) / run_id
        self.identity = None if root is None else identity
        self.resumed: list = []
        self._index = self._open()

    # -- the index of finished stages --
    def _open(self) -> dict:
        if self.identity is None:
            self.clear()
            return {}
        index_path = self.folder / STAGES_FILE
        try:
            index = json.loads(index_path.read_text())
        except (OSError, ValueError):
            index = None
        if not isinstance(index, dict) or index.get("identity") != self.identity:
            self.clear()   # anything here was made by other code, or cannot be told apart from it
            index = {"identity": self.identity, "stages": {}}
            self._index = index
            self._save_index()   # from now on the folder's contents are this identity's
        return index

    def _save_index(self) -> None:
        if self.identity is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.folder / STAGES_FILE,
                          lambda path: path.write_text(json.dumps(self._index, indent=1)))

    def _stage(self, name: str):
        return self._index.get("stages", {}).get(name)

    def _finish(self, name: str, value) -> None:
        self._index.setdefault("stages", {})[name] = value
        self._save_index()

    # -- the stages --
    @property
    def training_folder(self) -> Path | None:
        """Where a detector that can (``checkpoint_dir``) saves its training state between epochs,
        so that even the training stage resumes midway; None when nothing is kept."""
        return None if self.identity is None else self.folder / "training"

    def fitted(self, fit):
        """``(detector, seconds)``: the fitted detector kept from an earlier attempt, else ``fit()``'s.

        ``fit()`` returns a fitted detector; it is saved (``detector.save``) before this returns.
        """
        from adlip.detectors import load

        kept = self._stage("fit")
        if kept is not None:
            self.resumed.append("fit")
            return load(self.folder / "fitted"), float(kept["seconds"])
        start = time.perf_counter()
        detector = fit()
        seconds = time.perf_counter() - start
        restored = int(getattr(detector, "resumed_epochs_", 0) or 0)
        if restored:   # training itself resumed midway: count the earlier attempts' epochs too
            self.resumed.append(f"training epochs 1-{restored}")
            seconds += float(sum(detector.history_["seconds"][:restored]))
        if self.identity is not None:
            temporary = self.folder / "fitted.partial"
            shutil.rmtree(temporary, ignore_errors=True)
            detector.save(temporary)
            shutil.rmtree(self.folder / "fitted", ignore_errors=True)
            os.replace(temporary, self.folder / "fitted")
            self._finish("fit", {"seconds": seconds})
        return detector, seconds

    def scores(self, detector, x) -> tuple:
        """``(scores, seconds)``: ``detector.decision_function(x)``, computed part by part
        (``detector.score_batches``), each part kept as it finishes; ``seconds`` sums the parts'
        own times, whichever attempt computed them."""
        scores, seconds = [], 0.0
        for start, stop, score in detector.score_batches(x):
            name = f"scores {start}-{stop}"
            kept = self._stage(name)
            if kept is not None:
                self.resumed.append(name)
                scores.append(np.load(self.folder / kept["file"], allow_pickle=False))
                seconds += float(kept["seconds"])
                continue
            began = time.perf_counter()
            part = np.asarray(score())
            took = time.perf_counter() - began
            if self.identity is not None:
                filename = f"scores-{start}-{stop}.npy"
                _write_atomically(self.folder / filename, lambda path: _save_array(path, part))
                self._finish(name, {"file": filename, "seconds": took})
            scores.append(part)
            seconds += took
        return np.concatenate(scores), seconds

    def computed(self, name: str, compute) -> dict:
        """The dict ``compute()`` returned in an earlier attempt (kept as JSON), else ``compute()``'s.

        JSON keeps Python floats exactly, so a kept result equals a recomputed one bit for bit.
        """
        kept = self._stage(name)
        if kept is not None:
            self.resumed.append(name)
            return kept
        value = json.loads(json.dumps(compute(), default=_record_value))   # the same values either way
        if self.identity is not None:
            self._finish(name, value)
        return value

    def clear(self) -> None:
        """Delete the folder (the run's record is made; its stages are no longer needed)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _save_array(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def code_identity(threads: dict | None) -> dict | None:
    """What must match for kept stages to be reused: adlip's commit (or, for an installed copy,
    its version), the TensorFlow thread counts and the CPU's vector instruction sets (the kernels,
    so the last bits, follow them). None for code with uncommitted changes."""
    import adlip
    from adlip.records import cpu, git_commit

    commit = git_commit()
    if commit is not None and commit.endswith("+dirty"):
        return None
    return {"git_commit": commit, "adlip_version": adlip.__version__, "threads": threads,
            "cpu_features": cpu()["features"]}
