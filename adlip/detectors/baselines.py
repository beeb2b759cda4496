"""Classical baselines on the same splits: Isolation Forest, one-class SVM, Gaussian KDE.

Ruff et al. (2018) put these beside Deep SVDD; the book does the same so a reader sees where the
deep detectors stand. They share the detectors' contract (fit returns self, higher score = more
anomalous) and work on flattened images, optionally reduced by PCA fitted on the training images.

Saving one keeps no fitted object: scikit-learn's trees and SVMs have no format but pickle, and a
pickle runs code when it is read. ``save`` writes the parameters and the training images (a plain
``.npz`` read without pickle); ``load`` fits again, which gives the same model bit for bit since
every baseline is deterministic given its seed, and checks that by comparing the refitted training
scores with the saved ones.

The KDE is exact: a log-sum-exp over every training point. scikit-learn's tree-based
``KernelDensity`` was seen to misestimate log-densities by hundreds of nats far from the data,
which is exactly where anomalies are. Its bandwidth is chosen without labels, by the held-out
log-likelihood of a fifth of the training images.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.svm import OneClassSVM

from adlip.checks import check_integer, check_number
from adlip.data import INPUT_SHAPES, check_dataset_name
from adlip.detectors.base import STATE_FILE, allow_loading, read_state_file, registered_class
from adlip.detectors.contract import Detector
from adlip.detectors.registry import ALGORITHMS, Algorithm, register


TRAINING_FILE = "training.npz"


def _digest(scores) -> str:
    return hashlib.sha1(np.ascontiguousarray(scores, dtype=np.float64).tobytes()).hexdigest()


class _FlatBaseline(Detector):
    """Shared plumbing: input checks, flattening and the optional PCA; the contract is :class:`Detector`'s."""

    scaling = "gcn"   # the one_vs_rest scaling the baselines are run with (Ruff et al.'s preprocessing)

    def _check_params(self) -> None:
        super()._check_params()
        check_dataset_name(self.dataset)
        check_integer("seed", self.seed, 0, what="a non-negative integer")
        if self.pca_variance is not None:
            check_number("pca_variance", self.pca_variance, low=0.0, high=1.0, low_closed=False,
                         what="None or a fraction of the variance in (0, 1]")

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        expected = INPUT_SHAPES[self.dataset]
        if X.ndim == len(expected) and expected[-1] == 1:
            X = X[..., None]
        if X.shape[1:] != expected:
            raise ValueError(f"expected images of shape (N, {', '.join(map(str, expected))}) for "
                             f"{self.dataset}, got {X.shape}")
        if len(X) == 0:
            raise ValueError("got no images")
        if not np.isfinite(X).all():
            raise ValueError(f"images contain {int((~np.isfinite(X)).sum())} NaN or infinite pixels")
        return X.reshape(len(X), -1)

    def _features(self, x) -> np.ndarray:
        return x if self.pca_variance is None else self.pca_.transform(x)

    def _score(self, x) -> np.ndarray:
        return self._score_features(self._features(x))

    def _train(self, x) -> None:
        self.training_images_ = x
        if self.pca_variance is not None:
            self.pca_ = PCA(n_components=self.pca_variance, random_state=self.seed).fit(x)
        self._fit_features(self._features(x))

    # -- persistence: parameters and training images, refitted on load --
    def save(self, path) -> Path:
        """Write the fitted baseline to the folder ``path``: ``detector.json`` and ``training.npz``."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        images = self.training_images_.reshape((-1, *INPUT_SHAPES[self.dataset]))
        np.savez_compressed(folder / TRAINING_FILE, x=images)
        document = {"class": type(self).__name__, "params": self.get_params(), "state": {}, "networks": {},
                    "training": TRAINING_FILE, "training_scores_sha1": _digest(self.decision_scores_)}
        (folder / STATE_FILE).write_text(json.dumps(document, indent=1))
        return folder

    @classmethod
    def load(cls, path):
        """Read a baseline written by ``save``: fit it again on its saved training images.

        The class comes from adlip's own list (nothing named in the file is imported), the images
        are read with ``allow_pickle=False``, and the refitted training scores must equal the saved
        ones bit for bit (a different scikit-learn could fit differently: that is an error, not a
        silent change of scores).
        """
        folder = Path(path)
        document = read_state_file(folder / STATE_FILE)
        klass = registered_class(document, folder / STATE_FILE)
        if not issubclass(klass, cls):
            raise ValueError(f"{folder} holds a {document['class']}, not a {cls.__name__}")
        if document.get("training") != TRAINING_FILE or not (folder / TRAINING_FILE).is_file():
            raise ValueError(f"{folder} has no {TRAINING_FILE}: a baseline is saved with its training images")
        unknown = set(document["params"]) - set(klass().get_params())
        if unknown:
            raise ValueError(f"{folder / STATE_FILE} gives {klass.__name__} unknown parameters {sorted(unknown)}")
        with np.load(folder / TRAINING_FILE, allow_pickle=False) as saved:
            x = saved["x"]
        detector = klass(**document["params"]).fit(x)
        if _digest(detector.decision_scores_) != document.get("training_scores_sha1"):
            raise ValueError(f"{folder}: refitting on the saved training images gave other training scores "
                             "than the saved detector's (another scikit-learn version?); refusing to load it")
        return detector


class IsolationForestDetector(_FlatBaseline):
    """Isolation Forest on the raw pixels (trees need no dimensionality reduction)."""

    def __init__(self, dataset="mnist", n_estimators=100, max_samples="auto", pca_variance=None, seed=0,
                 contamination=0.1):
        self.dataset = dataset
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.pca_variance = pca_variance
        self.seed = seed
        self.contamination = contamination

    def _fit_features(self, features):
        self.model_ = IsolationForest(n_estimators=self.n_estimators, max_samples=self.max_samples,
                                      random_state=self.seed, n_jobs=1).fit(features)

    def _score_features(self, features):
        return -self.model_.score_samples(features)


class OneClassSVMDetector(_FlatBaseline):
    """One-class SVM with a Gaussian kernel on PCA features (95% of the variance by default)."""

    def __init__(self, dataset="mnist", nu=0.1, gamma="scale", pca_variance=0.95, seed=0, contamination=0.1):
        self.dataset = dataset
        self.nu = nu
        self.gamma = gamma
        self.pca_variance = pca_variance
        self.seed = seed
        self.contamination = contamination

    def _check_params(self) -> None:
        super()._check_params()
        check_number("nu", self.nu, low=0.0, high=1.0, low_closed=False, what="in (0, 1]")

    def _fit_features(self, features):
        self.model_ = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma).fit(features)

    def _score_features(self, features):
        return -self.model_.decision_function(features)


def gaussian_kde_log_density(points, data, bandwidth, batch_size=1024) -> np.ndarray:
    """Exact log-density of an isotropic Gaussian KDE: log-sum-exp over every data point."""
    points, data = np.asarray(points, np.float64), np.asarray(data, np.float64)
    dim = data.shape[1]
    normaliser = np.log(len(data)) + 0.5 * dim * np.log(2 * np.pi * bandwidth ** 2)
    data_sq = (data ** 2).sum(1)
    out = np.empty(len(points))
    for start in range(0, len(points), batch_size):
        chunk = points[start:start + batch_size]
        sq = (chunk ** 2).sum(1)[:, None] + data_sq[None, :] - 2 * chunk @ data.T
        out[start:start + batch_size] = logsumexp(-np.clip(sq, 0, None) / (2 * bandwidth ** 2), axis=1)
    return out - normaliser


class KDEDetector(_FlatBaseline):
    """Exact Gaussian kernel density estimate on PCA features; score = minus the log-density."""

    def __init__(self, dataset="mnist", bandwidth=None, pca_variance=0.95, max_train=None, seed=0,
                 contamination=0.1):
        self.dataset = dataset
        self.bandwidth = bandwidth
        self.pca_variance = pca_variance
        self.max_train = max_train
        self.seed = seed
        self.contamination = contamination

    def _select_bandwidth(self, features) -> float:
        """The bandwidth (on a log grid around the median distance) with the best held-out likelihood."""
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(features))
        held_out, fit_part = features[order[: len(order) // 5]], features[order[len(order) // 5:]]
        typical = np.sqrt(np.median(((fit_part[:200, None] - fit_part[None, :200]) ** 2).sum(-1)))
        grid = typical * np.logspace(-1.5, 0.5, 15)
        likelihood = [gaussian_kde_log_density(held_out, fit_part, h).mean() for h in grid]
        return float(grid[int(np.argmax(likelihood))])

    def _check_params(self) -> None:
        super()._check_params()
        check_number("bandwidth", self.bandwidth, low=0.0, low_closed=False, allow_none=True,
                     what="positive (or None to select it)")
        check_integer("max_train", self.max_train, 10, allow_none=True)

    def _fit_features(self, features):
        if len(features) < 10:
            raise ValueError(f"KDE needs at least 10 training images, got {len(features)}")
        if self.max_train and len(features) > self.max_train:
            keep = np.random.default_rng(self.seed).choice(len(features), self.max_train, replace=False)
            features = features[np.sort(keep)]
        self.train_features_ = features
        self.bandwidth_ = self.bandwidth or self._select_bandwidth(features)

    def _score_features(self, features):
        return -gaussian_kde_log_density(features, self.train_features_, self.bandwidth_)


for _klass in (IsolationForestDetector, OneClassSVMDetector, KDEDetector):
    allow_loading(_klass)
register(Algorithm("iforest", IsolationForestDetector, "Isolation Forest", "baseline", lipschitz="none"))
register(Algorithm("ocsvm", OneClassSVMDetector, "OC-SVM", "baseline", lipschitz="none"))
register(Algorithm("kde", KDEDetector, "KDE", "baseline", lipschitz="none"))
BASELINES = {name: ALGORITHMS[name].factory for name in ("iforest", "ocsvm", "kde")}
