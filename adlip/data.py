"""Data sets and the one-vs-rest protocol of the thesis (chapter "Experiments").

``load_dataset`` finds MNIST, CIFAR-10 or Fashion-MNIST wherever they are available offline
(an explicit folder, ``ADLIP_DATA_DIR``, the Debian Fashion-MNIST package) and falls back to
``tf.keras.datasets``. ``one_vs_rest`` turns a data set into an anomaly detection task: train on
one class, test on the whole test set with every other class labelled anomalous (label 1).
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adlip.checks import check_number

INPUT_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["t-shirt/top", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
}
SCALINGS = ("gcn", "tanh", "unit")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz",
}


def check_dataset_name(name: str) -> str:
    """Return ``name`` if adlip knows the data set, else raise a ValueError listing the known ones."""
    if name not in INPUT_SHAPES:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(INPUT_SHAPES)}")
    return name


def _keras_x_shape(name: str) -> tuple:
    h, w, c = INPUT_SHAPES[name]
    return (h, w) if c == 1 else (h, w, c)


def _validate_arrays(name: str, arrays: dict, source: str) -> None:
    """Check keys, dtypes and shapes of loaded arrays, so that a bad file fails here, clearly."""
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{source}: missing keys {missing}; a {name} file needs {list(_KEYS)} "
                         "(the keys of tf.keras.datasets.{name}.load_data)")
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.dtype != np.uint8 or y.dtype.kind not in "ui":
            raise ValueError(f"{source}: x_{part} must be uint8 and y_{part} integer, "
                             f"got {x.dtype} and {y.dtype}")
        if x.shape[1:] != _keras_x_shape(name):
            raise ValueError(f"{source}: x_{part} has images of shape {x.shape[1:]}, "
                             f"expected {_keras_x_shape(name)} for {name}")
        if y.reshape(-1).shape[0] != x.shape[0]:
            raise ValueError(f"{source}: {x.shape[0]} images in x_{part} but "
                             f"{y.reshape(-1).shape[0]} labels in y_{part}")


def _read_npz(path: Path, name: str) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    _validate_arrays(name, arrays, str(path))
    return arrays


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the original MNIST / Fashion-MNIST format)."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _read_idx_folder(folder: Path, name: str) -> dict:
    arrays = {k: _read_idx(folder / f) for k, f in _IDX_FILES.items()}
    _validate_arrays(name, arrays, str(folder))
    return arrays


def _from_keras(name: str) -> dict:
    import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    import tensorflow as tf

    loader = getattr(tf.keras.datasets, name)
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    _validate_arrays(name, arrays, f"tf.keras.datasets.{name}")
    return arrays


def _candidates(name: str, data_dir) -> list:
    """The places to look, in order, as (description, loader) pairs."""
    places = []
    for label, folder in (("data_dir argument", data_dir),
                          ("ADLIP_DATA_DIR", os.environ.get("ADLIP_DATA_DIR"))):
        if folder:
            path = Path(folder) / f"{name}.npz"
            places.append((f"{path} ({label})", path, _read_npz))
            if name == "fashion_mnist":
                places.append((f"{folder} IDX files ({label})", Path(folder), _read_idx_folder))
    if name == "fashion_mnist":
        places.append((f"{DEBIAN_FASHION_MNIST} (Debian package dataset-fashion-mnist)",
                       DEBIAN_FASHION_MNIST, _read_idx_folder))
    return places


def _exists(path: Path, reader) -> bool:
    if reader is _read_idx_folder:
        return all((path / f).is_file() for f in _IDX_FILES.values())
    return path.is_file()


_CACHE: dict = {}


def load_raw(name: str, data_dir=None) -> dict:
    """All arrays of a data set (keras keys plus extras such as CIFAR-10's ``test_is_lossless``).

    Results are cached per process (read-only arrays), since CIFAR-10 takes seconds to decompress.
    """
    check_dataset_name(name)
    key = (name, str(data_dir), os.environ.get("ADLIP_DATA_DIR"))
    if key not in _CACHE:
        arrays = _load_uncached(name, data_dir)
        for array in arrays.values():
            array.flags.writeable = False
        _CACHE[key] = arrays
    return _CACHE[key]


def _load_uncached(name: str, data_dir) -> dict:
    tried = []
    for description, path, reader in _candidates(name, data_dir):
        if _exists(path, reader):
            return reader(path, name)
        tried.append(f"{description}: not found")
    try:
        return _from_keras(name)
    except ValueError:
        raise
    except Exception as error:  # no network, no cache: say what was tried and what to do
        tried.append(f"tf.keras.datasets.{name} (cache, then download): {type(error).__name__}: {error}")
    raise ValueError(
        f"could not load {name!r}. Tried:\n  - " + "\n  - ".join(tried)
        + f"\nPut {name}.npz (keys {', '.join(_KEYS)}, as tf.keras.datasets returns them) in a folder "
        "and set ADLIP_DATA_DIR to it, or pass data_dir=...")


_FINGERPRINTS: dict = {}


def fingerprint(name: str, data_dir=None) -> str:
    """A short SHA-256 of a data set's arrays as adlip loads them, for records: two runs with the
    same fingerprint saw the same images and labels, whichever file or cache they came from."""
    arrays = load_raw(name, data_dir)
    key = id(arrays)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for array_name in _KEYS:
            array = np.ascontiguousarray(arrays[array_name])
            digest.update(f"{array_name}:{array.dtype}:{array.shape};".encode())
            digest.update(array.tobytes())
        _FINGERPRINTS[key] = digest.hexdigest()[:16]
    return _FINGERPRINTS[key]


def load_dataset(name: str, data_dir=None):
    """Load a data set as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays in keras's image shapes.

    Looks in ``data_dir``, then ``$ADLIP_DATA_DIR`` (``<name>.npz`` with keras's keys; for
    Fashion-MNIST also the gzipped IDX files), then the Debian Fashion-MNIST package, then
    ``tf.keras.datasets`` (its cache, then the download). Labels are returned flat, shape (N,).
    Nothing is ever unpickled.
    """
    arrays = load_raw(name, data_dir)
    return ((arrays["x_train"], arrays["y_train"].reshape(-1)),
            (arrays["x_test"], arrays["y_test"].reshape(-1)))


def global_contrast_normalization(x: np.ndarray) -> np.ndarray:
    """Per image: subtract the mean, divide by the mean absolute deviation (L1 contrast).

    Works on a batch of images (N, ...); statistics are over all pixels and channels of an image.
    """
    x = x.astype(np.float64).reshape(len(x), -1)
    centred = x - x.mean(axis=1, keepdims=True)
    scale = np.abs(centred).mean(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return centred / scale


@dataclass
class Split:
    """A one-vs-rest task: normal-only training images, a labelled test set (1 = anomaly)."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"Split({self.info.get('dataset')}, normal={self.info.get('normal_class')}, "
                f"train={self.x_train.shape}, test={self.x_test.shape}, "
                f"anomalies={int(self.y_test.sum())})")


def _check_class(name: str, normal_class) -> int:
    n_classes = len(CLASS_NAMES[name])
    if isinstance(normal_class, str) and normal_class in CLASS_NAMES[name]:
        return CLASS_NAMES[name].index(normal_class)
    if not isinstance(normal_class, (int, np.integer)) or not 0 <= int(normal_class) < n_classes:
        raise ValueError(f"normal_class must be an integer in 0..{n_classes - 1} (or a class name "
                         f"{CLASS_NAMES[name]}) for {name}, got {normal_class!r}")
    return int(normal_class)


def _subset(n: int, size, seed: int) -> np.ndarray:
    """Indices of a seeded random subset of ``size`` out of ``n`` (all, in order, if size is None)."""
    if size is None or size >= n:
        return np.arange(n)
    if size <= 0:
        raise ValueError(f"subset size must be positive, got {size}")
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def scale_images(x_uint8: np.ndarray, scaling: str, reference=None) -> tuple:
    """Scale uint8 images to float32 NHWC for a detector; returns (x, stats).

    ``gcn``: L1 global contrast normalization, then min-max to [0, 1] with the min and max taken
    over ``reference`` (the normal class's training images; defaults to ``x_uint8`` itself).
    ``tanh``: [-1, 1]. ``unit``: [0, 1].
    """
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}; choose one of {SCALINGS}")
    shape = x_uint8.shape if x_uint8.ndim == 4 else x_uint8.shape + (1,)
    if scaling == "tanh":
        return (x_uint8.astype(np.float32) / 127.5 - 1.0).reshape(shape), {}
    if scaling == "unit":
        return (x_uint8.astype(np.float32) / 255.0).reshape(shape), {}
    ref = global_contrast_normalization(x_uint8 if reference is None else reference)
    low, high = float(ref.min()), float(ref.max())
    x = (global_contrast_normalization(x_uint8) - low) / (high - low)
    return x.astype(np.float32).reshape(shape), {"gcn_min": low, "gcn_max": high}


