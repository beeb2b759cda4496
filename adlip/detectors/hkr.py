"""One-class learning with a 1-Lipschitz classifier and the hinge Kantorovich-Rubinstein loss.

Béthune and Serrurier (NeurIPS 2022 ML Safety Workshop, "Certifiable metric one class learning
with adversarially trained Lipschitz classifier"; the ICML 2023 paper ``bethune2023`` develops it)
turn one-class learning into binary classification: normal data (label +1) against negatives
(label -1) that the classifier itself generates. The classifier ``f`` is a 1-Lipschitz deel-lip
network trained with the hinge Kantorovich-Rubinstein (HKR) loss, whose minimiser approximates
the signed distance to the boundary of the normal data. Negatives come from Algorithm 1: uniform
noise over the input domain, moved by a few Newton-Raphson-like steps towards the level set
``f = -margin``. Training (Algorithm 2) alternates one generation of negatives with the model
frozen and one optimiser step. The anomaly score is ``-f(x)``; since ``f`` is 1-Lipschitz, an
L2 perturbation of size ``eps`` moves a score by at most ``eps``, which gives the certificates of
:func:`certified_auroc`. Chapter :ref:`chap-one-class-hkr` explains and runs it.

The paper's numbers are reference data in :mod:`adlip.reference.hkr`; the chapter's runs are
:mod:`adlip.studies.hkr`.
"""
from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from adlip.detectors.base import BaseDetector, Schedule, predict_in_batches, train_epochs, weight_penalty
from adlip.detectors.registry import Algorithm, register
from adlip.detectors.scoring import network_constant

TABULAR = "tabular"
ARCHITECTURES = ("conv", "dense")
ACTIVATIONS = ("fullsort", "groupsort2")
IMAGE_DOMAIN = (-1.0, 1.0)     # images scaled with scaling="tanh"
TABULAR_DOMAIN = (-5.0, 5.0)   # standardised features; the paper's toy data lie in a ball of radius 5
TABULAR_MARGIN = 0.05          # the paper's margin for its 2-D toy data
# The paper's 1000 epochs with Adam's default learning rate, batch 128, no weight decay.
IMAGE_SCHEDULE = Schedule(((1000, 1e-3),), batch_size=128, weight_decay=0.0)
# 2-D toy data: a few thousand points at batch 256, about the paper's 10 000 gradient steps.
TABULAR_SCHEDULE = Schedule(((1000, 1e-3),), batch_size=256, weight_decay=0.0)


def default_margin(input_shape, domain) -> float:
    """The paper's image margin, ``0.02 * sqrt(d * (high - low))`` (0.79 for MNIST in [-1, 1])."""
    low, high = domain
    return 0.02 * math.sqrt(int(np.prod(input_shape)) * (high - low))


def hkr_loss(f_normal, f_negative, margin: float, hkr_lambda: float):
    """The paper's eq. (2): ``E_P[lambda (m - f)_+ - f] + E_Q[lambda (m + f)_+ + f]``.

    ``f_normal`` are the network's outputs on normal data (label +1), ``f_negative`` on negatives
    (label -1). Returns ``(loss, hinge, wasserstein)``: the hinge part (both means, before
    ``lambda``) and ``E_P f - E_Q f``, the Kantorovich-Rubinstein estimate of the Wasserstein-1
    distance between the two sets. With equal batch sizes this equals deel-lip's
    ``HKR(alpha=2 * lambda, min_margin=2 * margin)`` on the stacked batch (deel-lip's hinge is
    ``(min_margin / 2 - y f)_+`` averaged over both sets together); ``tests/test_hkr.py`` checks it.
    """
    import tensorflow as tf

    hinge = tf.reduce_mean(tf.nn.relu(margin - f_normal)) + tf.reduce_mean(tf.nn.relu(margin + f_negative))
    wasserstein = tf.reduce_mean(f_normal) - tf.reduce_mean(f_negative)
    return hkr_lambda * hinge - wasserstein, hinge, wasserstein


def _activation(name):
    from deel.lip.layers import FullSort, GroupSort2

    return FullSort() if name == "fullsort" else GroupSort2()


