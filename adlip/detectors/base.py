"""The contract every adlip detector keeps, and the pieces they share.

``BaseDetector`` is PyOD's detector API done the scikit-learn way: ``__init__`` only stores its
arguments (so ``get_params``, ``set_params`` and ``clone`` work), ``fit`` validates its input before
any expensive work, trains, and returns ``self``; ``decision_function`` is higher for more anomalous
inputs; ``predict`` thresholds it at the ``(1 - contamination)`` quantile of the training scores.
``save`` writes a folder (a JSON file with the parameters and fitted state, one ``.keras`` file per
network) and ``load`` reads it back with identical scores.

``Schedule`` holds the thesis's training schedules (chapter "Implementation"): phases of
(epochs, learning rate), the batch size and the weight decay. ``train_epochs`` runs one over a
data set, so that every detector trains through the same loop: learning-rate drops, per-epoch loss
history, a progress bar, hooks for what a detector tracks per epoch.
"""
from __future__ import annotations

import json
import math
import random
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adlip.checks import check_integer, check_number
import adlip
from adlip.data import INPUT_SHAPES
from adlip.detectors.contract import Detector

STATE_FILE = "detector.json"
# Larger pixel values make float32 squared distances and reconstruction errors overflow.
MAX_PIXEL = 1e6


@dataclass(frozen=True)
class Schedule:
    """A training schedule: ``phases`` of (epochs, learning rate), run in order.

    ``weight_decay`` is the lambda of the thesis's eq. 2.5/2.6 (an L2 penalty
    ``lambda / 2 * sum ||W||_F^2`` on the network's kernels).
    """

    phases: tuple
    batch_size: int = 200
    weight_decay: float = 1e-6

    def __post_init__(self):
        phases = tuple((int(epochs), float(rate)) for epochs, rate in self.phases)
        if not phases or any(epochs < 1 or rate <= 0 for epochs, rate in phases):
            raise ValueError(f"a schedule needs phases of (epochs >= 1, learning rate > 0), got {self.phases!r}")
        if int(self.batch_size) < 1 or self.weight_decay < 0:
            raise ValueError(f"batch_size must be >= 1 and weight_decay >= 0, got {self.batch_size}, "
                             f"{self.weight_decay}")
        object.__setattr__(self, "phases", phases)
        object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "weight_decay", float(self.weight_decay))

    @property
    def total_epochs(self) -> int:
        return sum(epochs for epochs, _ in self.phases)

    def scaled(self, factor: float) -> "Schedule":
        """Every phase's epochs times ``factor``, rounded up, at least one epoch per phase."""
        if not factor > 0:
            raise ValueError(f"the epochs scale must be positive, got {factor!r}")
        phases = tuple((max(1, math.ceil(epochs * factor - 1e-9)), rate) for epochs, rate in self.phases)
        return Schedule(phases, self.batch_size, self.weight_decay)

    def with_batch_size(self, batch_size) -> "Schedule":
        return self if batch_size is None else Schedule(self.phases, batch_size, self.weight_decay)

    def learning_rates(self) -> list:
        """The learning rate of every epoch, in order."""
        return [rate for epochs, rate in self.phases for _ in range(epochs)]

    def to_dict(self) -> dict:
        return {"phases": [list(p) for p in self.phases], "batch_size": self.batch_size,
                "weight_decay": self.weight_decay}

    @classmethod
    def coerce(cls, value) -> "Schedule":
        """A Schedule from a Schedule or a dict of its fields (as ``to_dict`` writes them)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"phases", "batch_size", "weight_decay"}
            if unknown:
                raise ValueError(f"unknown schedule fields {sorted(unknown)}")
            return cls(**value)
        raise ValueError(f"schedule must be None, a Schedule or a dict, got {type(value).__name__}")


# --- seeding and training -------------------------------------------------------------------

def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's graphs and ops deterministic.

    With these, the same seed on the same data gives the same weights and scores, bit for bit, on
    one machine with the same number of TensorFlow threads, also while other processes load it:

    * ``enable_op_determinism``: ops with a deterministic kernel use it (or raise);
    * grappler's remapper off: it fuses ops (a convolution with its bias and activation, say)
      into kernels that round differently, and on the deel-lip networks it fails on some traces
      of a function and not on others (logging "remapper failed: ... fanout ... for missing
      node"), so two fits could run different graphs. Measured cost: none beyond noise on the
      thesis's networks (``benchmarks/bench_training.py``).
    """
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    tf.config.optimizer.set_experimental_options({"remapping": False})