def one_vs_rest(name: str, normal_class, scaling: str = "gcn", *, train_size=None, test_size=None,
                seed: int = 1234, exact_test_only: bool = False, data_dir=None) -> Split:
    """The thesis's one-vs-rest task for one normal class.

    Train on the normal class's training images only; test on the whole test set with label 1 for
    every other class (an anomaly). ``train_size`` / ``test_size`` draw seeded random subsets (the
    thesis tested AnoGAN on 1000 test images drawn with seed 1234); min-max statistics of the
    ``gcn`` scaling always come from all of the normal class's training images, so a subset does not
    change the preprocessing. ``exact_test_only`` keeps CIFAR-10's 1000 losslessly stored test images.
    """
    check_dataset_name(name)
    normal_class = _check_class(name, normal_class)
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}; choose one of {SCALINGS}")
    arrays = load_raw(name, data_dir)
    x_train = arrays["x_train"][arrays["y_train"].reshape(-1) == normal_class]
    x_test, y_test = arrays["x_test"], arrays["y_test"].reshape(-1)
    if exact_test_only:
        if "test_is_lossless" not in arrays:
            raise ValueError(f"exact_test_only=True needs a 'test_is_lossless' mask in the {name} file; "
                             "this copy has none (all of its test images are taken as exact)")
        keep = arrays["test_is_lossless"].astype(bool)
        x_test, y_test = x_test[keep], y_test[keep]
    train_idx = _subset(len(x_train), train_size, seed)
    test_idx = _subset(len(x_test), test_size, seed)
    x_tr, stats = scale_images(x_train[train_idx], scaling, reference=x_train)
    x_te, _ = scale_images(x_test[test_idx], scaling, reference=x_train)
    labels = y_test[test_idx]
    info = dict(dataset=name, normal_class=normal_class,
                class_name=CLASS_NAMES[name][normal_class], scaling=scaling, seed=seed,
                n_train=len(x_tr), n_test=len(x_te), n_anomalies=int((labels != normal_class).sum()),
                test_classes=labels.astype(int), test_indices=test_idx,
                exact_test_only=exact_test_only, **stats)
    return Split(x_tr, x_te, (labels != normal_class).astype(np.int64), info)