def build_network(input_shape, architecture: str = "conv", width: int = 128, activation: str = "fullsort",
                  seed: int = 0):
    """A 1-Lipschitz network ``R^input_shape -> R`` of deel-lip layers.

    ``"conv"`` is the paper's Table 2 with ``width`` filters and units: four 3x3
    ``SpectralConv2D`` layers, each followed by the activation and 2x2 L2-norm pooling (global
    L2-norm pooling after the last), three ``SpectralDense(width)`` with the activation, and a
    ``SpectralDense(1)``. ``"dense"`` flattens the input and stacks four ``SpectralDense(width)``
    layers with the activation, then ``SpectralDense(1)`` (the paper's 2-D toy network).
    Every layer is 1-Lipschitz in L2 (orthogonal kernels by Björck's algorithm, sorting
    activations, norm pooling), hence so is the network. Built without an input layer, then
    ``build`` (see REFERENCE.md); :func:`refresh_kernels` then makes the normalised kernels that
    deel-lip uses for inference valid right away.
    """
    import tensorflow as tf
    from deel.lip.initializers import SpectralInitializer
    from deel.lip.layers import (ScaledGlobalL2NormPooling2D, ScaledL2NormPooling2D, SpectralConv2D,
                                 SpectralDense)

    seeds = iter(range(seed * 1000 + 1, seed * 1000 + 1000))

    def start():
        # A seeded draw, then normalised (deel-lip's default orthogonal draw is unseeded).
        return SpectralInitializer(base_initializer=tf.keras.initializers.GlorotUniform(seed=next(seeds)))

    layers = []
    if architecture == "conv":
        for block in range(4):
            layers += [SpectralConv2D(width, 3, padding="same", kernel_initializer=start()), _activation(activation),
                       ScaledL2NormPooling2D((2, 2)) if block < 3 else ScaledGlobalL2NormPooling2D()]
        hidden = 3
    else:
        layers.append(tf.keras.layers.Flatten())
        hidden = 4
    for _ in range(hidden):
        layers += [SpectralDense(width, kernel_initializer=start()), _activation(activation)]
    layers.append(SpectralDense(1, kernel_initializer=start()))
    model = tf.keras.Sequential(layers, name=f"hkr_{architecture}")
    model.build((None,) + tuple(input_shape))
    refresh_kernels(model)
    return model


def refresh_kernels(model, tolerance: float = 1e-6, max_calls: int = 100) -> None:
    """Recompute the normalised kernel of every ``SpectralDense`` / ``SpectralConv2D`` of ``model``.

    deel-lip keeps the normalised kernel it used in its last training-mode call and uses it for
    inference; its power iteration (for the largest singular value) is warm-started from the
    previous call. Each layer is called in training mode until that estimate settles, so that
    inference right after building, or after the last optimiser step, uses normalised kernels of
    the current weights.
    """
    for layer in model.layers:
        if not hasattr(layer, "sig"):
            continue
        zeros = np.zeros((1,) + tuple(layer.input_shape[1:]), dtype="float32")
        previous = None
        for _ in range(max_calls):
            layer(zeros, training=True)
            sigma = float(np.asarray(layer.sig).reshape(-1)[0])
            if previous is not None and abs(sigma - previous) <= tolerance * abs(previous):
                break
            previous = sigma


