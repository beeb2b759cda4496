"""Deep SVDD (Ruff et al. 2018; thesis sections 2.4 and 4.3), one-class and soft-boundary.

A network maps normal images close to a fixed center c; the squared distance to c is the anomaly
score (one-class), or that distance minus the squared radius R^2 of a hypersphere that leaves out
about a fraction ``nu`` of the training data (soft-boundary).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from adlip.checks import check_integer, check_number, check_positive
from adlip import architectures
from adlip.detectors.base import BaseDetector, Schedule, predict_in_batches, train_epochs, weight_penalty
from adlip.detectors.dcae import DCAE, check_orthogonalization
from adlip.detectors.registry import Algorithm, register
from adlip.detectors.scoring import flat_norm, network_constant

SCHEDULE = Schedule(((150, 1e-4), (100, 1e-5)), batch_size=200, weight_decay=1e-6)
OBJECTIVES = ("one-class", "soft-boundary")
CENTERS = ("auto", "sign", "mean")   # see the class docstring
CENTER_EPS = 0.1             # Ruff et al.: center coordinates closer to 0 are pushed to +-0.1
COLLAPSE_RATIO = 1e-6        # embedding variance below this fraction of the initial one = collapse


class DeepSVDD(BaseDetector):
    """Deep SVDD on the thesis's networks (the DCAE's encoder), standard or K-Lipschitz.

    Parameters beyond the common ones:

    * ``objective``: "one-class" (eq. 2.6, score ``d = ||phi(x) - c||^2``) or "soft-boundary"
      (eq. 2.5, loss ``R^2 + 1/(nu n) sum max(0, d_i - R^2)``, score ``d - R^2``).
    * ``nu``: the soft-boundary's outlier fraction (the thesis: 0.1).
    * ``pretrain``: initialise from a trained DCAE's encoder (Ruff et al.'s pretraining). The DCAE
      has the same dataset, lipschitz, seed and orthogonalization and the DCAE's own schedule scaled
      by ``pretrain_epochs_scale`` (None: the same ``epochs_scale`` as the Deep SVDD phase). Weights are copied layer by layer where shapes match; the
      Lipschitz CIFAR-10 DCAE's bottleneck has 96 units but the Deep SVDD network ends with 128 (as
      the thesis's tables print them), so that last dense layer keeps its fresh initialisation
      (``pretrain_report_`` lists what was copied). In a Lipschitz network the copied raw kernels
      are normalised with this network's own factor ``K ** (1/n)``, n counted over this network.
    * ``activation`` ("groupsort2", "fullsort") and ``pooling`` ("l2norm"): gradient-norm-preserving
      replacements for the Lipschitz network's leaky ReLUs and max pooling (see
      ``architectures.build``); the pretraining DCAE gets the same.
    * ``pretrain_cache_dir``: a folder where pretrained DCAEs are kept, keyed by a hash of the
      DCAE's parameters and of the training data, so that e.g. both objectives share one DCAE.
    * ``warm_up_epochs`` (10) and ``radius_update_every`` (5): soft-boundary R stays 0 during the
      warm-up, then is set to the (1 - nu) quantile of ``sqrt(d)`` over the training data every
      ``radius_update_every`` epochs, and once more after the last epoch so that the scores use the
      R of the final network. Both count epochs as the thesis does and are never scaled: a run
      shortened by ``epochs_scale`` keeps the thesis's 10-epoch warm-up and 5-epoch interval (a
      run shorter than the warm-up trains as one-class and only gets R at the end, which shifts
      every score by the same amount).

    * ``center``: how c is chosen from the mean embedding of one forward pass before training.
      "mean" is Ruff et al.'s (the mean itself, coordinates closer to 0 than 0.1 pushed to +-0.1),
      "sign" the thesis's choice for Lipschitz networks (``c / |c|`` elementwise: every coordinate
      +-1, so ``|c| = sqrt(dimension)`` whatever the network's scale), "auto" the thesis's pairing:
      "sign" for Lipschitz networks, "mean" for standard ones.

    Training: Adam, batch 200, 150 epochs at 1e-4 then 100 at 1e-5, weight decay 1e-6 as an L2
    penalty on the kernels. The center c is the mean output of one forward pass (inference mode)
    before training, chosen by ``center`` (the thesis's section 4.3).

    ``epoch_callback`` is not a parameter: set it on an instance before ``fit`` to a callable
    ``(network, center, epoch)`` to watch training. It is called once before the first epoch with
    ``epoch = -1`` (the network as pretraining left it) and after every epoch with its index; what it
    returns is ignored. The center-norm study (:mod:`adlip.studies.center_norm`) measures the
    embeddings' Lipschitz bound and distance to the center this way.

    Fitted attributes: ``network_``, ``center_``, ``radius_`` (0 for one-class),
    ``collapsed_`` (the embeddings' variance fell below 1e-6 of its initial value: hypersphere
    collapse, which also warns), ``pretrain_report_``, ``history_`` (loss, mean distance, batch
    embedding variance and radius per epoch) and the base class's attributes.
    """

    family = "deepsvdd"
    epoch_callback = None   # see the class docstring: a per-epoch observer, not a parameter
    _network_attributes = ("network_",)
    _state_attributes = BaseDetector._state_attributes + (
        "center_", "radius_", "collapsed_", "initial_variance_", "final_variance_", "pretrain_report_")

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1, objective="one-class", nu=0.1,
                 pretrain=True, pretrain_cache_dir=None, warm_up_epochs=10, radius_update_every=5,
                 orthogonalization="bjorck", activation=None, pooling=None, pretrain_epochs_scale=None,
                 center="auto"):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.objective = objective
        self.nu = nu
        self.pretrain = pretrain
        self.pretrain_cache_dir = pretrain_cache_dir
        self.warm_up_epochs = warm_up_epochs
        self.radius_update_every = radius_update_every
        self.orthogonalization = orthogonalization
        self.activation = activation
        self.pooling = pooling
        self.pretrain_epochs_scale = pretrain_epochs_scale
        self.center = center

    def default_schedule(self) -> Schedule:
        return SCHEDULE

    def _check_params(self) -> None:
        super()._check_params()
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        check_number("nu", self.nu, low=0.0, high=1.0, low_closed=False, finite=False, what="in (0, 1]")
        check_integer("warm_up_epochs", self.warm_up_epochs, 0)
        check_integer("radius_update_every", self.radius_update_every, 1)
        check_orthogonalization(self.orthogonalization)
        check_positive("pretrain_epochs_scale", self.pretrain_epochs_scale, allow_none=True)
        architectures.check_gnp_options(self.activation, self.pooling, self.lipschitz is not None)
        if self.center not in CENTERS:
            raise ValueError(f"center must be one of {CENTERS}, got {self.center!r}")
        if self.epoch_callback is not None and not callable(self.epoch_callback):
            raise ValueError(f"epoch_callback must be None or a callable(network, center, epoch), "
                             f"got {type(self.epoch_callback).__name__}")

    @property
    def architecture(self) -> architectures.Architecture:
        return architectures.get_architecture("deepsvdd", self.dataset, self.lipschitz is not None)

    # -- pretraining --
    def pretrain_detector(self) -> DCAE:
        """The (unfitted) DCAE whose encoder initialises this network."""
        scale = self.epochs_scale if self.pretrain_epochs_scale is None else self.pretrain_epochs_scale
        return DCAE(dataset=self.dataset, lipschitz=self.lipschitz, seed=self.seed, epochs_scale=scale,
                    batch_size=self.batch_size, verbose=self.verbose, orthogonalization=self.orthogonalization,
                    activation=self.activation, pooling=self.pooling)

    def pretrained_dcae(self, x: np.ndarray) -> DCAE:
        """The DCAE that pretrains this network, fitted on ``x``: read from ``pretrain_cache_dir`` when
        an entry for the same DCAE parameters and images is there, else trained (and cached)."""
        dcae = self.pretrain_detector()
        if self.pretrain_cache_dir is None:
            return dcae.fit(x)
        params = {k: v for k, v in dcae.get_params().items() if k != "verbose"}
        key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()
                             + hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest()).hexdigest()[:20]
        folder = Path(self.pretrain_cache_dir) / f"dcae-{key}"
        if folder.is_dir():
            try:
                return DCAE.load(folder)
            except ValueError as error:   # a damaged entry (say, a run killed while saving): rebuild it
                warnings.warn(f"discarding a damaged pretraining cache entry: {error}", RuntimeWarning)
                shutil.rmtree(folder, ignore_errors=True)
        dcae.fit(x)
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        dcae.save(scratch)
        try:
            os.rename(scratch, folder)   # atomic: a parallel run that got there first wins
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
        return dcae

    # -- training --
    def _embed(self, x: np.ndarray) -> np.ndarray:
        network = self.network_
        return predict_in_batches(lambda batch: network(batch, training=False), x).astype(np.float64)

    @property
    def center_kind(self) -> str:
        """The center rule this detector uses: ``center``, with "auto" resolved ("sign" or "mean")."""
        if self.center != "auto":
            return self.center
        return "sign" if self.lipschitz is not None else "mean"

    def _initial_center(self, embeddings: np.ndarray) -> np.ndarray:
        c = embeddings.mean(axis=0)
        sign = np.where(c < 0, -1.0, 1.0)
        if self.center_kind == "sign":
            return sign
        return np.where(np.abs(c) < CENTER_EPS, sign * CENTER_EPS, c)

    def _radius_from(self, distances: np.ndarray) -> float:
        return float(np.quantile(np.sqrt(distances), 1 - self.nu))

    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self.pretrain_report_ = []
        donor = self.pretrained_dcae(x) if self.pretrain else None
        self.network_ = architectures.build(self.architecture, lipschitz=self.lipschitz, seed=self.seed,
                                            orthogonalization=self.orthogonalization,
                                            activation=self.activation, pooling=self.pooling)
        if donor is not None:
            report = architectures.transfer_weights(donor.encoder_, self.network_)
            self.pretrain_report_ = [list(row) for row in report]
            architectures.refresh_lipschitz_kernels(self.network_)
        embeddings = self._embed(x)
        self.center_ = self._initial_center(embeddings).astype(np.float32)
        self.initial_variance_ = float(embeddings.var(axis=0).sum())
        self.radius_ = 0.0
        radius = tf.Variable(0.0, trainable=False)
        network, center, decay = self.network_, tf.constant(self.center_), self.schedule_.weight_decay
        soft, nu = self.objective == "soft-boundary", float(self.nu)
        optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1])

        @tf.function(input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32)])
        def step(batch):
            with tf.GradientTape() as tape:
                outputs = network(batch, training=True)
                distances = tf.reduce_sum(tf.square(outputs - center), axis=1)
                if soft:
                    objective = radius ** 2 + tf.reduce_mean(tf.nn.relu(distances - radius ** 2)) / nu
                else:
                    objective = tf.reduce_mean(distances)
                loss = objective + weight_penalty(network, decay)
            weights = network.trainable_weights
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            variance = tf.reduce_sum(tf.math.reduce_variance(outputs, axis=0))
            return {"loss": loss, "distance": tf.reduce_mean(distances), "embedding_variance": variance}

        warm_up, every, callback = self.warm_up_epochs, self.radius_update_every, self.epoch_callback

        def update_radius(epoch, logs):
            done = epoch + 1
            if soft and done >= warm_up and (done - warm_up) % every == 0:
                self.radius_ = self._radius_from(self._distances(x))
                radius.assign(self.radius_)
            logs["radius"] = self.radius_
            if callback is not None:
                callback(network, self.center_, epoch)

        if callback is not None:
            callback(network, self.center_, -1)

        history = train_epochs(step, x, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                               description=f"Deep SVDD {self.objective} {self.dataset}"
                               + ("" if self.lipschitz is None else f" K={self.lipschitz:g}"),
                               on_epoch_end=update_radius)
        architectures.refresh_lipschitz_kernels(network)
        if soft:
            self.radius_ = self._radius_from(self._distances(x))   # R of the final network
        self.final_variance_ = float(self._embed(x).var(axis=0).sum())
        self.collapsed_ = bool(self.final_variance_ <= COLLAPSE_RATIO * self.initial_variance_)
        if self.collapsed_:
            warnings.warn(f"Deep SVDD collapsed: the embeddings' variance fell from {self.initial_variance_:.3g} "
                          f"to {self.final_variance_:.3g}; scores are close to constant", RuntimeWarning)
        return history

    def _distances(self, x: np.ndarray) -> np.ndarray:
        return ((self._embed(x) - self.center_.astype(np.float64)) ** 2).sum(axis=1)

    def _score(self, x: np.ndarray) -> np.ndarray:
        distances = self._distances(x)
        return distances - self.radius_ ** 2 if self.objective == "soft-boundary" else distances

    @property
    def lipschitz_network(self):
        """The Deep SVDD network (image -> embedding), K-Lipschitz in the Lipschitz variant."""
        return self.network_

    def _distance_tensor(self, x):
        import tensorflow as tf

        return flat_norm(self.network_(x, training=False) - tf.constant(self.center_, tf.float32))

    def score_tensor(self, x):
        """``||phi(x) - c||^2`` per image, minus ``R^2`` for the soft boundary (``decision_function``)."""
        import tensorflow as tf

        squared = tf.square(self._distance_tensor(x))
        return squared - float(self.radius_) ** 2 if self.objective == "soft-boundary" else squared

    def certified_score_tensor(self, x):
        """``||phi(x) - c||``: the squared distance grows quadratically, the distance is K-Lipschitz
        (reverse triangle inequality)."""
        return self._distance_tensor(x)

    def certified_scores(self, scores) -> np.ndarray:
        """``sqrt(score + R^2)`` (``R = 0`` for one-class): the distance to the center, increasing in the
        score, so rankings and decisions at the transformed threshold are unchanged."""
        offset = self.radius_ ** 2 if self.objective == "soft-boundary" else 0.0
        return np.sqrt(np.clip(np.asarray(scores, dtype=np.float64) + offset, 0.0, None))

    def score_lipschitz_constant(self):
        """K (with deel-lip's margin) for the distance ``||phi(x) - c||``; None for the standard network."""
        return None if self.lipschitz_constant is None else network_constant(self)


register(Algorithm("deepsvdd-oc", partial(DeepSVDD, objective="one-class"), "DeepSVDD OC", "thesis",
                   color="tab:green"))
register(Algorithm("deepsvdd-sb", partial(DeepSVDD, objective="soft-boundary"), "DeepSVDD SB", "thesis",
                   color="tab:orange"))