# --- training sets with hidden anomalies, a toy problem, unit-cube images and forged outliers ------

CONTAMINATION_KINDS = ("uniform", "clustered")


def _check_anomaly_fraction(value, name, upper=0.5):
    return check_number(name, value, low=0.0, high=upper, high_closed=False, finite=False,
                        what=f"a number in [0, {upper})")


def _check_kind(kind):
    if kind not in CONTAMINATION_KINDS:
        raise ValueError(f"kind must be one of {CONTAMINATION_KINDS}, got {kind!r}")


def contaminated_one_vs_rest(name: str, normal_class, anomaly_fraction: float = 0.1, kind: str = "uniform",
                             anomaly_class=None, scaling: str = "gcn", *, train_size=None, test_size=None,
                             seed: int = 0, data_dir=None) -> Split:
    """A one-vs-rest task whose training set hides anomalies (the paper's unsupervised setting).

    The normal class's training images (``train_size`` of them, all by default) are mixed with
    training images of other classes so that anomalies make up ``anomaly_fraction`` of the
    training set. ``kind="uniform"`` draws them at random from all other classes; ``"clustered"``
    from the single class ``anomaly_class`` (default: the next class, ``(normal_class + 1) % 10``).
    The test set is ``one_vs_rest``'s (every other class anomalous). Anomalies are scaled exactly
    like the normal images (for ``gcn``, with the normal class's min-max statistics, as
    ``one_vs_rest`` does). ``info`` gains ``train_is_anomaly`` and ``train_classes``.
    """
    fraction = _check_anomaly_fraction(anomaly_fraction, "anomaly_fraction")
    _check_kind(kind)
    split = one_vs_rest(name, normal_class, scaling, train_size=train_size, test_size=test_size, seed=seed,
                        data_dir=data_dir)
    normal = split.info["normal_class"]
    others = [c for c in range(len(CLASS_NAMES[name])) if c != normal]
    if kind == "clustered":
        anomaly_class = (normal + 1) % len(CLASS_NAMES[name]) if anomaly_class is None else anomaly_class
        if anomaly_class not in others:
            raise ValueError(f"anomaly_class must be a class other than the normal one ({others}), "
                             f"got {anomaly_class!r}")
        others = [int(anomaly_class)]
    (x_raw, y_raw), _ = load_dataset(name, data_dir)
    n_anomalies = int(round(fraction / (1.0 - fraction) * len(split.x_train)))
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(np.isin(y_raw, others))
    chosen = np.sort(rng.choice(candidates, size=n_anomalies, replace=False))
    x_anomalies, _ = scale_images(x_raw[chosen], scaling, reference=x_raw[y_raw == normal])
    x_train = np.concatenate([split.x_train, x_anomalies.reshape((-1,) + split.x_train.shape[1:])])
    classes = np.concatenate([np.full(len(split.x_train), normal), y_raw[chosen]]).astype(np.int64)
    order = rng.permutation(len(x_train))
    info = dict(split.info, n_train=len(x_train), anomaly_fraction=fraction, contamination_kind=kind,
                anomaly_classes=others, train_classes=classes[order],
                train_is_anomaly=(classes[order] != normal).astype(np.int64))
    return Split(x_train[order], split.x_test, split.y_test, info)


