"""Robust density estimation with Real NVP (Liu, Tan and Zhou, AAAI 2022: "RobustRealNVP").

A normalizing flow maps the data to a standard normal through invertible affine coupling layers
and gives an exact log-density by the change of variables; the anomaly score is the negative
log-density. Two changes make it robust to anomalies hidden in the training data:

* **trimming**: every mini-batch drops the ``trim_fraction`` of its points with the lowest current
  density before averaging the negative log-likelihood (the paper's Algorithm 1), so points the
  model already finds unlikely, most of the anomalies, stop pulling the density towards them;
* **Lipschitz conditioners**: the scale network ``s`` and translation network ``t`` of every
  coupling are spectrally normalised (deel-lip ``SpectralDense``, spectral normalisation only, no
  Björck step) so that each is ``lipschitz``-Lipschitz; ``s`` ends in ``tanh``. A smooth flow cannot
  put a sharp density peak on a small cluster of anomalies.

``RobustRealNVP(trim_fraction=0, lipschitz=None)`` is plain Real NVP, ``lipschitz=None`` alone is
the paper's "TrimRealNVP", the defaults are RobustRealNVP. The book's chapter "Robust density
estimation" explains the idea and runs it (``notebooks/15_robust_realnvp.py``).

Inputs are either images of an adlip data set, turned into feature vectors (``features="pca"``:
flattened pixels projected on the ``n_components`` leading principal directions of the training
images; ``"pixels"``: the flattened pixels), or, with ``dataset="tabular"``, rows of a 2-D array
(``features="pixels"`` then means the columns themselves). Features are standardised with the
training mean and standard deviation, and the log-density reported is that of the features (the
standardisation's Jacobian is included, so for tabular data it is a proper density of the inputs).

Differences from the paper, on purpose: the paper normalises every layer to norm ``k``, so its
networks are ``k ** depth``-Lipschitz; here ``lipschitz`` is the constant of each whole ``s`` and
``t`` network (``K ** (1 / depth)`` per layer), which is what the tests measure. The paper uses
VGG19 ImageNet features for CIFAR-10, which cannot be downloaded here; the chapter uses PCA.

The contaminated training sets and the two-moons toy problem are in :mod:`adlip.data`, the paper's
numbers in :mod:`adlip.reference.realnvp`.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from adlip.checks import check_integer, check_number
from adlip.detectors.base import BaseDetector, Schedule, train_epochs, weight_penalty
from adlip.detectors.registry import Algorithm, register

TABULAR = "tabular"
FEATURES = ("auto", "pca", "pixels")
DEFAULT_SCHEDULE = Schedule(((100, 1e-3),), batch_size=256, weight_decay=1e-6)
LOG_2PI = math.log(2.0 * math.pi)

# --- the trimmed likelihood ---------------------------------------------------------------

def trim_count(batch_size: int, trim_fraction: float) -> int:
    """How many points of a batch of ``batch_size`` are dropped: ``floor(trim_fraction * batch_size)``,
    never all of them."""
    return min(int(math.floor(trim_fraction * batch_size + 1e-9)), batch_size - 1)


def trimmed_negative_log_likelihood(log_density, trim_fraction: float):
    """Mean of ``-log_density`` over the points left after dropping the lowest-density fraction.

    The dropped points get exactly zero gradient (Algorithm 1 of the paper: the gradient rows of
    the ``trim_fraction`` least likely points are removed, the rest are averaged).
    """
    import tensorflow as tf

    size = tf.shape(log_density)[0]
    keep = size - tf.minimum(tf.cast(tf.floor(trim_fraction * tf.cast(size, tf.float32) + 1e-6), tf.int32),
                             size - 1)
    kept, _ = tf.math.top_k(log_density, k=keep)
    return -tf.reduce_mean(kept)


def _check_fraction(value, name, upper=0.5):
    return check_number(name, value, low=0.0, high=upper, high_closed=False, finite=False,
                        what=f"a number in [0, {upper})")


# --- the detector ---------------------------------------------------------------------------

def coupling_indices(n_features: int, coupling: int):
    """(conditioning, transformed) feature indices of a coupling: even and odd positions, alternating."""
    positions = np.arange(n_features)
    conditioning = positions[(positions + coupling) % 2 == 0]
    return conditioning, positions[(positions + coupling) % 2 == 1]


class RobustRealNVP(BaseDetector):
    """Real NVP density estimator with trimmed likelihood and Lipschitz ``s``/``t`` networks.

    Parameters beyond the base class's: ``n_couplings`` affine coupling layers with alternating
    masks; ``hidden`` units in each of ``depth - 1`` hidden layers of every ``s`` and ``t`` network
    (``depth`` dense layers in all, ReLU between them; one network per coupling computes both,
    and ``s`` passes through ``tanh``); ``lipschitz`` the Lipschitz constant K of every coupling's
    network, hence of its ``s`` and ``t`` (None: plain dense layers); ``trim_fraction`` the
    fraction of each batch dropped (0: plain maximum likelihood); ``features`` ("auto": "pca" for
    images, "pixels" for tabular data) and ``n_components`` (PCA dimensions, at most the number
    of inputs). ``dataset="tabular"`` accepts 2-D arrays.

    Training: Adam on the trimmed negative log-likelihood plus ``weight_decay / 2 * sum ||W||^2``
    (default schedule: 100 epochs at 1e-3, batch 256, weight decay 1e-6). After training, the
    deel-lip layers are exported to plain ``Dense`` layers holding their normalised kernels.

    Fitted attributes: ``coupling_<i>_`` (coupling i's network ``a -> (s_raw, t)``, saved as
    ``coupling_<i>.keras``; ``coupling_networks_`` lists them), ``n_features_in_``, ``features_``
    (the resolved feature kind), ``pca_mean_``, ``pca_components_`` (None without PCA),
    ``feature_mean_``, ``feature_scale_``, and the base class's ``decision_scores_``,
    ``threshold_``, ``labels_``, ``history_`` (per epoch: ``loss``, the trimmed objective with the
    penalty; ``nll``, the untrimmed mean negative log-likelihood), ``train_seconds_``, ``schedule_``.
    """

    family = "realnvp"
    _state_attributes = BaseDetector._state_attributes + (
        "n_features_in_", "features_", "pca_mean_", "pca_components_", "feature_mean_", "feature_scale_")

    def __init__(self, dataset="mnist", lipschitz=2.0, seed=0, schedule=None, epochs_scale=1.0,
                 n_couplings=6, hidden=64, depth=3, trim_fraction=0.1, features="auto", n_components=32,
                 batch_size=None, verbose=1, contamination=0.1):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.n_couplings = n_couplings
        self.hidden = hidden
        self.depth = depth
        self.trim_fraction = trim_fraction
        self.features = features
        self.n_components = n_components

    # -- parameters and input ----------------------------------------------------------------
    @property
    def variant(self) -> str:
        """The paper's name for this configuration: RealNVP, TrimRealNVP or RobustRealNVP."""
        if self.lipschitz is None:
            return "TrimRealNVP" if self.trim_fraction else "RealNVP"
        return "RobustRealNVP" if self.trim_fraction else "LipschitzRealNVP"

    def default_schedule(self) -> Schedule:
        return DEFAULT_SCHEDULE

    def _check_params(self) -> None:
        if self.dataset == TABULAR:
            # The base class checks every shared parameter but only knows image data sets.
            stand_in = copy.copy(self)
            stand_in.dataset = "mnist"
            BaseDetector._check_params(stand_in)
        else:
            super()._check_params()
        for name, minimum in (("n_couplings", 2), ("hidden", 1), ("depth", 1), ("n_components", 2)):
            check_integer(name, getattr(self, name), minimum)
        _check_fraction(self.trim_fraction, "trim_fraction")
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {self.features!r}")
        if self.dataset == TABULAR and self.features == "pca":
            raise ValueError("features='pca' is for images; tabular data is used as it is "
                             "(features='auto' or 'pixels'); reduce it yourself if needed")

    @property
    def resolved_features(self) -> str:
        if self.features != "auto":
            return self.features
        return "pixels" if self.dataset == TABULAR else "pca"

    def _check_X(self, X) -> np.ndarray:
        """X as float32 (N, n_inputs): tabular rows, or flattened images of ``dataset``."""
        if self.dataset != TABULAR:
            x = super()._check_X(X)
            return x.reshape(len(x), -1)
        x = np.asarray(X)
        if x.dtype.kind not in "fiub":
            raise ValueError(f"X must hold numbers, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[1] < 2:
            raise ValueError(f"tabular X must have shape (n_samples, n_features) with n_features >= 2 "
                             f"(a coupling layer splits the features in two), got {x.shape}")
        if len(x) == 0:
            raise ValueError("X is empty; pass at least one row")
        x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise ValueError(f"X contains {int((~np.isfinite(x)).sum())} NaN or infinite values; "
                             "clean or drop those rows")
        return x

    # -- features ----------------------------------------------------------------------------
    def _fit_features(self, x: np.ndarray) -> None:
        from sklearn.decomposition import PCA

        self.n_features_in_ = x.shape[1]
        self.features_ = self.resolved_features
        self.pca_mean_ = self.pca_components_ = None
        values = x.astype(np.float64)
        if self.features_ == "pca":
            if self.n_components > min(x.shape):
                raise ValueError(f"n_components={self.n_components} exceeds min(n_samples, n_inputs) = "
                                 f"{min(x.shape)}; lower it or pass more training data")
            pca = PCA(n_components=self.n_components, svd_solver="full", random_state=self.seed).fit(values)
            self.pca_mean_, self.pca_components_ = pca.mean_, pca.components_
            values = self._project(values)
        self.feature_mean_ = values.mean(axis=0)
        scale = values.std(axis=0)
        self.feature_scale_ = np.where(scale > 1e-8, scale, 1.0)

    def _project(self, values: np.ndarray) -> np.ndarray:
        if self.pca_components_ is None:
            return values
        return (values - self.pca_mean_) @ self.pca_components_.T

    def _standardised(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features but the detector was fitted on "
                             f"{self.n_features_in_}")
        values = self._project(x.astype(np.float64))
        return ((values - self.feature_mean_) / self.feature_scale_).astype(np.float32)

    def transform(self, X) -> np.ndarray:
        """The standardised feature vectors the flow models (float32, (N, n_features))."""
        self._check_fitted()
        return self._standardised(self._check_X(X))

    @property
    def n_flow_features(self) -> int:
        return len(self.feature_mean_)

    # -- networks ----------------------------------------------------------------------------
    def _conditioner(self, inputs: int, outputs: int, seed: int, name: str):
        """A coupling's network ``a -> (s_raw, t)``: ``2 * outputs`` values, K-Lipschitz if ``lipschitz``.

        ``s = tanh(s_raw)``; one network computes both (shared hidden layers), so bounding its
        constant by K bounds the constants of ``s`` and ``t`` by K as well.
        """
        import tensorflow as tf

        widths = [self.hidden] * (self.depth - 1) + [2 * outputs]
        activations = ["relu"] * (self.depth - 1) + [None]
        layers = []
        for index, (width, activation) in enumerate(zip(widths, activations)):
            start = tf.keras.initializers.GlorotUniform(seed=seed * 100 + index)
            if self.lipschitz is None:
                layers.append(tf.keras.layers.Dense(width, activation=activation, kernel_initializer=start))
            else:
                from deel.lip.initializers import SpectralInitializer
                from deel.lip.layers import SpectralDense

                per_layer = self.lipschitz ** (1.0 / self.depth)
                layers.append(SpectralDense(
                    width, activation=activation, k_coef_lip=per_layer, eps_bjorck=None,
                    kernel_initializer=SpectralInitializer(eps_bjorck=None, base_initializer=start)))
        model = tf.keras.Sequential(layers, name=name)
        model.build((None, inputs))
        return model

    @property
    def _network_attributes(self) -> tuple:
        return tuple(f"coupling_{i}_" for i in range(self.n_couplings))

    @property
    def coupling_networks_(self) -> list:
        """The conditioner network of every coupling (``a -> (s_raw, t)``), in order."""
        return [getattr(self, name) for name in self._network_attributes]

    def _build_networks(self) -> None:
        for i, name in enumerate(self._network_attributes):
            conditioning, transformed = coupling_indices(self.n_flow_features, i)
            setattr(self, name, self._conditioner(len(conditioning), len(transformed), self.seed * 1000 + i,
                                                  name.rstrip("_")))

    # -- the flow ----------------------------------------------------------------------------
    def _flow(self, u, training: bool = False, collect: bool = False):
        """Map standardised features ``u`` to the latent ``z``; return (z, log|det J|[, inputs]).

        Coupling i keeps its conditioning half ``a`` and maps the other half ``b`` to
        ``b * exp(s_i(a)) + t_i(a)``; its log-determinant is ``sum s_i(a)``.
        """
        import tensorflow as tf

        h = tf.convert_to_tensor(u)
        log_det = tf.zeros(tf.shape(h)[0], dtype=h.dtype)
        inputs = []
        for i, network in enumerate(self.coupling_networks_):
            conditioning, transformed = coupling_indices(self.n_flow_features, i)
            a, b = tf.gather(h, conditioning, axis=1), tf.gather(h, transformed, axis=1)
            if collect:
                inputs.append(a)
            s_raw, t = tf.split(network(a, training=training), 2, axis=1)
            s = tf.tanh(s_raw)
            b = b * tf.exp(s) + t
            log_det += tf.reduce_sum(s, axis=1)
            inverse = np.argsort(np.concatenate([conditioning, transformed]))
            h = tf.gather(tf.concat([a, b], axis=1), inverse, axis=1)
        return (h, log_det, inputs) if collect else (h, log_det)

    def _log_density_standardised(self, u, training: bool = False):
        import tensorflow as tf

        z, log_det = self._flow(u, training=training)
        d = float(self.n_flow_features)
        return -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * d * LOG_2PI + log_det

    def _log_density(self, x: np.ndarray) -> np.ndarray:
        u = self._standardised(x)
        jacobian = -float(np.log(self.feature_scale_).sum())
        values = [np.asarray(self._log_density_standardised(u[i:i + 4096])) for i in range(0, len(u), 4096)]
        return np.concatenate(values).astype(np.float64) + jacobian

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each row's features (scikit-learn's sign: higher = more normal)."""
        self._check_fitted()
        return self._log_density(self._check_X(X))

    # -- training and scoring ----------------------------------------------------------------
    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self._fit_features(x)
        u = self._standardised(x)
        self._build_networks()
        networks = self.coupling_networks_
        weights = [w for net in networks for w in net.trainable_weights]
        decay, trim = self.schedule_.weight_decay, float(self.trim_fraction)
        # The legacy Adam applies one fused op per variable, and creating its slots up front spares
        # the step a second trace: together they cut the first epoch's tracing time about five-fold.
        optimizer = tf.keras.optimizers.legacy.Adam(self.schedule_.phases[0][1])
        optimizer._create_all_weights(weights)

        @tf.function(reduce_retracing=True)
        def step(batch):
            with tf.GradientTape() as tape:
                log_density = self._log_density_standardised(batch, training=True)
                objective = trimmed_negative_log_likelihood(log_density, trim)
                loss = objective + tf.add_n([weight_penalty(net, decay) for net in networks])
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            return {"loss": loss, "nll": -tf.reduce_mean(log_density)}

        history = train_epochs(step, u, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                               description=f"{self.variant} {self.dataset}")
        self._export_networks()
        return history

    def _export_networks(self) -> None:
        """Replace deel-lip networks by plain Dense ones with the final normalised kernels."""
        if self.lipschitz is None:
            return
        from adlip.architectures import export_vanilla, refresh_lipschitz_kernels

        for name in self._network_attributes:
            network = getattr(self, name)
            refresh_lipschitz_kernels(network)
            setattr(self, name, export_vanilla(network))

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -self._log_density(x)

    # -- the Lipschitz claim -----------------------------------------------------------------
    @property
    def lipschitz_network(self):
        """The first coupling's network ``a -> (s_raw, t)``; every coupling's is K-Lipschitz."""
        self._check_fitted()
        return self.coupling_0_

    def lipschitz_inputs(self, X, seed: int = 0) -> np.ndarray:
        """What ``lipschitz_network`` sees for ``X``: the first coupling's conditioning features."""
        return self.conditioner_inputs(X)[0]

    def conditioner_inputs(self, X) -> list:
        """For each coupling, the inputs its network receives for ``X`` (numpy arrays)."""
        self._check_fitted()
        _, _, inputs = self._flow(self.transform(X), collect=True)
        return [np.asarray(a) for a in inputs]


register(Algorithm("realnvp", RobustRealNVP, "RobustRealNVP", "companion"))