def weight_penalty(model, weight_decay: float):
    """``weight_decay / 2 * sum ||W||^2`` over the model's trainable kernels (eq. 2.5/2.6's last term)."""
    import tensorflow as tf

    kernels = [w for w in model.trainable_weights if "kernel" in w.name]
    if weight_decay == 0 or not kernels:
        return tf.constant(0.0)
    return 0.5 * weight_decay * tf.add_n([tf.reduce_sum(tf.square(w)) for w in kernels])


def _progress(total: int, description: str, verbose: int):
    """A tqdm bar over epochs: verbose=1 in a terminal, verbose>=2 anywhere; None when quiet."""
    if not verbose or (verbose == 1 and not sys.stderr.isatty()):
        return None
    from adlip.progress import progress_bar as tqdm

    return tqdm(total=total, desc=description, unit="epoch", leave=False)


def train_epochs(step, x, schedule: Schedule, optimizers, *, seed: int = 0, verbose: int = 1,
                 description: str = "training", on_epoch_end=None, on_epoch_start=None,
                 checkpoint=None) -> dict:
    """Run ``schedule`` over ``x``: shuffle each epoch, call ``step`` on every batch.

    ``step(batch)`` trains on one batch and returns a dict of scalar tensors (at least "loss");
    the epoch's value of each is the batch-size weighted mean. Each optimizer in ``optimizers``
    gets the phase's learning rate. ``on_epoch_start(epoch)`` runs before an epoch,
    ``on_epoch_end(epoch, logs)`` after it and may add entries to ``logs`` (the dict of this
    epoch's values). Returns the history: a dict of per-epoch lists, with "learning_rate" and
    "seconds" added. ``checkpoint`` (a :class:`adlip.detectors.checkpoints.TrainingCheckpoint`)
    resumes from the state it saved and saves the state as epochs finish.
    """
    rng = np.random.default_rng(seed)
    rates = schedule.learning_rates()
    done, history = checkpoint.restore(rng) if checkpoint is not None else (0, {})
    bar = _progress(len(rates), description, verbose)
    if bar is not None and done:
        bar.update(done)
    try:
        for epoch, rate in enumerate(rates):
            if epoch < done:
                continue
            started = time.perf_counter()
            for optimizer in optimizers:
                optimizer.learning_rate.assign(rate)
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            logs = _run_epoch(step, x, schedule.batch_size, rng)
            logs.update(learning_rate=rate, seconds=time.perf_counter() - started)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if checkpoint is not None:
                checkpoint.save(epoch + 1, history, rng, last=epoch + 1 == len(rates))
            if bar is not None:
                bar.set_postfix(loss=f"{logs['loss']:.4g}")
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return history


def _run_epoch(step, x, batch_size: int, rng) -> dict:
    order = rng.permutation(len(x))
    totals: dict = {}
    for start in range(0, len(x), batch_size):
        batch = x[order[start:start + batch_size]]
        for key, value in step(batch).items():
            totals[key] = totals.get(key, 0.0) + float(value) * len(batch)
    return {key: total / len(x) for key, total in totals.items()}