def two_moons(n_samples: int = 1000, anomaly_fraction: float = 0.05, kind: str = "uniform",
              noise: float = 0.05, seed: int = 0):
    """The paper's toy problem: two interleaved moons plus a fraction of anomalies.

    ``kind="uniform"`` spreads the anomalies uniformly over the box [-1.5, 2.5] x [-1, 1.5] around
    the moons; ``"clustered"`` puts them in a tight Gaussian blob (standard deviation 0.08) at
    (-0.9, -0.6), off both moons. Returns ``(X, is_anomaly)`` with ``n_samples`` rows in all.
    """
    from sklearn.datasets import make_moons

    fraction = _check_anomaly_fraction(anomaly_fraction, "anomaly_fraction")
    _check_kind(kind)
    rng = np.random.default_rng(seed)
    n_anomalies = int(round(fraction * n_samples))
    normal, _ = make_moons(n_samples - n_anomalies, noise=noise, random_state=seed)
    if kind == "uniform":
        anomalies = rng.uniform((-1.5, -1.0), (2.5, 1.5), size=(n_anomalies, 2))
    else:
        anomalies = rng.normal((-0.9, -0.6), 0.08, size=(n_anomalies, 2))
    x = np.concatenate([normal, anomalies])
    is_anomaly = np.concatenate([np.zeros(len(normal)), np.ones(n_anomalies)]).astype(np.int64)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), is_anomaly[order]


FORGED = ("dark", "bright", "noise")


def forged_images(kind: str, n: int, seed: int = 0, shape=(28, 28, 1)) -> np.ndarray:
    """Synthetic outliers at the edges of the input cube, as in the paper's Figure 2.

    "dark": every pixel uniform in [0, 0.1]; "bright": uniform in [0.9, 1]; "noise": uniform in [0, 1].
    """
    ranges = {"dark": (0.0, 0.1), "bright": (0.9, 1.0), "noise": (0.0, 1.0)}
    if kind not in ranges:
        raise ValueError(f"unknown forged outlier kind {kind!r}; choose one of {FORGED}")
    return np.random.default_rng(seed).uniform(*ranges[kind], size=(n,) + tuple(shape)).astype(np.float32)


def unit_images(name: str, part: str = "test", size=None, seed: int = 0, data_dir=None) -> np.ndarray:
    """A seeded subset of a data set's ``part`` ("train" or "test") in [0, 1], NHWC; or forged outliers."""
    if name in FORGED:
        return forged_images(name, 1000 if size is None else size, seed)
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    (x_train, _), (x_test, _) = load_dataset(name, data_dir)
    x = x_train if part == "train" else x_test
    if size is not None and size < len(x):
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), size, replace=False))]
    return scale_images(x, "unit")[0]
