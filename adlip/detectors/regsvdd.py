"""Regularized Deep SVDD: Deep SVDD with bias terms, kept from collapsing by a regularizer.

Chong, Ruff, Kloft and Binder (2020, "Simple and effective prevention of mode collapse in deep
one-class classification") drop Deep SVDD's rule that the network has no bias terms. A network with
biases can map every input to the center c (zero weights, bias c) and so reach zero loss while
learning nothing: *hypersphere collapse*. Two regularizers keep it away from that solution:

* ``"noise"`` (the paper's eq. 4): a linear head on top of the embedding is trained with sigmoid
  cross-entropy on ``k`` random binary labels, drawn anew for every sample at every step; the head
  is dropped after training.
* ``"variance"`` (eq. 5): a hinge on the minibatch variance of the embedding (the sample variance
  averaged over its dimensions), active while it lies below a threshold ``d``; ``d`` starts at
  ``variance_threshold`` and is divided by 10 every ``threshold_every`` epochs.

Either enters the loss with the adaptive weight of eqs. 6 and 7, ``L = L_svdd + c_t L_reg`` with
``c_t = alpha c_{t-1} + beta (1 - alpha) L_svdd / L_reg`` updated at every step from the current
minibatch (``c_0 = 0``). Chapter :ref:`chap-regularized-deep-svdd` explains and runs it.

The paper's numbers are reference data in :mod:`adlip.reference.regsvdd` (it has no MNIST
experiments; its one-vs-all numbers are on CIFAR-10 with a pretrained ResNet-18); the chapter's runs
are :mod:`adlip.studies.regsvdd`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from adlip.checks import check_integer, check_number
from adlip import architectures
from adlip.detectors.base import BaseDetector, Schedule, train_epochs, weight_penalty
from adlip.detectors.dcae import check_orthogonalization
from adlip.detectors.deepsvdd import COLLAPSE_RATIO, DeepSVDD
from adlip.reference.regsvdd import PAPER_MODEL_NAMES
from adlip.detectors.registry import Algorithm, register

REGULARIZERS = ("none", "noise", "variance")
# The paper's schedule: 30 epochs of Adam at 1e-4 (the noise head at 10 times that), batch 50, weight decay 5e-4.
SCHEDULE = Schedule(((30, 1e-4),), batch_size=50, weight_decay=5e-4)
MONITOR_SIZE = 1000   # training images whose embedding variance is tracked after every epoch


def minibatch_variance(outputs):
    """The paper's eq. 5 statistic: per-dimension sample variance (n - 1) of a batch, averaged over dimensions."""
    import tensorflow as tf

    n = tf.cast(tf.shape(outputs)[0], outputs.dtype)
    centred = outputs - tf.reduce_mean(outputs, axis=0, keepdims=True)
    return tf.reduce_mean(tf.reduce_sum(tf.square(centred), axis=0)) / tf.maximum(n - 1.0, 1.0)


def variance_hinge(outputs, threshold):
    """Eq. 5: ``max(0, d - variance)``, positive only while the batch variance is below ``threshold``."""
    import tensorflow as tf

    return tf.nn.relu(threshold - minibatch_variance(outputs))


def random_label_loss(logits, labels):
    """Eq. 4: sigmoid cross-entropy averaged over samples and the ``k`` label columns (log 2 at chance)."""
    import tensorflow as tf

    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def adaptive_weight(previous, svdd_loss, regularizer_loss, alpha: float, beta: float):
    """Eq. 7: ``alpha c_{t-1} + beta (1 - alpha) L_svdd / L_reg``.

    While the regularizer is zero (a variance hinge that is not active) the ratio is undefined and
    the weight keeps its previous value; it multiplies a zero loss then anyway.
    """
    import tensorflow as tf

    updated = alpha * previous + beta * (1.0 - alpha) * tf.math.divide_no_nan(svdd_loss, regularizer_loss)
    return tf.where(regularizer_loss > 0, updated, previous)


def embedding_variance(embeddings: np.ndarray) -> float:
    """Mean over dimensions of the embeddings' variance (the quantity that collapse drives to zero)."""
    return float(np.asarray(embeddings, dtype=np.float64).var(axis=0).mean())


