"""A variational autoencoder with an M-Lipschitz encoder and the hole indicator (Glazunov and Zarras, 2023).

The book's chapter "The Lipschitz VAE and vacant holes" explains the idea. In short: a VAE's
likelihood is a poor outlier score (a model of Fashion-MNIST gives MNIST digits a *higher*
likelihood than its own images). An M-Lipschitz encoder maps the whole input cube ``[0, 1]^n``
into a bounded region of the latent space, so an outlier cannot be sent far away: it has to land
somewhere among the inliers' codes, and it tends to land in a *hole*, a region the decoder has not
learned to map smoothly. Samples from the approximate posterior of a code in a hole decode to very
different images, so the spread of their log-likelihoods (the *hole indicator*) is large.

This module holds the detector (:class:`LipschitzVAE`); the paper's metrics (AUROC, AUPRC, FPR at
80 % TPR) are in :mod:`adlip.metrics`, its Table 2 in :mod:`adlip.reference.vae`, and the
experiments the chapter runs in :mod:`adlip.studies.vae`.

Our choices where the paper's text leaves them open (its appendices with the architectures and
the score algorithms were not available to us):

* Encoder and decoder are multilayer perceptrons (784-512-256-2m and m-256-512-784). The
  Lipschitz ones use deel-lip ``SpectralDense`` layers with GroupSort2 activations; each of the
  n layers gets the factor ``M ** (1/n)`` (the paper's eq. 8). Unconstrained ones use ``Dense``
  and ReLU.
* The constant is an L2 constant (deel-lip's), where the paper projects weights onto an
  L-infinity ball; on ``[0, 1]^n`` the L2 diameter is ``sqrt(n)``, so the bound on the codes is
  ``M sqrt(n)`` instead of the paper's ``M``. The chapter measures how far codes really spread.
* Kernels are spectrally normalised at each training step (``orthogonalization="spectral"``) by
  default: the network is still M-Lipschitz, and a training step is about five times cheaper on a
  CPU than with deel-lip's Björck orthonormalisation ("bjorck", available).
* The decoder models pixels as independent Bernoulli variables (binary cross-entropy on grey
  values in [0, 1]); the encoder outputs the mean and log-variance of a diagonal Gaussian posterior.
* The three scores share one set of ``n_posterior_samples`` posterior samples per image (see
  :meth:`LipschitzVAE.all_scores`).
"""
from __future__ import annotations

import copy
import math

import numpy as np

from adlip.checks import check_integer
from adlip.detectors.base import BaseDetector, Schedule, _check_lipschitz, predict_in_batches, train_epochs
from adlip.detectors.registry import Algorithm, register

SCORES = ("hole", "log_likelihood", "importance")
SCORE_LABELS = {"hole": "hole indicator", "log_likelihood": "log-likelihood",
                "importance": "std of importance-sampled LLs"}
ORTHOGONALIZATIONS = ("spectral", "bjorck")
HIDDEN_UNITS = (512, 256)
# The paper gives no training schedule in its main text; this one converges on MNIST-size data.
DEFAULT_SCHEDULE = Schedule(((40, 1e-3), (10, 1e-4)), batch_size=128, weight_decay=0.0)
LOG_VARIANCE_RANGE = (-12.0, 8.0)   # clip before exponentiating, so outliers cannot overflow
DECODER_SAMPLES_PER_CALL = 20_000    # latent codes decoded at once while scoring


def eq7_lipschitz(latent_dim: int, sigma: float = 1.0) -> int:
    """The paper's eq. 7: ``M = floor(sigma sqrt(m) + 2 sigma)``.

    The typical set of an m-dimensional N(0, sigma^2 I) prior lies at radius about sigma sqrt(m);
    adding two standard deviations of width bounds the codes just outside it (m = 10 gives M = 5).
    """
    check_integer("latent_dim", latent_dim, 1, what="a positive integer")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    return int(math.floor(sigma * math.sqrt(latent_dim) + 2 * sigma + 1e-12))


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    return check_integer(name, value, minimum)


# --- networks -------------------------------------------------------------------------------

