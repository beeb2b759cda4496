"""Training state saved between epochs, so that a long ``fit`` stopped midway resumes where it was.

The thesis's Lipschitz AnoGAN with Björck orthonormalisation trains for hours on a CPU, longer
than one sitting. :class:`TrainingCheckpoint` saves, after an epoch, everything the next epoch
depends on: the networks' and optimizers' variables and TensorFlow random generators (one
``tf.train.Checkpoint``), the state of the NumPy generator that shuffles the batches, and the
history so far. A ``fit`` given the same folder, the same parameters and the same images starts
from the last saved epoch and ends with bitwise the networks of an uninterrupted fit (a test
checks it); a folder left by another configuration or other images is ignored and overwritten.

The files hold numbers only: TensorFlow checkpoint files are variable values (no graph, no code),
and the rest is JSON.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

STATE_FILE = "training.json"
SAVE_EVERY_SECONDS = 300.0   # at most one save per 5 minutes: a generator's state is hundreds of MB


def fingerprint(detector, x: np.ndarray) -> dict:
    """What must match for a saved state to be resumed: the detector's class, its parameters (all
    but ``verbose``), adlip's version and a hash of the training images."""
    import adlip

    params = {k: repr(v) for k, v in sorted(detector.get_params().items()) if k != "verbose"}
    images = hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()
    return {"class": type(detector).__name__, "params": params, "adlip_version": adlip.__version__,
            "images": f"{x.shape}:{images}"}


def check_checkpoint_dir(value) -> None:
    """A detector's ``checkpoint_dir`` is a folder path or None."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"checkpoint_dir must be a folder path or None, got {type(value).__name__}")


def _plain(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"training history holds numbers, not a {type(value).__name__}")


class TrainingCheckpoint:
    """Saves and restores one training run's state in ``folder``.

    ``identity`` is :func:`fingerprint`'s dict; ``trackables`` are the objects whose TensorFlow
    variables make the state (networks, optimizers built before training, ``tf.random.Generator``).
    ``train_epochs(..., checkpoint=...)`` calls :meth:`restore` before the first epoch and
    :meth:`save` after each one.

    ``keep_finished`` also saves the state after the last epoch, for a detector that trains in
    phases: a fit stopped in a later phase then resumes with the finished phases restored (every
    epoch skipped) instead of training them again. The detector deletes the folder when it is done.
    """

    def __init__(self, folder, identity: dict, keep_finished: bool = False, **trackables):
        import tensorflow as tf

        self.folder = Path(folder)
        self.identity = identity
        self.keep_finished = keep_finished
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.last_save = time.monotonic()
        self.restored_epoch = 0

    def _state(self) -> dict | None:
        try:
            state = json.loads((self.folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get("identity") != self.identity:
            return None
        return state

    def restore(self, rng: np.random.Generator) -> tuple:
        """``(epochs done, history)`` from the saved state (``(0, {})`` if there is none), with the
        variables and ``rng`` set to where that state left them."""
        state = self._state()
        if state is None:
            return 0, {}
        self.checkpoint.read(str(self.folder / state["checkpoint"])).assert_consumed()
        rng.bit_generator.state = state["rng"]
        self.restored_epoch = int(state["epoch"])
        return self.restored_epoch, state["history"]

    def save(self, epochs_done: int, history: dict, rng: np.random.Generator, last: bool = False) -> None:
        """Save the state after ``epochs_done`` epochs, unless the last save was under
        ``SAVE_EVERY_SECONDS`` ago; after the last epoch only with ``keep_finished`` (otherwise the
        fit is about to finish)."""
        if last:
            if not self.keep_finished:
                return
        elif time.monotonic() - self.last_save < SAVE_EVERY_SECONDS:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epochs_done}"
        self.checkpoint.write(str(self.folder / name))
        state = {"identity": self.identity, "epoch": epochs_done, "checkpoint": name,
                 "history": json.loads(json.dumps(history, default=_plain)), "rng": rng.bit_generator.state}
        temporary = self.folder / (STATE_FILE + ".partial")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.folder / STATE_FILE)
        for old in self.folder.glob("epoch-*"):
            if not old.name.startswith(name + "."):
                old.unlink()
        self.last_save = time.monotonic()

    def clear(self) -> None:
        """Delete the folder (the fit finished; its state is no longer needed)."""
        shutil.rmtree(self.folder, ignore_errors=True)