class RegularizedDeepSVDD(DeepSVDD):
    """One-class Deep SVDD with bias terms and a regularizer against collapse, standard or K-Lipschitz.

    Parameters beyond the common ones:

    * ``regularizer``: "noise" (eq. 4, random-label head), "variance" (eq. 5, minibatch-variance
      hinge) or "none" (plain Deep SVDD; with ``bias=True`` it is the paper's collapse-prone
      "D. SVDD w/ bias", with ``bias=False`` Ruff et al.'s bias-free Deep SVDD).
    * ``bias``: give every convolution and dense layer a bias and the batch norm an offset.
    * ``n_random_labels``: k, the noise head's number of random binary labels.
    * ``variance_threshold`` (d_0) and ``threshold_every`` (r): the variance hinge's threshold is
      ``d_0 / 10 ** floor(epoch / r)``; r is counted in epochs of the unscaled schedule and scaled
      by ``epochs_scale`` like it (ceil, at least 1), so a shortened run still anneals.
    * ``alpha``, ``beta``: the adaptive weight of eq. 7 (the paper: 0.9 and 0.5, ``c_0 = 0``).
    * ``head_rate_factor``: the noise head learns this many times faster than the network (10).
    * ``orthogonalization``: deel-lip's kernel normalisation in the Lipschitz network.

    The network is the thesis's Deep SVDD network (Lipschitz: deel-lip layers sharing K as
    ``K ** (1/n)``, so ``network_`` is K-Lipschitz; biases do not change that), built from scratch
    (a bias-free DCAE cannot initialise it), with Deep SVDD's center c. Training: the paper's
    schedule (Adam, 30 epochs at 1e-4, batch 50, weight decay 5e-4 on the kernels). Score:
    ``||phi(x) - c||^2``; the noise head is not part of it.

    Fitted attributes: ``network_``, ``center_``, ``initial_variance_`` and ``final_variance_``
    (:func:`embedding_variance` of up to 1000 training images before and after training),
    ``collapsed_`` (the final variance fell below 1e-6 of the initial one; also warns),
    ``regularizer_weight_`` (c_t after the last step) and ``history_``: per epoch "loss",
    "svdd_loss", "regularizer_loss" (batch means), "embedding_variance" (as ``final_variance_``,
    measured after the epoch), "regularizer_weight" (c_t at the end of the epoch),
    "variance_threshold", "learning_rate", "seconds".
    """

    objective = "one-class"
    _state_attributes = BaseDetector._state_attributes + (
        "center_", "collapsed_", "initial_variance_", "final_variance_", "regularizer_weight_")
    center = "auto"   # Deep SVDD's center rule, fixed here (the paper's): signs if Lipschitz, else the mean

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1, regularizer="noise", bias=True,
                 n_random_labels=50, variance_threshold=0.1, threshold_every=3, alpha=0.9, beta=0.5,
                 head_rate_factor=10.0, orthogonalization="bjorck"):
        BaseDetector.__init__(self, dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                              epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                              contamination=contamination)
        self.regularizer = regularizer
        self.bias = bias
        self.n_random_labels = n_random_labels
        self.variance_threshold = variance_threshold
        self.threshold_every = threshold_every
        self.alpha = alpha
        self.beta = beta
        self.head_rate_factor = head_rate_factor
        self.orthogonalization = orthogonalization

    def default_schedule(self) -> Schedule:
        return SCHEDULE

    def _check_params(self) -> None:
        BaseDetector._check_params(self)
        if self.regularizer not in REGULARIZERS:
            raise ValueError(f"regularizer must be one of {REGULARIZERS}, got {self.regularizer!r}")
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ValueError(f"bias must be True or False, got {self.bias!r}")
        for name in ("n_random_labels", "threshold_every"):
            check_integer(name, getattr(self, name), 1, what="a positive integer")
        for name in ("alpha", "beta"):
            check_number(name, getattr(self, name), low=0.0, high=1.0, what="[0, 1]")
        for name in ("variance_threshold", "head_rate_factor"):
            check_number(name, getattr(self, name), low=0.0, low_closed=False, what="a positive finite number")
        check_orthogonalization(self.orthogonalization)

    @property
    def paper_name(self) -> str:
        """The paper's name for this model (Table III's rows); "D. SVDD" for the bias-free plain model."""
        return PAPER_MODEL_NAMES.get((bool(self.bias), self.regularizer),
                                     f"D. SVDD w/o bias & {self.regularizer} reg.")

    # -- training --
    def _scaled(self, epochs: int) -> int:
        """``epochs`` of the paper's schedule under ``epochs_scale`` (ceil, at least 1; 0 stays 0)."""
        return max(1, math.ceil(epochs * self.epochs_scale - 1e-9)) if epochs else 0

    def _threshold_at(self, epoch: int) -> float:
        return float(self.variance_threshold) / 10.0 ** (epoch // self._scaled(self.threshold_every))

    def _settle_batch_norm(self, x: np.ndarray) -> None:
        """Set batch norm's running statistics to those of (up to ``MONITOR_SIZE``) training images.

        A fresh network's inference-mode outputs use the initial statistics (mean 0, variance 1), which
        say nothing about the data, so the center c and the initial embedding variance computed from
        them would not describe the network that training starts from. One training-mode forward pass
        with the momentum set to 0 replaces the running statistics by that batch's, layer after layer
        (no gradient step); networks without batch norm (the Lipschitz ones) are left as they are.
        """
        import tensorflow as tf

        norms = [layer for layer in architectures.iter_layers(self.network_)
                 if isinstance(layer, tf.keras.layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        for layer in norms:
            layer.momentum = 0.0
        try:
            if norms:
                self.network_(x[np.random.default_rng(self.seed + 1).permutation(len(x))[:MONITOR_SIZE]],
                              training=True)
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum

    def _build_head(self):
        import tensorflow as tf

        head = tf.keras.layers.Dense(self.n_random_labels, name="random_label_head",
                                     kernel_initializer=tf.keras.initializers.GlorotUniform(seed=self.seed + 7))
        head.build((None,) + tuple(self.network_.output_shape[1:]))
        return head

    def _regularizer_loss(self, head, labels, threshold):
        """The chosen eq. 4 or eq. 5 as a function of a batch's embeddings (zero for "none")."""
        import tensorflow as tf

        if self.regularizer == "noise":
            return lambda outputs: random_label_loss(head(outputs), labels(tf.shape(outputs)[0]))
        if self.regularizer == "variance":
            return lambda outputs: variance_hinge(outputs, threshold)
        return lambda outputs: tf.constant(0.0)

    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self.network_ = architectures.build(self.architecture, lipschitz=self.lipschitz, seed=self.seed,
                                            orthogonalization=self.orthogonalization, bias=bool(self.bias))
        monitor = x[np.random.default_rng(self.seed).permutation(len(x))[:MONITOR_SIZE]]
        self._settle_batch_norm(x)
        embeddings = self._embed(x)
        self.center_ = self._initial_center(embeddings).astype(np.float32)
        self.initial_variance_ = embedding_variance(self._embed(monitor))
        network, center, decay = self.network_, tf.constant(self.center_), self.schedule_.weight_decay
        head = self._build_head() if self.regularizer == "noise" else None
        generator = tf.random.Generator.from_seed(self.seed)
        k = self.n_random_labels
        threshold = tf.Variable(self._threshold_at(0), trainable=False, dtype=tf.float32)
        weight = tf.Variable(0.0, trainable=False)   # c_0 = 0
        regularizer = self._regularizer_loss(
            head, lambda n: tf.cast(generator.uniform((n, k)) < 0.5, tf.float32), threshold)
        alpha, beta = float(self.alpha), float(self.beta)
        optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1])
        head_optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1] * self.head_rate_factor)
        head_weights = [] if head is None else head.trainable_weights

        # One trace for every batch size (the last batch is smaller): tracing a deel-lip network costs seconds.
        @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.float32)])
        def step(batch):
            with tf.GradientTape(persistent=True) as tape:
                outputs = network(batch, training=True)
                svdd = tf.reduce_mean(tf.reduce_sum(tf.square(outputs - center), axis=1))
                reg = regularizer(outputs)
                weight.assign(adaptive_weight(weight, tf.stop_gradient(svdd), tf.stop_gradient(reg), alpha, beta))
                loss = svdd + weight * reg + weight_penalty(network, decay)
                if head is not None:
                    loss += weight_penalty(head, decay)
            weights = network.trainable_weights
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            if head_weights:
                head_optimizer.apply_gradients(zip(tape.gradient(loss, head_weights), head_weights))
            del tape
            return {"loss": loss, "svdd_loss": svdd, "regularizer_loss": reg}

        def start_epoch(epoch):
            threshold.assign(self._threshold_at(epoch))
            head_optimizer.learning_rate.assign(optimizer.learning_rate * self.head_rate_factor)

        def end_epoch(epoch, logs):
            logs["embedding_variance"] = embedding_variance(self._embed(monitor))
            logs["regularizer_weight"] = float(weight.numpy())
            logs["variance_threshold"] = float(threshold.numpy())

        history = train_epochs(step, x, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                               description=f"Deep SVDD ({self.paper_name}) {self.dataset}"
                               + ("" if self.lipschitz is None else f" K={self.lipschitz:g}"),
                               on_epoch_start=start_epoch, on_epoch_end=end_epoch)
        architectures.refresh_lipschitz_kernels(network)
        self.regularizer_weight_ = float(weight.numpy())
        self.final_variance_ = embedding_variance(self._embed(monitor))
        self.collapsed_ = bool(self.final_variance_ <= COLLAPSE_RATIO * self.initial_variance_)
        if self.collapsed_:
            warnings.warn(f"Deep SVDD collapsed: the embeddings' variance fell from {self.initial_variance_:.3g} "
                          f"to {self.final_variance_:.3g}; scores are close to constant", RuntimeWarning)
        return history


register(Algorithm("regsvdd", RegularizedDeepSVDD, "Regularized Deep SVDD (noise)", "companion"))