def build_mlp(input_shape: tuple, hidden: tuple, outputs: int, lipschitz=None, orthogonalization="spectral",
              seed: int = 0, name: str = "mlp"):
    """A perceptron ``input -> hidden... -> outputs`` (flattening image inputs first).

    ``lipschitz=None`` gives Dense + ReLU layers; a number K gives deel-lip ``SpectralDense`` layers
    with GroupSort2 activations, each layer K ** (1/n) -Lipschitz (n dense layers), so the network
    is K-Lipschitz in the L2 norm. Every layer gets the factor in its constructor, which avoids
    deel-lip's pitfall of tracing ``SpectralDense`` before ``Sequential`` sets it (REFERENCE.md).
    Lipschitz networks are called once in training mode so their normalised kernels are valid.
    """
    import tensorflow as tf

    sizes = tuple(hidden) + (outputs,)
    layers = [tf.keras.layers.Flatten()] if len(input_shape) > 1 else []
    for index, units in enumerate(sizes):
        glorot = tf.keras.initializers.GlorotUniform(seed=seed * 1000 + index + 1)
        last = index == len(sizes) - 1
        if lipschitz is None:
            layers.append(tf.keras.layers.Dense(units, kernel_initializer=glorot))
            if not last:
                layers.append(tf.keras.layers.ReLU())
            continue
        from deel.lip.activations import GroupSort2
        from deel.lip.initializers import SpectralInitializer
        from deel.lip.layers import SpectralDense
        from deel.lip.normalizers import DEFAULT_EPS_BJORCK

        eps_bjorck = None if orthogonalization == "spectral" else DEFAULT_EPS_BJORCK
        layers.append(SpectralDense(units, k_coef_lip=float(lipschitz) ** (1 / len(sizes)), eps_bjorck=eps_bjorck,
                                    kernel_initializer=SpectralInitializer(eps_bjorck=eps_bjorck,
                                                                           base_initializer=glorot)))
        if not last:
            layers.append(GroupSort2())
    model = tf.keras.Sequential(layers, name=name)
    model.build((None,) + tuple(input_shape))
    if lipschitz is not None:
        model(tf.zeros((1,) + tuple(input_shape)), training=True)
    return model