def _is_int(value, minimum: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= minimum


def _is_positive(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value) and value > 0


class OneClassHKR(BaseDetector):
    """One-class classifier: a 1-Lipschitz network trained with the HKR loss against its own negatives.

    Parameters beyond the base class's (``dataset``, ``seed``, ``schedule``, ``epochs_scale``,
    ``batch_size``, ``verbose``, ``contamination``):

    * ``dataset``: an image data set of ``adlip.data`` or ``"tabular"`` (rows of features, e.g.
      2-D toy data; the number of features is taken from the training data).
    * ``lipschitz``: the network's Lipschitz constant; only ``1.0`` (the theory needs it).
    * ``margin``: the hinge margin m; None takes the paper's (images: ``0.02 sqrt(d (high -
      low))``, 0.79 on MNIST; tabular: 0.05).
    * ``hkr_lambda``: the weight lambda of the hinge term (paper: 200 on MNIST, 100 on toy data).
    * ``newton_steps``: T, the steps of Algorithm 1 per generated batch (paper: 16 / 4).
    * ``warmup_epochs``: the first epochs train against raw uniform noise; scaled by
      ``epochs_scale`` like the schedule (rounded up), and at least one epoch is always left for
      generated negatives when the schedule has more than one epoch.
    * ``architecture``: ``"conv"`` (the paper's Table 2; images only) or ``"dense"``; None takes
      ``"conv"`` for images and ``"dense"`` for tabular data.
    * ``width``: filters and units per layer; None takes the paper's (128 images, 512 tabular).
    * ``activation``: ``"fullsort"`` or ``"groupsort2"``; None takes ``"fullsort"`` for images
      (Table 2) and ``"groupsort2"`` for tabular data.
    * ``domain``: ``(low, high)``, the box B that negatives are drawn from and clipped to; None
      takes ``(-1, 1)`` for images (``scaling="tanh"``) and ``(-5, 5)`` for tabular data
      (standardise the features first). Training data must lie inside it.

    Default schedule: 1000 epochs at learning rate 1e-3 (Adam), batch 128 for images, 256 for
    tabular data, no weight decay. Scores are ``-f(x)``: about the distance to the learnt
    boundary of the normal data, negative inside it. Fitted attributes: ``network_`` (the
    1-Lipschitz ``f``), ``margin_``, ``domain_``, ``warmup_epochs_``, ``epochs_trained_``,
    ``n_features_in_`` (tabular) and the base class's. ``history_`` holds per epoch the
    loss, the hinge term, the Wasserstein estimate ``E_P f - E_Q f``, the mean of ``f`` on the
    negatives and whether the epoch's negatives were raw noise.
    """

    family = "hkr"
    scaling = "tanh"   # the one_vs_rest scaling this detector needs: pixels in [-1, 1]
    _network_attributes = ("network_",)
    _state_attributes = BaseDetector._state_attributes + (
        "margin_", "domain_", "warmup_epochs_", "epochs_trained_", "n_features_in_")

    def __init__(self, dataset="mnist", lipschitz=1.0, seed=0, schedule=None, epochs_scale=1.0, margin=None,
                 hkr_lambda=200.0, newton_steps=16, warmup_epochs=10, architecture=None, width=None,
                 activation=None, domain=None, batch_size=None, verbose=1, contamination=0.1):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.margin = margin
        self.hkr_lambda = hkr_lambda
        self.newton_steps = newton_steps
        self.warmup_epochs = warmup_epochs
        self.architecture = architecture
        self.width = width
        self.activation = activation
        self.domain = domain

    # -- defaults that depend on the data set --
    @property
    def is_tabular(self) -> bool:
        return self.dataset == TABULAR

    def default_schedule(self) -> Schedule:
        return TABULAR_SCHEDULE if self.is_tabular else IMAGE_SCHEDULE

    def resolved_architecture(self) -> str:
        return self.architecture or ("dense" if self.is_tabular else "conv")

    def resolved_width(self) -> int:
        return self.width or (512 if self.is_tabular else 128)

    def resolved_activation(self) -> str:
        return self.activation or ("groupsort2" if self.is_tabular else "fullsort")

    def resolved_domain(self) -> tuple:
        low, high = self.domain or (TABULAR_DOMAIN if self.is_tabular else IMAGE_DOMAIN)
        return float(low), float(high)

    def resolved_margin(self, input_shape) -> float:
        if self.margin is not None:
            return float(self.margin)
        return TABULAR_MARGIN if self.is_tabular else default_margin(input_shape, self.resolved_domain())

    @property
    def input_shape(self) -> tuple:
        if self.is_tabular:
            return (getattr(self, "n_features_in_", None),)
        return super().input_shape

    # -- validation --
    def _check_params(self) -> None:
        if self.is_tabular:
            # The base class knows the image data sets only; check its other parameters as if for one.
            BaseDetector._check_params(copy.copy(self).set_params(dataset="mnist"))
        else:
            super()._check_params()
        if self.lipschitz != 1.0:
            raise ValueError(f"lipschitz must be 1.0: the HKR loss learns a signed distance only with a "
                             f"1-Lipschitz network, got {self.lipschitz!r}")
        if self.margin is not None and not _is_positive(self.margin):
            raise ValueError(f"margin must be None (the paper's) or a positive number, got {self.margin!r}")
        if not _is_positive(self.hkr_lambda):
            raise ValueError(f"hkr_lambda must be a positive number, got {self.hkr_lambda!r}")
        if not _is_int(self.newton_steps, 1):
            raise ValueError(f"newton_steps must be an integer >= 1, got {self.newton_steps!r}")
        if not _is_int(self.warmup_epochs, 0):
            raise ValueError(f"warmup_epochs must be an integer >= 0, got {self.warmup_epochs!r}")
        if self.architecture is not None and self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be None or one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.is_tabular and self.architecture == "conv":
            raise ValueError("architecture='conv' needs images; use 'dense' (or None) for tabular data")
        if self.width is not None and not (_is_int(self.width, 2) and self.width % 2 == 0):
            raise ValueError(f"width must be None or an even integer >= 2 (GroupSort2 pairs units), "
                             f"got {self.width!r}")
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be None or one of {ACTIVATIONS}, got {self.activation!r}")
        if self.domain is not None:
            try:
                low, high = (float(v) for v in self.domain)
            except (TypeError, ValueError):
                raise ValueError(f"domain must be None or a pair (low, high), got {self.domain!r}") from None
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"domain must be a pair of finite numbers low < high, got {self.domain!r}")

    def _check_X(self, X) -> np.ndarray:
        if not self.is_tabular:
            return super()._check_X(X)
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, n_features) for dataset='tabular', got {X.shape}")
        if len(X) == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape {X.shape}); pass at least one sample with one feature")
        expected = getattr(self, "n_features_in_", None)
        if expected is not None and X.shape[1] != expected:
            raise ValueError(f"X has {X.shape[1]} features, but this detector was fitted on {expected}")
        X = X.astype(np.float32, copy=False)
        bad = ~np.isfinite(X)
        if bad.any():
            raise ValueError(f"X contains {int(bad.sum())} NaN or infinite values in "
                             f"{int(bad.any(1).sum())} rows; clean or drop them")
        return X

    def _check_inside_domain(self, x: np.ndarray) -> None:
        low, high = self.resolved_domain()
        outside = (x < low - 1e-6) | (x > high + 1e-6)
        if outside.any():
            hint = ("scale images with adlip.data.one_vs_rest(..., scaling='tanh')" if not self.is_tabular
                    else "standardise the features or widen `domain`")
            raise ValueError(f"the training data must lie in the domain [{low:g}, {high:g}] that negatives are "
                             f"drawn from, but {int(outside.sum())} values lie outside "
                             f"(min {x.min():.3g}, max {x.max():.3g}); {hint}")

    def fit(self, X, y=None):
        """Train on ``X`` (normal data only; ``y`` is ignored) and score it. Returns ``self``."""
        self.__dict__.pop("n_features_in_", None)   # a refit may see another number of features
        self._check_params()
        x = self._check_X(X)
        self._check_inside_domain(x)
        if self.is_tabular:
            self.n_features_in_ = x.shape[1]
        return super().fit(x, y)

    # -- training --
    def _warmup_epochs(self, total_epochs: int) -> int:
        scaled = math.ceil(self.warmup_epochs * self.epochs_scale - 1e-9)
        return max(0, min(scaled, total_epochs - 1))

    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self.margin_ = self.resolved_margin(x.shape[1:])
        self.domain_ = self.resolved_domain()
        self.network_ = build_network(x.shape[1:], self.resolved_architecture(), self.resolved_width(),
                                      self.resolved_activation(), seed=self.seed)
        model, margin, lam = self.network_, self.margin_, float(self.hkr_lambda)
        decay = self.schedule_.weight_decay
        optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1])
        generator = tf.random.Generator.from_seed(self.seed)
        negatives = _NegativeSampler(model, x.shape[1:], self.domain_, generator)

        @tf.function(reduce_retracing=True)
        def train_step(batch, negative):
            with tf.GradientTape() as tape:
                outputs = model(tf.concat([batch, negative], axis=0), training=True)
                f_normal, f_negative = outputs[:tf.shape(batch)[0]], outputs[tf.shape(batch)[0]:]
                loss, hinge, wasserstein = hkr_loss(f_normal, f_negative, margin, lam)
                loss += weight_penalty(model, decay)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return {"loss": loss, "hinge": hinge, "wasserstein": wasserstein,
                    "f_negative": tf.reduce_mean(f_negative)}

        total = self.schedule_.total_epochs
        self.warmup_epochs_ = self._warmup_epochs(total)
        phase = {"noise": True}

        def on_epoch_start(epoch):
            phase["noise"] = epoch < self.warmup_epochs_

        def on_epoch_end(epoch, logs):
            logs["noise_negatives"] = float(phase["noise"])

        def step(batch):
            n = len(batch)
            if phase["noise"]:
                negative = negatives.uniform(n)
            else:
                negative = negatives.newton(n, level=-margin, steps=self.newton_steps, random_rate=True)
            return train_step(tf.constant(batch), negative)

        history = train_epochs(step, x, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                               description=f"one-class HKR {self.dataset}", on_epoch_start=on_epoch_start,
                               on_epoch_end=on_epoch_end)
        refresh_kernels(model)   # inference uses the kernels of the last optimiser step
        self.epochs_trained_ = total
        return history

    # -- scoring --
    def _f(self, x: np.ndarray) -> np.ndarray:
        model = self.network_
        return predict_in_batches(lambda batch: model(batch, training=False), x).reshape(len(x))

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -self._f(x).astype(np.float64)

    def classifier_output(self, X) -> np.ndarray:
        """``f(X)``: positive inside the learnt support, about the signed distance to its boundary."""
        self._check_fitted()
        return self._f(self._check_X(X)).astype(np.float64)

    def generate(self, n_samples=None, level=None, steps: int = 64, random_rate: bool = False, seed: int = 0,
                 start=None) -> np.ndarray:
        """Algorithm 1 on the trained network: points moved towards the level set ``f = level``.

        The walk starts from ``n_samples`` points of uniform noise over the domain, or from the
        points ``start`` (then leave ``n_samples`` None). ``level`` None takes ``2 * margin_``
        (inside the support: the paper's image synthesis); ``-margin_`` gives the kind of
        negatives training sees. ``random_rate`` draws the step size eta ~ U(0, 1) per sample (as
        in training) instead of eta = 1 (the paper's synthesis).
        """
        import tensorflow as tf

        self._check_fitted()
        if (n_samples is None) == (start is None):
            raise ValueError("pass either n_samples (start from uniform noise) or start (the points to move)")
        if start is not None:
            start = self._check_X(start)
        elif not _is_int(n_samples, 1):
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        if not _is_int(steps, 1):
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        level = 2 * self.margin_ if level is None else float(level)
        shape = tuple(self.network_.input_shape[1:])
        sampler = _NegativeSampler(self.network_, shape, self.domain_, tf.random.Generator.from_seed(seed))
        n = len(start) if start is not None else int(n_samples)
        return sampler.newton(n, level=level, steps=int(steps), random_rate=random_rate, start=start).numpy()

    @property
    def lipschitz_network(self):
        """The classifier f itself (input -> one value), 1-Lipschitz in L2."""
        return self.network_

    def score_tensor(self, x):
        """``-f(x)`` per input: the score ``decision_function`` returns."""
        import tensorflow as tf

        return -tf.reshape(self.network_(x, training=False), (-1,))

    def score_lipschitz_constant(self):
        """The classifier's constant (1, with deel-lip's margin): ``-f`` is as Lipschitz as ``f``."""
        return network_constant(self)


