"""f-AnoGAN: a GAN's latent space reached by a trained encoder instead of a search (Schlegl et al., 2019).

AnoGAN (:mod:`adlip.detectors.anogan`) scores an image by searching the latent space of a GAN
trained on normal images, hundreds of gradient steps per image. f-AnoGAN trains an encoder ``E``
once, so that ``G(E(x))`` reconstructs ``x``, and scores with one forward pass. Training has two
stages, each on normal images only:

1. A Wasserstein GAN: a critic ``D`` and a generator ``G``. The standard detector is a WGAN-GP
   (Gulrajani et al.): the critic maximises ``E D(x) - E D(G(z))`` minus 10 times the gradient
   penalty ``(||grad D(x_hat)|| - 1)^2`` at random points between real and generated images, and
   takes ``critic_steps`` updates per generator update; no batch norm in the critic, since the
   penalty is per image. The Lipschitz detector's critic is 1-Lipschitz by construction (deel-lip
   layers, GroupSort2 activations, Björck-orthonormalised kernels: gradient norm preserving), so it
   is trained on deel-lip's Kantorovich-Rubinstein loss with no penalty.
2. The izi_f encoder, with ``G`` and ``D`` frozen: ``E`` minimises
   ``||x - G(E(x))||^2 / n + kappa ||f(x) - f(G(E(x)))||^2 / m`` with ``f`` the critic's last hidden
   features (the flattened output of its last convolutional block, ``m`` values; ``n`` pixels).

The anomaly score is the same sum, ``A(x) = ||r(x)||^2 / n + kappa ||d(x)||^2 / m`` with the image
residual ``r(x) = x - G(E(x))`` and the feature residual ``d(x) = f(x) - f(G(E(x)))``.

Choices:

* Networks (``adlip.architectures``): ``G`` is the thesis's DCGAN generator that AnoGAN uses
  (256-d standard normal prior); the critic is AnoGAN's discriminator without batch norm and
  sigmoid; the encoder is the same body with a linear 256-unit output. A linear output, as in the
  paper's reference code: the prior is unbounded, and a tanh would put most of its mass (every
  coordinate beyond +-1) out of the encoder's reach. The encoder has no batch norm either, so a
  score depends on its own image only.
* Epochs: one GAN epoch passes every training image through the critic once; the generator is
  updated after every ``critic_steps`` critic batches. Defaults: AnoGAN's GAN epochs (20 MNIST,
  50 CIFAR-10) at batch 64, Adam 1e-4 with betas (0, 0.9) (WGAN-GP's); the encoder as many
  epochs with Adam 1e-4. ``epochs_scale`` / ``schedule`` set the GAN phase,
  ``encoder_epochs_scale`` / ``encoder_schedule`` the encoder's.
* Mode collapse is tracked as in AnoGAN (``history_["diversity_ratio"]``, ``collapsed_``), and the
  standard generator's batch norm statistics are recomputed after every epoch.
* The Lipschitz variant (``lipschitz=K``): ``G`` and ``E`` are K-Lipschitz, normalised spectrally by
  default (``orthogonalization``; Björck on the generator's huge dense layers costs hours), the
  critic 1-Lipschitz (``critic_orthogonalization``, Björck by default: its kernels are small).

The certified score and its Lipschitz constant. ``A`` grows quadratically, so it has no global
constant; its square root does, and ranks and decides exactly like ``A``. Write
``v(x) = (r(x) / sqrt(n), sqrt(kappa) d(x) / sqrt(m))``, so that ``sqrt(A(x)) = ||v(x)||``. Then

    |sqrt(A(x)) - sqrt(A(y))| <= ||v(x) - v(y)||                                (reverse triangle)
    ||v(x) - v(y)||^2 = ||r(x) - r(y)||^2 / n + kappa ||d(x) - d(y)||^2 / m
    ||r(x) - r(y)|| <= ||x - y|| + ||G(E(x)) - G(E(y))|| <= (1 + K_G K_E) ||x - y||
    ||d(x) - d(y)|| <= ||f(x) - f(y)|| + ||f(G(E(x))) - f(G(E(y)))|| <= K_f (1 + K_G K_E) ||x - y||

so ``sqrt(A)`` is ``L = (1 + K_G K_E) sqrt(1/n + kappa K_f^2 / m)``-Lipschitz in L2, with
``K_G = K_E = K`` and ``K_f = 1`` (every prefix of the 1-Lipschitz critic is 1-Lipschitz), each
times deel-lip's normalisation margin ``1 + 1e-3``. The sum of the two norms,
``||r|| / sqrt(n) + sqrt(kappa) ||d|| / sqrt(m)``, would be Lipschitz too, but with the larger
constant ``(1 + K_G K_E)(1/sqrt(n) + sqrt(kappa) K_f / sqrt(m))``, and it is not a function of
``A``: its certificates would be about another detector's decisions. ``certified_scores`` is
therefore ``sqrt(score)`` (as Deep SVDD's), and :mod:`adlip.robustness` certifies it.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from adlip import architectures
from adlip.checks import check_integer, check_number, check_positive
from adlip.detectors.anogan import (COLLAPSE_RATIO, apply_layers, check_epoch_monitor, diversity_tracker,
                                    feature_layers)
from adlip.detectors.base import BaseDetector, Schedule, predict_in_batches, seed_everything, train_epochs
from adlip.detectors.checkpoints import TrainingCheckpoint, check_checkpoint_dir, fingerprint
from adlip.detectors.registry import Algorithm, register
from adlip.detectors.scoring import NORMALISATION_MARGIN, flat_norm, network_constant

EPOCHS = {"mnist": 20, "fashion_mnist": 20, "cifar10": 50}   # AnoGAN's GAN epochs, for a fair comparison
GAN_LEARNING_RATE = 1e-4      # WGAN-GP's Adam settings (Gulrajani et al.)
GAN_BETAS = (0.0, 0.9)
ENCODER_LEARNING_RATE = 1e-4
BATCH_SIZE = 64


class FAnoGAN(BaseDetector):
    """f-AnoGAN (standard WGAN-GP, or 1-Lipschitz critic with K-Lipschitz generator and encoder).

    Parameters beyond the base class's: ``critic_steps`` critic updates per generator update;
    ``gradient_penalty`` the WGAN-GP weight (standard critic only: the Lipschitz critic needs none);
    ``kappa`` the feature residual's weight in the encoder's loss and the score; ``encoder_schedule``
    (None: as many epochs as the GAN's default, Adam 1e-4, batch 64) and ``encoder_epochs_scale``
    (None: ``epochs_scale``) set the encoder phase, ``schedule`` / ``epochs_scale`` the GAN phase;
    ``batch_size`` overrides both phases' batch size (the GAN's is per critic step); a schedule's weight
    decay is not applied (the paper uses none); ``orthogonalization`` ("spectral" or "bjorck")
    normalises the Lipschitz generator and encoder, ``critic_orthogonalization`` the Lipschitz critic.
    Images must be scaled to [-1, 1] (``one_vs_rest(..., scaling="tanh")``).

    Fitted attributes: ``generator_``, ``critic_``, ``encoder_``, ``data_diversity_``, ``collapsed_``
    and the base class's; ``history_`` holds per GAN epoch ``loss`` (the critic's), ``critic_loss``,
    ``wasserstein`` (the critic's estimate ``E D(x) - E D(G(z))``), ``gradient_penalty``,
    ``generator_loss``, ``sample_diversity``, ``diversity_ratio``, and per encoder epoch
    ``encoder_loss``, ``encoder_image_residual``, ``encoder_feature_residual``, ``encoder_seconds``;
    ``resumed_epochs_`` counts the epochs of both phases restored from ``checkpoint_dir``.
    """

    family = "fanogan"
    scaling = "tanh"
    _network_attributes = ("generator_", "critic_", "encoder_")
    _state_attributes = BaseDetector._state_attributes + ("data_diversity_", "collapsed_")

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0, batch_size=None,
                 verbose=1, contamination=0.1, critic_steps=5, gradient_penalty=10.0, kappa=1.0,
                 encoder_schedule=None, encoder_epochs_scale=None, orthogonalization="spectral",
                 critic_orthogonalization="bjorck"):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.critic_steps = critic_steps
        self.gradient_penalty = gradient_penalty
        self.kappa = kappa
        self.encoder_schedule = encoder_schedule
        self.encoder_epochs_scale = encoder_epochs_scale
        self.orthogonalization = orthogonalization
        self.critic_orthogonalization = critic_orthogonalization

    # -- parameters and schedules --
    def default_schedule(self) -> Schedule:
        return Schedule(((EPOCHS[self.dataset], GAN_LEARNING_RATE),), batch_size=BATCH_SIZE, weight_decay=0.0)

    def default_encoder_schedule(self) -> Schedule:
        return Schedule(((EPOCHS[self.dataset], ENCODER_LEARNING_RATE),), batch_size=BATCH_SIZE, weight_decay=0.0)

    def resolved_encoder_schedule(self) -> Schedule:
        """The encoder phase's schedule: given or the default, scaled by ``encoder_epochs_scale``."""
        base = (self.default_encoder_schedule() if self.encoder_schedule is None
                else Schedule.coerce(self.encoder_schedule))
        scale = self.epochs_scale if self.encoder_epochs_scale is None else self.encoder_epochs_scale
        return base.scaled(scale).with_batch_size(self.batch_size)

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("orthogonalization", "critic_orthogonalization"):
            if getattr(self, name) not in architectures.ORTHOGONALIZATIONS:
                raise ValueError(f"{name} must be one of {architectures.ORTHOGONALIZATIONS}, "
                                 f"got {getattr(self, name)!r}")
        check_integer("critic_steps", self.critic_steps, 1)
        check_number("gradient_penalty", self.gradient_penalty, low=0.0, what="a finite number >= 0")
        check_number("kappa", self.kappa, low=0.0, what="a finite number >= 0 (the feature residual's weight)")
        check_positive("encoder_epochs_scale", self.encoder_epochs_scale, allow_none=True)
        if self.encoder_schedule is not None:
            Schedule.coerce(self.encoder_schedule)
        check_checkpoint_dir(self.checkpoint_dir)

    # -- networks --
    def architecture(self, family: str) -> architectures.Architecture:
        """The "generator" (the thesis's), "critic" or "encoder" of this data set and variant."""
        return architectures.get_architecture(family, self.dataset, self.lipschitz is not None)

    @property
    def latent_dim(self) -> int:
        return int(self.architecture("generator").input_shape[0])

    def _build(self, family: str, seed: int):
        lipschitz = self.lipschitz is not None
        constant = (1.0 if family == "critic" else self.lipschitz) if lipschitz else None
        orthogonalization = self.critic_orthogonalization if family == "critic" else self.orthogonalization
        return architectures.build(self.architecture(family), lipschitz=constant, seed=seed,
                                   orthogonalization=orthogonalization)

    def prior(self, n: int, seed: int) -> np.ndarray:
        """``n`` latent vectors from the standard normal prior, seeded."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    # -- training --
    epoch_monitor = None   # not a parameter: a callable(generator, epoch) -> dict of values logged per GAN epoch
    # Not a parameter either: a folder where training saves its state between epochs (as AnoGAN's,
    # :mod:`adlip.detectors.checkpoints`), in one subfolder per phase; a fit stopped midway and run
    # again with the same folder, parameters and images resumes and ends with bitwise the same
    # networks. The folder is deleted when training ends.
    checkpoint_dir = None

    def fit_gan(self, X):
        """Train the Wasserstein GAN (stage 1) on ``X`` alone, with no encoder; returns ``self``.

        For studies of the GAN itself (the book's mode-collapse study): ``generator_``, ``critic_``,
        ``history_``, ``data_diversity_`` and ``collapsed_`` are set exactly as ``fit`` sets them,
        but the detector cannot score (``fit`` does that).
        """
        self._check_params()
        check_epoch_monitor(self.epoch_monitor)
        x = self._check_X(X)
        seed_everything(self.seed)
        self.schedule_ = self.resolved_schedule()
        self._build_gan()
        self.resumed_epochs_ = 0
        self.history_ = self._train_gan(x)
        self._clear_checkpoints()
        return self

    def _build_gan(self) -> None:
        self.generator_ = self._build("generator", self.seed)
        self.critic_ = self._build("critic", self.seed + 1)

    def _fit(self, x: np.ndarray) -> dict:
        self._build_gan()
        self.encoder_ = self._build("encoder", self.seed + 4)
        self._scorer = None
        self.resumed_epochs_ = 0
        history = self._train_gan(x)
        encoder_history = self._train_encoder(x)
        self._clear_checkpoints()
        architectures.refresh_lipschitz_kernels(self.encoder_)
        history.update({f"encoder_{key}": values for key, values in encoder_history.items()})
        return history

    def _train_gan(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        generator, critic, steps = self.generator_, self.critic_, int(self.critic_steps)
        optimizers = [tf.keras.optimizers.Adam(GAN_LEARNING_RATE, beta_1=GAN_BETAS[0], beta_2=GAN_BETAS[1])
                      for _ in range(2)]
        for optimizer, network in zip(optimizers, (generator, critic)):
            optimizer.build(network.trainable_weights)   # slots made now: the steps then trace once
        critic_step, generator_step = _make_wgan_steps(
            generator, critic, *optimizers, self.latent_dim, self.seed, self.input_shape,
            None if self.lipschitz is not None else float(self.gradient_penalty))
        checkpoint = self._phase_checkpoint("gan", x, generator=generator, critic=critic,
                                            generator_optimizer=optimizers[0], critic_optimizer=optimizers[1],
                                            latents=critic_step.latents)
        generator_batch = tf.constant(self.schedule_.batch_size)

        def step(batch):
            """``critic_steps`` critic updates on equal parts of the batch, then one generator update."""
            totals = {}
            for part in np.array_split(batch, min(steps, len(batch))):
                for key, value in critic_step(part).items():
                    totals[key] = totals.get(key, 0.0) + float(value) * len(part) / len(batch)
            totals["generator_loss"] = float(generator_step(generator_batch))
            return dict(totals, loss=totals["critic_loss"])

        rng = np.random.default_rng(self.seed)
        self.data_diversity_, on_epoch_end = diversity_tracker(generator, x, rng, self.prior, self.seed,
                                                               self.epoch_monitor)

        # One step takes critic_steps batches: a GAN epoch passes every image through the critic once.
        gan_schedule = Schedule(self.schedule_.phases, self.schedule_.batch_size * steps, 0.0)
        variant = "WGAN-GP" if self.lipschitz is None else f"KR critic, K={self.lipschitz:g} {self.orthogonalization}"
        history = train_epochs(step, x, gan_schedule, optimizers, seed=self.seed, verbose=self.verbose,
                               description=f"f-AnoGAN GAN {self.dataset} ({variant})", on_epoch_end=on_epoch_end,
                               checkpoint=checkpoint)
        self._count_resumed(checkpoint)
        for network in (generator, critic):
            architectures.refresh_lipschitz_kernels(network)
        self.collapsed_ = bool(history["diversity_ratio"][-1] < COLLAPSE_RATIO)
        return history

    def _train_encoder(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        schedule = self.resolved_encoder_schedule()
        encoder, generator, features = self.encoder_, self.generator_, feature_layers(self.critic_)
        optimizer = tf.keras.optimizers.Adam(schedule.phases[0][1])
        optimizer.build(encoder.trainable_weights)
        kappa = float(self.kappa)

        @tf.function(input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32)])
        def step(batch):
            with tf.GradientTape() as tape:
                image, feature = _residuals(batch, encoder(batch, training=True), generator, features)
                loss = tf.reduce_mean(image + kappa * feature)
            optimizer.apply_gradients(zip(tape.gradient(loss, encoder.trainable_weights), encoder.trainable_weights))
            return {"loss": loss, "image_residual": tf.reduce_mean(image), "feature_residual": tf.reduce_mean(feature)}

        checkpoint = self._phase_checkpoint("encoder", x, encoder=encoder, encoder_optimizer=optimizer)
        history = train_epochs(step, x, schedule, [optimizer], seed=self.seed + 5, verbose=self.verbose,
                               description=f"f-AnoGAN encoder {self.dataset}", checkpoint=checkpoint)
        self._count_resumed(checkpoint)
        return history

    def _phase_checkpoint(self, phase: str, x: np.ndarray, **trackables):
        """The :class:`TrainingCheckpoint` of one training phase (None without ``checkpoint_dir``).
        A finished phase stays saved until the whole fit ends, so that a fit stopped in the encoder
        phase does not train the GAN again."""
        if self.checkpoint_dir is None:
            return None
        return TrainingCheckpoint(Path(self.checkpoint_dir) / phase, fingerprint(self, x), keep_finished=True,
                                  **trackables)

    def _count_resumed(self, checkpoint) -> None:
        if checkpoint is not None:
            self.resumed_epochs_ += checkpoint.restored_epoch

    def _clear_checkpoints(self) -> None:
        if self.checkpoint_dir is not None:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    # -- scoring --
    def _residual_tensors(self, x):
        """Per image: ``||r(x)||^2 / n`` and ``||d(x)||^2 / m`` (the two terms of the score)."""
        return _residuals(x, self.encoder_(x, training=False), self.generator_, feature_layers(self.critic_))

    def _score_parts(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        if getattr(self, "_scorer", None) is None:   # one compiled forward pass, traced once
            def parts(batch):
                image, feature = self._residual_tensors(batch)
                return image, feature, image + float(self.kappa) * feature

            self._scorer = tf.function(parts, input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32)])
        outputs = [self._scorer(x[i:i + 1000]) for i in range(0, len(x), 1000)]
        return {key: np.concatenate([o[index].numpy() for o in outputs]).astype(np.float64)
                for index, key in enumerate(("image_residual", "feature_residual", "score"))}

    def _score(self, x: np.ndarray) -> np.ndarray:
        return self._score_parts(x)["score"]

    def score_parts(self, X) -> dict:
        """Per image: ``image_residual`` (``||x - G(E(x))||^2 / n``), ``feature_residual``
        (``||f(x) - f(G(E(x)))||^2 / m``) and ``score`` (image + kappa * feature: ``decision_function``)."""
        self._check_fitted()
        return self._score_parts(self._check_X(X))

    def encode(self, X) -> np.ndarray:
        """The latent vectors ``E(x)``."""
        self._check_fitted()
        return predict_in_batches(lambda batch: self.encoder_(batch, training=False), self._check_X(X))

    def reconstruct(self, X) -> np.ndarray:
        """``G(E(x))``: the generated image closest to ``x`` as the encoder finds it."""
        return predict_in_batches(lambda z: self.generator_(z, training=False), self.encode(X))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` images generated from seeded prior draws (inference mode)."""
        self._check_fitted()
        check_integer("n", n, 1)
        return predict_in_batches(lambda z: self.generator_(z, training=False), self.prior(n, seed), 500)

    # -- Lipschitz metadata, attacks and certificates --
    @property
    def lipschitz_network(self):
        """The generator (latent vector -> image), as for AnoGAN: K-Lipschitz in the Lipschitz variant."""
        return self.generator_

    def lipschitz_inputs(self, X, seed: int = 0) -> np.ndarray:
        """As many prior samples as ``X`` has images: the generator's inputs to measure it on."""
        return self.prior(len(self._check_X(X)), seed)

    def score_tensor(self, x):
        """``||r(x)||^2 / n + kappa ||d(x)||^2 / m`` per image: the score ``decision_function`` returns."""
        image, feature = self._residual_tensors(x)
        return image + float(self.kappa) * feature

    def certified_score_tensor(self, x):
        """``sqrt(score)`` per image, as the norm of ``(r / sqrt(n), sqrt(kappa) d / sqrt(m))``."""
        import tensorflow as tf

        reconstruction = self.generator_(self.encoder_(x, training=False), training=False)
        features = feature_layers(self.critic_)
        residual = tf.reshape(x - reconstruction, (tf.shape(x)[0], -1))
        feature = tf.reshape(apply_layers(features, x) - apply_layers(features, reconstruction), (tf.shape(x)[0], -1))
        n, m = residual.shape[-1], feature.shape[-1]
        return flat_norm(tf.concat([residual / math.sqrt(n), feature * math.sqrt(float(self.kappa) / m)], axis=1))

    def certified_scores(self, scores) -> np.ndarray:
        """``sqrt(score)``: increasing in the score, so ranking and decisions are unchanged."""
        return np.sqrt(np.maximum(np.asarray(scores, dtype=np.float64), 0.0))

    def score_lipschitz_constant(self):
        """``(1 + K_G K_E) sqrt(1/n + kappa K_f^2 / m)`` for ``sqrt(score)`` (see the module docstring),
        with ``K_G = K_E = K`` and ``K_f = 1``, each with deel-lip's margin; None for the standard networks."""
        if self.lipschitz_constant is None:
            return None
        k, k_features = network_constant(self), 1.0 + NORMALISATION_MARGIN
        n = math.prod(self.input_shape)
        m = math.prod(feature_layers(self.critic_)[-1].output_shape[1:])
        return (1.0 + k * k) * math.sqrt(1.0 / n + float(self.kappa) * k_features ** 2 / m)


def _residuals(x, latents, generator, features):
    """``(||x - G(z)||^2 / n, ||f(x) - f(G(z))||^2 / m)`` per image, with G and f in inference mode."""
    import tensorflow as tf

    reconstruction = generator(latents, training=False)
    axes_of = lambda t: tf.range(1, tf.rank(t))  # noqa: E731
    image = tf.reduce_mean(tf.square(x - reconstruction), axis=axes_of(x))
    difference = apply_layers(features, x) - apply_layers(features, reconstruction)
    return image, tf.reduce_mean(tf.square(difference), axis=axes_of(difference))


def _make_wgan_steps(generator, critic, generator_optimizer, critic_optimizer, latent_dim, seed, image_shape,
                     penalty):
    """The two WGAN updates as tf.functions, each traced once: ``critic_step(real)`` and ``generator_step(n)``.

    ``penalty`` None: the critic is 1-Lipschitz by construction and maximises deel-lip's
    Kantorovich-Rubinstein loss ``E D(real) - E D(fake)``; a number: WGAN-GP, that loss minus
    ``penalty`` times the gradient penalty. Real, generated and (WGAN-GP) interpolated images go
    through the critic in one call (it has no batch norm), so that deel-lip's kernel refresh runs
    once per step. The generator step uses the critic in inference mode (its stored kernels).
    """
    import tensorflow as tf
    from deel.lip.losses import KR

    latents = tf.random.Generator.from_seed(seed)
    kantorovich_rubinstein = KR()

    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(image_shape), tf.float32)])
    def critic_step(real):
        n = tf.shape(real)[0]
        fake = generator(latents.normal((n, latent_dim)), training=True)
        labels = tf.concat([tf.ones((n, 1)), -tf.ones((n, 1))], axis=0)
        if penalty is None:
            with tf.GradientTape() as tape:
                wasserstein = kantorovich_rubinstein(labels, critic(tf.concat([real, fake], 0), training=True))
                loss = -wasserstein
            gradient_penalty = tf.constant(0.0)
        else:
            mix = latents.uniform((n,) + (1,) * len(image_shape))
            between = mix * real + (1.0 - mix) * fake
            with tf.GradientTape() as tape:
                with tf.GradientTape() as inner:
                    inner.watch(between)
                    values = critic(tf.concat([real, fake, between], 0), training=True)
                    between_total = tf.reduce_sum(values[2 * n:])
                slopes = flat_norm(inner.gradient(between_total, between))
                gradient_penalty = tf.reduce_mean(tf.square(slopes - 1.0))
                wasserstein = kantorovich_rubinstein(labels, values[:2 * n])
                loss = -wasserstein + penalty * gradient_penalty
        weights = critic.trainable_weights
        critic_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return {"critic_loss": loss, "wasserstein": wasserstein, "gradient_penalty": gradient_penalty}

    @tf.function(input_signature=[tf.TensorSpec((), tf.int32)])
    def generator_step(n):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(critic(generator(latents.normal((n, latent_dim)), training=True), training=False))
        weights = generator.trainable_weights
        generator_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    critic_step.latents = latents   # the steps' random state, part of a training checkpoint
    return critic_step, generator_step


register(Algorithm("fanogan", FAnoGAN, "f-AnoGAN", "companion", color="tab:purple"))