def predict_in_batches(function, x, batch_size: int = 1000) -> np.ndarray:
    """``function`` (a Keras model or a batch -> tensor callable) applied to ``x`` in batches."""
    outputs = [np.asarray(function(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(outputs)


# --- the detector contract ------------------------------------------------------------------

def _check_lipschitz(value):
    if value is None:
        return None
    return check_number("lipschitz", value, low=0.0, low_closed=False,
                        what="None (a standard network) or a positive number K")


class BaseDetector(Detector):
    """Shared behaviour of adlip's deep detectors (PyOD's API, scikit-learn's conventions).

    Common parameters: ``dataset`` picks the thesis's networks for that data set and the expected
    image shape; ``lipschitz`` is None for the standard networks or the global Lipschitz constant K
    of the Lipschitz ones; ``seed`` seeds everything; ``schedule`` replaces the thesis's training
    schedule (None keeps it); ``epochs_scale`` multiplies every phase's epochs (at least one
    each); ``batch_size`` overrides the schedule's; ``verbose`` 0 is quiet, 1 shows a progress bar
    in a terminal, 2 everywhere; ``contamination`` sets ``threshold_`` for ``predict``.

    Subclasses define ``family`` (for the Lipschitz metadata), ``default_schedule()``,
    ``_fit(x)`` (build and train, return the history), ``_score(x)``, ``lipschitz_network`` and
    list their networks in ``_network_attributes`` and any further fitted state in
    ``_state_attributes``, so that ``save`` and ``load`` need nothing else.
    """

    scaling = "gcn"   # the one_vs_rest scaling the detector expects (the registry reads it)
    _network_attributes: tuple = ()
    _state_attributes: tuple = ("decision_scores_", "threshold_", "labels_", "history_",
                                "train_seconds_", "schedule_")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.split(".")[0] == "adlip":   # adlip's own detectors, nobody else's
            allow_loading(cls)

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1):
        self.dataset = dataset
        self.lipschitz = lipschitz
        self.seed = seed
        self.schedule = schedule
        self.epochs_scale = epochs_scale
        self.batch_size = batch_size
        self.verbose = verbose
        self.contamination = contamination

    # -- what subclasses provide --
    def default_schedule(self) -> Schedule:
        raise NotImplementedError

    def _fit(self, x: np.ndarray) -> dict:
        raise NotImplementedError

    def _score(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def lipschitz_network(self):
        """The network whose Lipschitz constant the thesis measures (a tf.keras model)."""
        raise NotImplementedError

    def lipschitz_inputs(self, X, seed: int = 0) -> np.ndarray:
        """Inputs of ``lipschitz_network`` to measure its constant on (here: the images themselves)."""
        return self._check_X(X)

    # -- validation --
    @property
    def input_shape(self) -> tuple:
        return INPUT_SHAPES[self.dataset]

    def _check_params(self) -> None:
        """Raise a ValueError naming the bad parameter, before anything is built or trained."""
        if self.dataset not in INPUT_SHAPES:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {sorted(INPUT_SHAPES)}")
        _check_lipschitz(self.lipschitz)
        check_integer("seed", self.seed, 0, what="a non-negative integer")
        check_number("epochs_scale", self.epochs_scale, low=0.0, low_closed=False, finite=False,
                     what="a positive number")
        check_integer("batch_size", self.batch_size, 1, allow_none=True, what="None or a positive integer")
        super()._check_params()   # contamination
        if self.schedule is not None:
            Schedule.coerce(self.schedule)

    def _check_X(self, X) -> np.ndarray:
        """X as float32 (N,)+input shape; (N, H, W) is accepted for one-channel data sets."""
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
        shape = self.input_shape
        if X.ndim == 3 and shape[-1] == 1:
            X = X[..., None]
        if X.ndim != 4 or X.shape[1:] != shape:
            raise ValueError(f"X must have shape (n_images,) + {shape} for dataset={self.dataset!r}, "
                             f"got {X.shape}")
        if len(X) == 0:
            raise ValueError("X is empty; pass at least one image")
        if X.dtype == np.uint8:
            raise ValueError("X holds raw uint8 pixels (0..255), but the detectors are trained on scaled images: "
                             "use adlip.one_vs_rest(..., scaling=...) or adlip.data.scale_images(X, 'gcn') "
                             "(AnoGAN and HKR: 'tanh', the VAE: 'unit')")
        X = X.astype(np.float32, copy=False)
        bad = ~np.isfinite(X)
        if bad.any():
            raise ValueError(f"X contains {int(bad.sum())} NaN or infinite pixel values in "
                             f"{int(bad.reshape(len(X), -1).any(1).sum())} images; clean or drop them")
        largest = float(np.abs(X).max())
        if largest > MAX_PIXEL:
            raise ValueError(f"X holds pixel values up to {largest:.3g} in absolute value; values beyond "
                             f"{MAX_PIXEL:g} overflow the networks' squared distances to inf/NaN scores. "
                             "Scale the images first (adlip.data.scale_images)")
        if largest > 255:
            warnings.warn(f"X holds pixel values up to {largest:.3g}, far outside the [0, 1] or [-1, 1] range the "
                          "detectors are built for; were the images scaled?", RuntimeWarning, stacklevel=3)
        return X

    # -- schedule --
    def resolved_schedule(self) -> Schedule:
        """The schedule ``fit`` runs: given or the thesis's, scaled by ``epochs_scale``."""
        base = self.default_schedule() if self.schedule is None else Schedule.coerce(self.schedule)
        return base.scaled(self.epochs_scale).with_batch_size(self.batch_size)

    @property
    def lipschitz_constant(self):
        """The guaranteed global Lipschitz constant K of ``lipschitz_network`` (None if standard)."""
        return _check_lipschitz(self.lipschitz)

    # -- the API --
    def _train(self, x: np.ndarray) -> None:
        """Seed everything, resolve the schedule and train (``_fit``), timing it."""
        seed_everything(self.seed)
        self.schedule_ = self.resolved_schedule()
        started = time.perf_counter()
        self.history_ = self._fit(x)
        self.train_seconds_ = time.perf_counter() - started

    # -- persistence --
    def save(self, path) -> Path:
        """Write the fitted detector to the folder ``path``: ``detector.json`` plus ``.keras`` files."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        params = {k: _to_json(v) for k, v in self.get_params().items()}
        state = {k: _to_json(getattr(self, k)) for k in self._state_attributes if hasattr(self, k)}
        networks = {}
        for name in self._network_attributes:
            network = getattr(self, name, None)
            if network is not None:
                networks[name] = f"{name.rstrip('_')}.keras"
                network.save(folder / networks[name])
        document = {"class": type(self).__name__, "module": type(self).__module__,
                    "adlip_version": adlip.__version__, "params": params, "state": state, "networks": networks}
        (folder / STATE_FILE).write_text(json.dumps(document, indent=1))
        return folder

    @classmethod
    def load(cls, path):
        """Read a detector written by ``save`` (any adlip detector class; see ``adlip.detectors.load``).

        A detector folder may come from someone else, so loading never runs code from it: the class
        comes from adlip's own registry (the file's class name is looked up, no module is imported),
        every network file must be a plain file name inside the folder, and must be a native
        ``.keras`` zip archive (checked by content), read with Keras's safe mode on, which refuses
        layers that carry code (such as ``Lambda``). Anything else is a ValueError naming the file.
        """
        import deel.lip  # noqa: F401  (registers deel-lip's layers, so .keras files with them load)
        import adlip.layers  # noqa: F401  (and adlip's own)

        folder = Path(path)
        document = read_state_file(folder / STATE_FILE)
        klass = registered_class(document, folder / STATE_FILE)
        if not issubclass(klass, cls):
            raise ValueError(f"{folder} holds a {document['class']}, not a {cls.__name__}")
        params = {k: _from_json(v) for k, v in document["params"].items()}
        unknown = set(params) - set(klass().get_params())
        if unknown:
            raise ValueError(f"{folder / STATE_FILE} gives {klass.__name__} unknown parameters {sorted(unknown)}")
        detector = klass(**params)
        for key, value in document["state"].items():
            if key not in detector._state_attributes:
                raise ValueError(f"{folder / STATE_FILE} sets {key!r}, which is not fitted state of {klass.__name__}")
            setattr(detector, key, _from_json(value))
        for name, filename in document["networks"].items():
            if name not in detector._network_attributes:
                raise ValueError(f"{folder / STATE_FILE} names a network {name!r} that {klass.__name__} does not have")
            setattr(detector, name, load_network(folder, filename))
        return detector


# Every concrete detector class adlip defines, by class name: what ``load`` may build.
LOADABLE_CLASSES: dict = {}


def allow_loading(klass):
    """Let ``load`` build detectors of this class (adlip's own classes are added when they are
    defined; a decorator for a class of your own that you trust). Not to be confused with the
    algorithm registry (:mod:`adlip.detectors.registry`), which says what a record's name means."""
    if not (isinstance(klass, type) and issubclass(klass, Detector)):
        raise ValueError(f"only Detector subclasses can be loaded, got {klass!r}")
    LOADABLE_CLASSES[klass.__name__] = klass
    return klass


def read_state_file(path: Path) -> dict:
    """The JSON document a detector folder's state file holds, checked for its fields."""
    if not path.is_file():
        raise ValueError(f"{path.parent} holds no {STATE_FILE}; is it a folder written by detector.save()?")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON (truncated or corrupted?): {error}") from None
    expected = {"class": str, "params": dict, "state": dict, "networks": dict}
    if not isinstance(document, dict) or any(not isinstance(document.get(k), t) for k, t in expected.items()):
        raise ValueError(f"{path} is not a detector state file: it needs the fields {sorted(expected)}")
    return document


def registered_class(document: dict, path: Path):
    """The class a state file names, looked up in :data:`LOADABLE_CLASSES` (never imported)."""
    name = document["class"]
    if name not in LOADABLE_CLASSES:
        raise ValueError(f"{path} names the class {name!r}, which is not one of adlip's detectors "
                         f"({sorted(LOADABLE_CLASSES)}); refusing to load it")
    return LOADABLE_CLASSES[name]


def network_file(folder, filename) -> Path:
    """``folder / filename`` if ``filename`` is a plain ``.keras`` file name inside ``folder``."""
    folder = Path(folder)
    if not isinstance(filename, str) or not filename.endswith(".keras") or Path(filename).name != filename \
            or filename in (".keras", "..keras"):
        raise ValueError(f"{folder / STATE_FILE} names the network file {filename!r}: network files must be "
                         "plain .keras file names inside the detector's folder (no paths)")
    path = folder / filename
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{path} points outside the detector's folder; refusing to load it")
    return path


def load_network(folder, filename):
    """A Keras network from a native ``.keras`` file in ``folder``, loaded in safe mode.

    The format is checked by content (a zip archive with Keras's ``config.json``), not by the file
    name: a legacy HDF5 or SavedModel file can carry code that Keras would run while loading it.
    """
    import zipfile

    import tensorflow as tf

    path = network_file(folder, filename)
    if not path.is_file():
        raise ValueError(f"{path} is missing (named in {Path(folder) / STATE_FILE})")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a native .keras archive (legacy format, truncated or corrupted): "
                         f"{error}; refusing to load it") from None
    if damaged is not None or "config.json" not in names:
        raise ValueError(f"{path} is a damaged .keras archive ({'bad member ' + damaged if damaged else 'no config.json'})")
    try:
        return tf.keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive
        raise ValueError(f"{path} could not be loaded safely: {error}") from None


def _to_json(value):
    """JSON-able form of parameters and fitted state (arrays and schedules are tagged)."""
    if isinstance(value, Schedule):
        return {"__schedule__": value.to_dict()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    if isinstance(value, dict):
        if "__schedule__" in value:
            return Schedule.coerce(value["__schedule__"])
        if "__array__" in value:
            dtype = np.dtype(str(value.get("dtype")))
            if dtype.kind not in "biuf":
                raise ValueError(f"a saved array must hold numbers, got dtype {dtype}")
            return np.asarray(value["__array__"], dtype=dtype)
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value