class _NegativeSampler:
    """Algorithm 1 of the paper: uniform noise over the domain, then Newton-Raphson-like steps.

    Each step moves ``z`` by ``-(eta / T) (f(z) - level) grad f(z) / ||grad f(z)||^2`` and clips it
    to the domain: a 1/T fraction of the step that would put ``z`` on the level set if ``f`` were
    linear. With eta drawn from U(0, 1) per sample, the negatives spread over the path from the
    noise to the level set instead of piling up on it.
    """

    def __init__(self, model, shape, domain, generator):
        import tensorflow as tf

        self.tf, self.model, self.shape, self.generator = tf, model, tuple(shape), generator
        self.low, self.high = (float(v) for v in domain)
        self._walk = tf.function(self._walk_python, reduce_retracing=True)

    def uniform(self, n: int):
        return self.generator.uniform((n,) + self.shape, self.low, self.high)

    def newton(self, n: int, level: float, steps: int, random_rate: bool, start=None):
        tf = self.tf
        z = self.uniform(n) if start is None else tf.constant(start)
        rate_shape = (n,) + (1,) * len(self.shape)
        eta = self.generator.uniform(rate_shape) if random_rate else tf.ones(rate_shape)
        return self._walk(z, eta, tf.constant(level, tf.float32), tf.constant(steps))

    def _walk_python(self, z, eta, level, steps):
        tf = self.tf
        axes = list(range(1, len(self.shape) + 1))
        rate = eta / tf.cast(steps, tf.float32)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(z)
                f = self.model(z, training=False)
            gradient = tape.gradient(f, z)
            squared_norm = tf.reduce_sum(tf.square(gradient), axis=axes, keepdims=True)
            gap = tf.reshape(f, (-1,) + (1,) * len(self.shape)) - level
            z = z - rate * gap * gradient / tf.maximum(squared_norm, 1e-12)
            z = tf.clip_by_value(z, self.low, self.high)
        return z


register(Algorithm("hkr", OneClassHKR, "One-class HKR", "companion", lipschitz=1.0))