def gaussian_log_density(z, mean, log_variance):
    """log N(z; mean, diag(exp(log_variance))) summed over the last axis (TensorFlow)."""
    import tensorflow as tf

    return -0.5 * tf.reduce_sum(math.log(2 * math.pi) + log_variance
                                + tf.square(z - mean) * tf.exp(-log_variance), axis=-1)


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) of independent Bernoulli pixels, summed over the last axis (TensorFlow).

    ``x log sigmoid(l) + (1 - x) log sigmoid(-l) = x l - softplus(l)``: stable, and it broadcasts.
    """
    import tensorflow as tf

    return tf.reduce_sum(x * logits - tf.nn.softplus(logits), axis=-1)


# --- the detector ---------------------------------------------------------------------------

class LipschitzVAE(BaseDetector):
    """Outlier detection with a VAE whose encoder is M-Lipschitz (Glazunov and Zarras, 2023).

    Parameters beyond the base class's: ``lipschitz`` is the encoder's constant M: "auto" for the
    paper's eq. 7 (:func:`eq7_lipschitz`, M = 5 for ``latent_dim=10``), a positive number, or None
    for an unconstrained encoder (a vanilla VAE). ``decoder_lipschitz`` constrains the decoder too
    (None: unconstrained; the paper's ablation smooths the decoder this way). ``latent_dim`` is m.
    ``score`` picks what ``decision_function`` returns (all higher = more anomalous):

    * "hole": the hole indicator, the standard deviation of ``log p(x|z)`` over posterior samples;
    * "log_likelihood": minus the importance-sampled marginal log-likelihood ``log p(x)``;
    * "importance": the standard deviation of ``n_importance_estimates`` independent importance-
      sampled estimates of ``log p(x)`` (the paper's "Stds of LLs").

    ``n_posterior_samples`` samples z ~ q(z|x) per image serve all three scores; they are split
    into ``n_importance_estimates`` equal groups for the last one. Inputs must lie in [0, 1]
    (``scaling="unit"``): pixels are Bernoulli probabilities. ``orthogonalization`` is "spectral"
    (spectral normalisation, default) or "bjorck" (deel-lip's Björck orthonormalisation).

    Fitted attributes: ``encoder_`` (image -> [mean, log-variance], the M-Lipschitz network),
    ``decoder_`` (code -> pixel logits), and the base class's ``decision_scores_``, ``threshold_``,
    ``labels_``, ``history_`` (loss, reconstruction and KL per epoch), ``train_seconds_``,
    ``schedule_``.
    """

    family = "vae"
    scaling = "unit"   # the one_vs_rest scaling this detector needs: pixels in [0, 1] as Bernoulli means
    _network_attributes = ("encoder_", "decoder_")

    def __init__(self, dataset="mnist", lipschitz="auto", latent_dim=10, seed=0, schedule=None, epochs_scale=1.0,
                 score="hole", n_posterior_samples=100, n_importance_estimates=10, decoder_lipschitz=None,
                 orthogonalization="spectral", batch_size=None, verbose=1, contamination=0.1):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.latent_dim = latent_dim
        self.score = score
        self.n_posterior_samples = n_posterior_samples
        self.n_importance_estimates = n_importance_estimates
        self.decoder_lipschitz = decoder_lipschitz
        self.orthogonalization = orthogonalization

    # -- parameters --
    def default_schedule(self) -> Schedule:
        return DEFAULT_SCHEDULE

    @property
    def lipschitz_constant(self):
        """The encoder's guaranteed L2 Lipschitz constant M (None for an unconstrained encoder)."""
        if isinstance(self.lipschitz, str):
            if self.lipschitz != "auto":
                raise ValueError(f"lipschitz must be 'auto' (the paper's eq. 7), a positive number or None, "
                                 f"got {self.lipschitz!r}")
            return float(eq7_lipschitz(self.latent_dim))
        return _check_lipschitz(self.lipschitz)

    def _check_params(self) -> None:
        _check_positive_int("latent_dim", self.latent_dim)
        # The base class accepts only None or a number for ``lipschitz``: check its other
        # parameters on a shallow copy whose "auto" is resolved to eq. 7's constant.
        base_view = copy.copy(self)
        base_view.lipschitz = self.lipschitz_constant
        BaseDetector._check_params(base_view)
        if self.decoder_lipschitz is not None:
            try:
                _check_lipschitz(self.decoder_lipschitz)
            except ValueError:
                raise ValueError(f"decoder_lipschitz must be None (unconstrained) or a positive number, "
                                 f"got {self.decoder_lipschitz!r}") from None
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        if self.orthogonalization not in ORTHOGONALIZATIONS:
            raise ValueError(f"orthogonalization must be one of {ORTHOGONALIZATIONS}, got {self.orthogonalization!r}")
        samples = _check_positive_int("n_posterior_samples", self.n_posterior_samples, 2)
        groups = _check_positive_int("n_importance_estimates", self.n_importance_estimates, 2)
        if samples % groups:
            raise ValueError(f"n_posterior_samples ({samples}) must be a multiple of n_importance_estimates "
                             f"({groups}): every importance-sampled estimate uses the same number of samples")

    def _check_X(self, X) -> np.ndarray:
        x = super()._check_X(X)
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise ValueError(f"X must lie in [0, 1] (the decoder models pixels as Bernoulli probabilities), got "
                             f"values in [{low:.3g}, {high:.3g}]; scale images with x / 255 (scaling='unit')")
        return x

    # -- training --
    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        m = self.latent_dim
        self.encoder_ = build_mlp(self.input_shape, HIDDEN_UNITS, 2 * m, self.lipschitz_constant,
                                  self.orthogonalization, self.seed, name="encoder")
        self.decoder_ = build_mlp((m,), HIDDEN_UNITS[::-1], int(np.prod(self.input_shape)), self.decoder_lipschitz,
                                  self.orthogonalization, self.seed + 1, name="decoder")
        encoder, decoder = self.encoder_, self.decoder_
        weights = encoder.trainable_weights + decoder.trainable_weights
        optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1])
        noise = tf.random.Generator.from_seed(self.seed)

        @tf.function(input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32)])
        def step(batch):
            flat = tf.reshape(batch, (tf.shape(batch)[0], -1))
            with tf.GradientTape() as tape:
                mean, log_variance = self._posterior(encoder(batch, training=True))
                z = mean + tf.exp(0.5 * log_variance) * noise.normal(tf.shape(mean))
                reconstruction = -tf.reduce_mean(bernoulli_log_likelihood(flat, decoder(z, training=True)))
                kl = tf.reduce_mean(0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance,
                                                        axis=-1))
                loss = reconstruction + kl
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

        name = "VAE" if self.lipschitz_constant is None else f"Lipschitz VAE M={self.lipschitz_constant:g}"
        return train_epochs(step, x, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                            description=f"{name} {self.dataset}")

    def _posterior(self, encoded):
        """Split the encoder's output into the posterior's mean and (clipped) log-variance."""
        import tensorflow as tf

        mean, log_variance = tf.split(encoded, 2, axis=-1)
        return mean, tf.clip_by_value(log_variance, *LOG_VARIANCE_RANGE)

    # -- scoring --
    def _sample_log_weights(self, x: np.ndarray, batch_index: int):
        """For each image: ``log p(x|z_s)`` and the importance log-weights of S posterior samples.

        Returns two float64 arrays of shape (S, batch). The noise comes from a stateless generator
        keyed by (seed, batch index), so the same images in the same order always get the same scores.
        """
        log_likelihood, log_weights = self._sampler()(x, np.array([self.seed, batch_index], np.int32))
        return log_likelihood.numpy().astype(np.float64), log_weights.numpy().astype(np.float64)

    def _sampler(self):
        """The compiled sampling function of the current networks (built once, then reused)."""
        key = (id(self.encoder_), id(self.decoder_), self.n_posterior_samples, self.latent_dim)
        cached = getattr(self, "_sampler_cache", None)
        if cached is None or cached[0] != key:
            self._sampler_cache = (key, self._build_sampler())
        return self._sampler_cache[1]

    def _build_sampler(self):
        import tensorflow as tf

        samples, m = self.n_posterior_samples, self.latent_dim
        encoder, decoder = self.encoder_, self.decoder_

        @tf.function(input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32),
                                      tf.TensorSpec((2,), tf.int32)])
        def sample(x, seed):
            n = tf.shape(x)[0]
            mean, log_variance = self._posterior(encoder(x, training=False))
            eps = tf.random.stateless_normal((samples, n, m), seed=seed)
            z = mean[None] + tf.exp(0.5 * log_variance)[None] * eps
            logits = tf.reshape(decoder(tf.reshape(z, (-1, m)), training=False), (samples, n, -1))
            log_likelihood = bernoulli_log_likelihood(tf.reshape(x, (1, n, -1)), logits)
            log_prior = gaussian_log_density(z, 0.0, tf.zeros_like(z))
            log_posterior = gaussian_log_density(z, mean[None], log_variance[None])
            return log_likelihood, log_likelihood + log_prior - log_posterior

        return sample

    def _all_scores(self, x: np.ndarray) -> dict:
        from scipy.special import logsumexp

        per_call = max(1, DECODER_SAMPLES_PER_CALL // self.n_posterior_samples)
        parts = {key: [] for key in SCORES}
        groups = self.n_importance_estimates
        for batch_index, start in enumerate(range(0, len(x), per_call)):
            log_likelihood, log_weights = self._sample_log_weights(x[start:start + per_call], batch_index)
            samples = len(log_weights)
            parts["hole"].append(log_likelihood.std(axis=0, ddof=1))
            parts["log_likelihood"].append(-(logsumexp(log_weights, axis=0) - math.log(samples)))
            grouped = log_weights.reshape(groups, samples // groups, -1)
            estimates = logsumexp(grouped, axis=1) - math.log(samples // groups)
            parts["importance"].append(estimates.std(axis=0, ddof=1))
        return {key: np.concatenate(values) for key, values in parts.items()}

    def _score(self, x: np.ndarray) -> np.ndarray:
        return self._all_scores(x)[self.score]

    def all_scores(self, X) -> dict:
        """All three anomaly scores of ``X`` (higher = more anomalous), from the same posterior samples.

        Keys: "hole" (std of ``log p(x|z_s)``), "log_likelihood" (minus the importance-sampled
        ``log p(x)`` over all samples), "importance" (std of the per-group estimates of ``log p(x)``).
        """
        self._check_fitted()
        return self._all_scores(self._check_X(X))

    def encode(self, X) -> tuple:
        """The approximate posterior of each image: (mean, log-variance), each (N, latent_dim)."""
        self._check_fitted()
        encoded = predict_in_batches(lambda batch: self.encoder_(batch, training=False), self._check_X(X))
        return encoded[:, :self.latent_dim], encoded[:, self.latent_dim:]

    def decode(self, Z) -> np.ndarray:
        """Bernoulli means (pixel grey values) of the decoder at codes ``Z`` (N, latent_dim), as images."""
        import tensorflow as tf

        self._check_fitted()
        z = np.asarray(Z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Z must have shape (n_codes, {self.latent_dim}), got {z.shape}")
        logits = predict_in_batches(lambda batch: self.decoder_(batch, training=False), z)
        return tf.sigmoid(logits).numpy().reshape((len(z),) + self.input_shape)

    @property
    def lipschitz_network(self):
        """The encoder (image -> posterior mean and log-variance), M-Lipschitz when ``lipschitz`` is set."""
        return self.encoder_


register(Algorithm("vae", LipschitzVAE, "Lipschitz VAE (hole indicator)", "companion"))
