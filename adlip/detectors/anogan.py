"""AnoGAN: anomaly detection by searching a GAN's latent space (thesis sections 2.5 and 4.4).

A DCGAN is trained on normal images only, so its generator ``G`` maps latent vectors to images
that look normal. To score an image ``x``, AnoGAN (Schlegl et al., 2017) searches for the latent
vector whose generated image is closest to ``x``, by gradient descent on

    L(z) = (1 - lambda) * sum |x - G(z)| + lambda * sum |f(x) - f(G(z))|       (thesis eq. 2.12)

with ``f`` an intermediate layer of the discriminator (here the last convolutional block's output,
just before ``Flatten``) and ``lambda = 0.1``. The loss after the last step is the anomaly score:
normal images can be generated, anomalies cannot.

Choices, and where they differ from the thesis:

* Latent prior: 256-dimensional standard normal, for training and for the search's start.
* Training updates both networks at once from one generated batch per step (the thesis does not
  say whether it alternated). The generator then runs once per step, which halves the cost of
  deel-lip's kernel normalisation in the Lipschitz generator.
* The search runs on a whole batch of images at once: ``z`` has shape (batch, 256), every image's
  loss depends on its own row of ``z`` only, and Adam updates each coordinate on its own, so a
  batch gives exactly the scores of searching each image alone (a test checks it). The thesis
  searched one image at a time and needed about two weeks for the MNIST test set. All steps of a
  batch run inside one compiled TensorFlow graph.
* Adam's learning rate in the search is 0.001, Keras's default, which the thesis (it gives no
  rate) most likely used through Keras. With Adam each step moves every latent coordinate by up to
  about the rate, so 500 steps stay near the prior's samples, where the generator draws the normal
  class. Chapter 9's ``latent-search`` study chose it by experiment: on the thesis-budget GANs of
  MNIST classes 0, 3, 5 and 6 it scored higher than 0.01 (adlip's first default) on every class,
  and 0.1 lower.
* Batch norm statistics. Keras's batch norm keeps running averages that the generator uses at
  inference; after few training steps they are far from the statistics the generator was trained
  with, and inference-mode images are grey noise. After every epoch the generator's statistics are
  therefore recomputed exactly from one large batch of prior samples, and after training the
  discriminator's from the training images. Training itself is unchanged (it uses batch
  statistics); after a full schedule the recomputed values differ little from the running ones.
* Training scores: ``decision_scores_`` (hence ``threshold_``) come from a seeded subset of
  ``train_score_size`` training images, since each score costs a latent search.
* Mode collapse (thesis 5.1.2) is tracked per epoch as the mean pairwise distance of the images
  generated from a fixed batch of latent vectors, relative to that of training images
  (``history_["diversity_ratio"]``); ``collapsed_`` is set when the final ratio is below
  ``COLLAPSE_RATIO``.
* The Lipschitz variant builds both networks K-Lipschitz with deel-lip and without batch norm, as
  the thesis's tables do. ``orthogonalization="spectral"`` trains them with spectral normalisation
  only, which is still K-Lipschitz and far cheaper for the generator's huge dense layers than
  deel-lip's default Björck orthonormalisation ("bjorck"). After training, both networks' kernels
  are normalised once more from exact singular vectors (``architectures.refresh_lipschitz_kernels``).
* Three options that are not the thesis's, for the mode-collapse study (``adlip.studies.mode_collapse``):
  ``activation="groupsort2"`` builds the Lipschitz generator and discriminator with GroupSort2 in
  place of their ReLUs and leaky ReLUs (rows ``architectures.GROUPSORT_GAN_ARCHITECTURES``), and
  ``discriminator="standard"`` trains the K-Lipschitz generator against the thesis's standard
  discriminator, batch norm included; ``batch_norm=False`` leaves batch norm out of the standard
  networks (``architectures.without_batch_norm``). The defaults build the thesis's networks.
"""
from __future__ import annotations

import weakref

import numpy as np

from adlip.checks import check_integer, check_number
from adlip import architectures
from adlip.detectors.base import BaseDetector, Schedule, _progress, train_epochs
from adlip.detectors.checkpoints import TrainingCheckpoint, check_checkpoint_dir, fingerprint
from adlip.detectors.registry import Algorithm, register

LEARNING_RATE = 2e-4   # Radford et al.'s DCGAN settings, as the thesis uses them
ADAM_BETA_1 = 0.5
EPOCHS = {"mnist": 20, "fashion_mnist": 20, "cifar10": 50}
DIVERSITY_SAMPLES = 64       # fixed latent vectors whose images measure mode collapse
CALIBRATION_SAMPLES = 512    # batch that recomputes batch norm statistics (training used 128)
COLLAPSE_RATIO = 0.25        # sample diversity below this fraction of the data's counts as collapse
# The discriminator option: None matches the generator (Lipschitz with a constant K, standard without);
# "standard" pairs a K-Lipschitz generator with the standard, batch-normalised discriminator.
DISCRIMINATORS = (None, "lipschitz", "standard")
ADAM_SEARCH = (0.9, 0.999, 1e-7)   # beta_1, beta_2, epsilon of the latent search (Keras's defaults)


def mean_pairwise_distance(images) -> float:
    """Mean Euclidean distance over all pairs of images (a diversity measure; 0 = all identical)."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    squared = (flat ** 2).sum(1)
    distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2 * flat @ flat.T, 0, None))
    upper = np.triu_indices(len(flat), k=1)
    return float(distances[upper].mean())


def check_epoch_monitor(monitor) -> None:
    """A GAN's ``epoch_monitor`` is None or a callable(generator, epoch) -> dict of values to log."""
    if monitor is not None and not callable(monitor):
        raise ValueError(f"epoch_monitor must be None or a callable, got {type(monitor).__name__}")


def diversity_tracker(generator, x, rng, prior, seed, epoch_monitor=None):
    """Mode-collapse tracking shared by the GAN detectors: ``(data_diversity, on_epoch_end)``.

    ``data_diversity`` is the mean pairwise distance of ``DIVERSITY_SAMPLES`` training images drawn
    with ``rng``; ``on_epoch_end(epoch, logs)`` recomputes the generator's batch norm statistics,
    then logs the diversity of the images it makes from fixed latent vectors (``prior(n, seed)``,
    seeds ``seed + 2`` and ``seed + 3``), their ratio to the data's, and whatever ``epoch_monitor``
    returns.
    """
    diversity_latents = prior(DIVERSITY_SAMPLES, seed + 2)
    calibration_latents = prior(CALIBRATION_SAMPLES, seed + 3)
    reference = x[rng.choice(len(x), min(len(x), DIVERSITY_SAMPLES), replace=False)]
    data_diversity = mean_pairwise_distance(reference) if len(reference) > 1 else 0.0

    def on_epoch_end(epoch, logs):
        calibrate_batch_norm(generator, calibration_latents)
        diversity = mean_pairwise_distance(generator(diversity_latents, training=False).numpy())
        logs.update(sample_diversity=diversity,
                    diversity_ratio=diversity / data_diversity if data_diversity else float("nan"))
        if epoch_monitor is not None:
            logs.update(epoch_monitor(generator, epoch))

    return data_diversity, on_epoch_end


def calibrate_batch_norm(model, inputs) -> None:
    """Set every batch norm layer's running statistics to those of ``inputs`` (one training-mode call).

    The momentum is set to zero for the call, so the running averages become the batch statistics
    each layer sees when the whole network runs in training mode. Models without batch norm are
    left untouched.
    """
    layers = [layer for layer in architectures.iter_layers(model)
              if layer.__class__.__name__.startswith("BatchNormalization")]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0
        model(inputs, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


def feature_layers(discriminator) -> list:
    """The discriminator's layers before its ``Flatten``: ``f`` of the thesis's eq. 2.11."""
    layers = list(architectures.iter_layers(discriminator))
    for index, layer in enumerate(layers):
        if layer.__class__.__name__ == "Flatten":
            return layers[:index]
    raise ValueError(f"discriminator {discriminator.name!r} has no Flatten layer to take features before")


def apply_layers(layers, images):
    """Run ``images`` through ``layers`` in inference mode (the discriminator's feature map f)."""
    for layer in layers:
        images = layer(images, training=False)
    return images


def per_image_l1(values):
    """The L1 norm of each image of a batch (the residual and feature losses, eqs. 2.10 and 2.11)."""
    import tensorflow as tf

    return tf.reduce_sum(tf.abs(values), axis=tf.range(1, tf.rank(values)))


def make_latent_search(generator, features):
    """A compiled batched latent search: ``search(x, z0, steps, learning_rate, feature_weight)``.

    It returns ``(z, G(z), r, d)`` with ``r`` and ``d`` the per-image residual and feature losses
    (eqs. 2.10, 2.11) at the final ``z``; ``feature_weight`` is lambda of eq. 2.12. Adam runs in
    the graph on plain tensors (no optimizer state), so one traced function serves every batch
    size, step count, learning rate and lambda.
    """
    import tensorflow as tf

    image_shape = tuple(generator.output_shape[1:])
    latent_dim = int(generator.input_shape[-1])
    beta_1, beta_2, epsilon = ADAM_SEARCH

    @tf.function(input_signature=[tf.TensorSpec((None,) + image_shape, tf.float32),
                                  tf.TensorSpec((None, latent_dim), tf.float32),
                                  tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.float32),
                                  tf.TensorSpec((), tf.float32)])
    def search(x, z, steps, learning_rate, feature_weight):
        target = apply_layers(features, x)

        def losses(z):
            generated = generator(z, training=False)
            residual = per_image_l1(x - generated)
            feature = per_image_l1(target - apply_layers(features, generated))
            return generated, residual, feature

        first, second = tf.zeros_like(z), tf.zeros_like(z)
        for step in tf.range(1, steps + 1):
            with tf.GradientTape() as tape:
                tape.watch(z)
                _, residual, feature = losses(z)
                # The sum over images: each row of z gets the gradient of its own image's loss.
                total = tf.reduce_sum((1.0 - feature_weight) * residual + feature_weight * feature)
            gradient = tape.gradient(total, z)
            first = beta_1 * first + (1.0 - beta_1) * gradient
            second = beta_2 * second + (1.0 - beta_2) * tf.square(gradient)
            t = tf.cast(step, tf.float32)
            z = z - learning_rate * (first / (1.0 - beta_1 ** t)) / (tf.sqrt(second / (1.0 - beta_2 ** t)) + epsilon)
        generated, residual, feature = losses(z)
        return z, generated, residual, feature

    return search


def _check_int(name, value, minimum, allow_none=False):
    if allow_none and value is None:
        return
    check_integer(name, value, minimum)


class AnoGAN(BaseDetector):
    """AnoGAN on the thesis's DCGAN (standard, with batch norm) or its K-Lipschitz DCGAN.

    Training: Adam (learning rate 2e-4, beta_1 0.5) on both networks, batch 128, 20 epochs for
    MNIST and 50 for CIFAR-10 (``epochs_scale`` shrinks them). Per batch, one generated batch
    serves both updates, taken at once: the discriminator's on real against generated images, the
    generator's on the non-saturating loss ``-log D(G(z))``. Images must be scaled to [-1, 1]
    (``one_vs_rest(..., scaling="tanh")``).

    Scoring: ``latent_steps`` Adam steps (learning rate ``latent_learning_rate``) on the latent
    vectors of ``search_batch_size`` images at a time; ``feature_weight`` is lambda of eq. 2.12.
    Each image starts from a standard normal draw seeded by ``seed``, so scores are reproducible.
    ``train_score_size`` training images (a seeded subset; None: all) give ``decision_scores_``.
    ``orthogonalization`` ("bjorck" or "spectral") is passed to ``architectures.build``.
    ``activation`` ("groupsort2"; None: the thesis's ReLU / leaky ReLU) picks the Lipschitz networks'
    activations, ``discriminator`` ("lipschitz", "standard"; None: the generator's kind) which
    discriminator the generator is trained against; both need a Lipschitz constant to differ from
    the thesis's AnoGAN. ``batch_norm=False`` builds the standard networks without their batch norm.

    ``epoch_monitor`` is not a parameter: set it on an instance before ``fit`` to a callable
    ``monitor(generator, epoch) -> dict`` of numbers, called after every epoch (batch norm
    statistics recomputed, generator in inference mode); its values join ``history_``. It is not
    saved, cloned or compared, and when it is None (the default) training is unchanged.
    ``checkpoint_dir`` is not a parameter either: set it to a folder before ``fit``, and training
    saves its state there between epochs (:mod:`adlip.detectors.checkpoints`, at most every five
    minutes); a ``fit`` stopped midway and run again with the same folder, parameters and images
    resumes from the last save and gives bitwise the same networks. The folder is deleted when
    training ends.

    Fitted attributes: ``generator_`` (latent -> image), ``discriminator_`` (image -> probability
    of being real), ``data_diversity_``, ``collapsed_``, and the base class's ``decision_scores_``,
    ``threshold_``, ``labels_``, ``history_`` (per epoch: discriminator_loss, generator_loss, their
    sum as loss, real_probability, fake_probability, sample_diversity, diversity_ratio),
    ``train_seconds_``, ``schedule_``.
    """

    family = "anogan"
    scaling = "tanh"   # the one_vs_rest scaling this detector needs: pixels in [-1, 1]
    _network_attributes = ("generator_", "discriminator_")
    _state_attributes = BaseDetector._state_attributes + ("data_diversity_", "collapsed_")
    epoch_monitor = None   # see the class docstring: a per-epoch callback, not a parameter
    checkpoint_dir = None  # see the class docstring: where training saves its state, not a parameter

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1, orthogonalization="bjorck", latent_steps=500,
                 latent_learning_rate=0.001, feature_weight=0.1, search_batch_size=500, train_score_size=500,
                 activation=None, discriminator=None, batch_norm=True):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.orthogonalization = orthogonalization
        self.latent_steps = latent_steps
        self.latent_learning_rate = latent_learning_rate
        self.feature_weight = feature_weight
        self.search_batch_size = search_batch_size
        self.train_score_size = train_score_size
        self.activation = activation
        self.discriminator = discriminator
        self.batch_norm = batch_norm

    def default_schedule(self) -> Schedule:
        return Schedule(((EPOCHS[self.dataset], LEARNING_RATE),), batch_size=128, weight_decay=0.0)

    def _check_params(self) -> None:
        super()._check_params()
        if self.orthogonalization not in architectures.ORTHOGONALIZATIONS:
            raise ValueError(f"orthogonalization must be one of {architectures.ORTHOGONALIZATIONS}, "
                             f"got {self.orthogonalization!r}")
        _check_int("latent_steps", self.latent_steps, 1)
        _check_int("search_batch_size", self.search_batch_size, 1)
        _check_int("train_score_size", self.train_score_size, 1, allow_none=True)
        rate, weight = self.latent_learning_rate, self.feature_weight
        check_number("latent_learning_rate", rate, low=0.0, low_closed=False, finite=False, what="a positive number")
        check_number("feature_weight (lambda of eq. 2.12)", weight, low=0.0, high=1.0, what="in [0, 1]")
        architectures.check_gan_activation(self.activation, "generator", self.lipschitz is not None)
        if self.discriminator not in DISCRIMINATORS:
            raise ValueError(f"discriminator must be one of {DISCRIMINATORS} (None: the generator's kind), "
                             f"got {self.discriminator!r}")
        if self.discriminator == "lipschitz" and self.lipschitz is None:
            raise ValueError("discriminator='lipschitz' needs a Lipschitz constant K (lipschitz=K); the standard "
                             "AnoGAN trains against the standard discriminator")
        if not isinstance(self.batch_norm, (bool, np.bool_)):
            raise ValueError(f"batch_norm must be True or False, got {self.batch_norm!r}")
        if not self.batch_norm and self.lipschitz is not None and self.discriminator != "standard":
            raise ValueError("batch_norm=False leaves batch norm out of the standard networks, and with lipschitz=K "
                             "both networks are Lipschitz ones, which have none; drop lipschitz, or pair it with "
                             "discriminator='standard'")
        check_epoch_monitor(self.epoch_monitor)
        check_checkpoint_dir(self.checkpoint_dir)

    # -- networks --
    @property
    def latent_dim(self) -> int:
        return int(self.architecture("generator").input_shape[0])

    def architecture(self, family: str) -> architectures.Architecture:
        """The "generator" or "discriminator" for this detector's data set and variant: the thesis's,
        unless ``activation`` or ``discriminator`` says otherwise."""
        lipschitz = self.lipschitz is not None and not (family == "discriminator" and self.discriminator == "standard")
        spec = architectures.get_architecture(family, self.dataset, lipschitz,
                                              activation=self.activation if lipschitz else None)
        return spec if self.batch_norm or spec.lipschitz else architectures.without_batch_norm(spec)

    def _build(self, family: str, seed: int):
        spec = self.architecture(family)
        return architectures.build(spec, lipschitz=self.lipschitz if spec.lipschitz else None, seed=seed,
                                   orthogonalization=self.orthogonalization)

    def prior(self, n: int, seed: int) -> np.ndarray:
        """``n`` latent vectors from the standard normal prior, seeded."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    # -- training --
    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self.generator_ = self._build("generator", self.seed)
        self.discriminator_ = self._build("discriminator", self.seed + 1)
        self._search_function = None
        generator, discriminator = self.generator_, self.discriminator_
        rate = self.schedule_.phases[0][1]
        optimizers = [tf.keras.optimizers.Adam(rate, beta_1=ADAM_BETA_1) for _ in range(2)]
        step = _make_gan_step(generator, discriminator, *optimizers, self.latent_dim, self.seed, self.input_shape)

        rng = np.random.default_rng(self.seed)
        self.data_diversity_, on_epoch_end = diversity_tracker(generator, x, rng, self.prior, self.seed,
                                                               self.epoch_monitor)

        variant = "" if self.lipschitz is None else f" K={self.lipschitz:g} {self.orthogonalization}"
        variant += "" if self.activation is None else f" {self.activation}"
        variant += "" if self.discriminator is None else f", {self.discriminator} discriminator"
        variant += "" if self.batch_norm else ", no batch norm"
        checkpoint = self._training_checkpoint(x, optimizers, step)
        history = train_epochs(step, x, self.schedule_, optimizers, seed=self.seed, verbose=self.verbose,
                               description=f"AnoGAN {self.dataset}{variant}", on_epoch_end=on_epoch_end,
                               checkpoint=checkpoint)
        self.resumed_epochs_ = 0 if checkpoint is None else checkpoint.restored_epoch
        if checkpoint is not None:
            checkpoint.clear()
        for network in (generator, discriminator):
            architectures.refresh_lipschitz_kernels(network)
        calibrate_batch_norm(discriminator, x[rng.choice(len(x), min(len(x), CALIBRATION_SAMPLES), replace=False)])
        self.collapsed_ = bool(history["diversity_ratio"][-1] < COLLAPSE_RATIO)
        return history

    def _training_checkpoint(self, x, optimizers, step):
        """The :class:`TrainingCheckpoint` of ``checkpoint_dir`` (None without one). The optimizers
        are built first, so that their moments exist to be saved or restored."""
        if self.checkpoint_dir is None:
            return None
        for optimizer, network in zip(optimizers, (self.generator_, self.discriminator_)):
            optimizer.build(network.trainable_weights)
        return TrainingCheckpoint(self.checkpoint_dir, fingerprint(self, x), generator=self.generator_,
                                  discriminator=self.discriminator_, generator_optimizer=optimizers[0],
                                  discriminator_optimizer=optimizers[1], latents=step.latents)

    # -- scoring --
    def _score(self, x: np.ndarray) -> np.ndarray:
        return self._search(x)["score"]

    def score_batches(self, X) -> list:
        """The latent search of ``decision_function(X)`` one search batch (``search_batch_size``
        images) at a time, each from the same initial latents as the whole search: bitwise its scores."""
        self._check_fitted()
        x = self._check_X(X)
        z0 = self.prior(len(x), self.seed)

        def part(start, stop):
            return lambda: self._search(x[start:stop], z0[start:stop])["score"]

        size = self.search_batch_size
        return [(start, min(start + size, len(x)), part(start, min(start + size, len(x))))
                for start in range(0, len(x), size)]

    def _score_training(self, x: np.ndarray) -> np.ndarray:
        """Scores of ``train_score_size`` training images (a subset drawn with ``seed``), not of all of
        them: each score costs a latent search, and they only set ``threshold_``."""
        if self.train_score_size is not None and len(x) > self.train_score_size:
            rows = np.random.default_rng(self.seed).choice(len(x), self.train_score_size, replace=False)
            x = x[np.sort(rows)]
        return self._score(x)

    def _latent_search(self):
        if getattr(self, "_search_function", None) is None:
            self._search_function = make_latent_search(self.generator_, feature_layers(self.discriminator_))
        return self._search_function

    def _search(self, x, initial_latents=None, steps=None, batch_size=None) -> dict:
        steps = self.latent_steps if steps is None else steps
        batch_size = self.search_batch_size if batch_size is None else batch_size
        _check_int("steps", steps, 0)
        _check_int("batch_size", batch_size, 1)
        z0 = self.prior(len(x), self.seed) if initial_latents is None else np.asarray(initial_latents, np.float32)
        if z0.shape != (len(x), self.latent_dim):
            raise ValueError(f"initial_latents must have shape {(len(x), self.latent_dim)}, got {z0.shape}")
        search = self._latent_search()
        parts = {"z": [], "reconstruction": [], "residual_score": [], "feature_score": []}
        bar = _progress(-(-len(x) // batch_size), "latent search", self.verbose)
        if bar is not None:
            bar.unit = "batch"
        try:
            for start in range(0, len(x), batch_size):
                end = start + batch_size
                outputs = search(x[start:end], z0[start:end], steps, float(self.latent_learning_rate),
                                 float(self.feature_weight))
                for key, value in zip(parts, outputs):
                    parts[key].append(value.numpy())
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        result = {key: np.concatenate(values) for key, values in parts.items()}
        weight = float(self.feature_weight)
        result["residual_score"] = result["residual_score"].astype(np.float64)
        result["feature_score"] = result["feature_score"].astype(np.float64)
        result["score"] = (1 - weight) * result["residual_score"] + weight * result["feature_score"]
        return result

    def search(self, X, initial_latents=None, steps=None, batch_size=None) -> dict:
        """Latent search for each image of ``X``, ``batch_size`` images at a time.

        Returns a dict of arrays, one row per image: ``z`` (the latent vectors found),
        ``reconstruction`` (``G(z)``), ``residual_score`` (eq. 2.10), ``feature_score`` (eq. 2.11)
        and ``score`` (eq. 2.12, what ``decision_function`` returns). ``initial_latents`` (one row
        per image) replaces the seeded prior draws; ``steps`` and ``batch_size`` override
        ``latent_steps`` and ``search_batch_size``.
        """
        self._check_fitted()
        return self._search(self._check_X(X), initial_latents, steps, batch_size)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` images generated from seeded prior draws (inference mode)."""
        self._check_fitted()
        _check_int("n", n, 1)
        latents = self.prior(n, seed)
        return np.concatenate([self.generator_(latents[i:i + 500], training=False).numpy()
                               for i in range(0, n, 500)])

    # -- Lipschitz metadata --
    @property
    def lipschitz_network(self):
        """The generator (latent vector -> image), K-Lipschitz in the Lipschitz variant."""
        return self.generator_

    def lipschitz_inputs(self, X, seed: int = 0) -> np.ndarray:
        """As many prior samples as ``X`` has images: the generator's inputs to measure it on."""
        return self.prior(len(self._check_X(X)), seed)

    # -- attacks and certificates: the score is a search, not a closed form --
    def score_tensor(self, x):
        raise ValueError("AnoGAN's score is a latent search, not a closed-form function of the image; "
                         "pgd_attack attacks it through its Danskin surrogate")

    def no_certificate_reason(self):
        return ("AnoGAN's score is the end of a finite latent search from a fixed start, not the exact minimum "
                "over the latent space, so no Lipschitz constant of it in the image is provable")

    def attack_objective(self):
        """The Danskin surrogate of the search score (:class:`LatentSurrogate`)."""
        return LatentSurrogate(self)


def _make_gan_step(generator, discriminator, generator_optimizer, discriminator_optimizer, latent_dim, seed,
                   image_shape):
    """One DCGAN training step as a tf.function: both networks update from the same generated batch.

    The generator runs once per step and the discriminator twice (real, then generated images, as
    separate batches for batch norm), each call ordered after the previous one: deel-lip layers
    refresh their normalised kernels in every training-mode call, and unordered calls made the
    results depend on thread timing. The generator's loss is the non-saturating ``-log D(G(z))``.
    """
    import tensorflow as tf

    latents = tf.random.Generator.from_seed(seed)
    cross_entropy = tf.keras.losses.BinaryCrossentropy()

    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(image_shape), tf.float32)])
    def step(real):
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake = generator(latents.normal((tf.shape(real)[0], latent_dim)), training=True)
            with tf.control_dependencies([fake]):
                real_probability = discriminator(real, training=True)
            with tf.control_dependencies([real_probability]):
                fake_probability = discriminator(fake, training=True)
            discriminator_loss = (cross_entropy(tf.ones_like(real_probability), real_probability)
                                  + cross_entropy(tf.zeros_like(fake_probability), fake_probability))
            generator_loss = cross_entropy(tf.ones_like(fake_probability), fake_probability)
        for tape, loss, network, optimizer in ((discriminator_tape, discriminator_loss, discriminator,
                                                discriminator_optimizer),
                                               (generator_tape, generator_loss, generator, generator_optimizer)):
            weights = network.trainable_weights
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return {"loss": discriminator_loss + generator_loss, "discriminator_loss": discriminator_loss,
                "generator_loss": generator_loss, "real_probability": tf.reduce_mean(real_probability),
                "fake_probability": tf.reduce_mean(fake_probability)}

    step.latents = latents   # its state is part of a training checkpoint
    return step


class LatentSurrogate:
    """AnoGAN's loss ``L(x, z)`` at a latent vector per image that follows the attacked image.

    By Danskin's theorem the gradient of the score ``min_z L(x, z)`` in ``x`` is ``dL/dx (x, z*)``
    where the minimum is attained. ``start`` runs the detector's own search on the clean images;
    each ``value_and_gradient`` first moves the latent vectors ``TRACKING_STEPS`` search steps
    towards the current image (a warm start), then returns ``L(x, z)`` and its gradient in ``x`` at
    fixed ``z``.
    """

    TRACKING_STEPS = 10
    exact = False   # the value is the surrogate's, not the end-to-end score: attacks keep their last iterate

    def __init__(self, detector):
        import tensorflow as tf

        self.detector = weakref.proxy(detector)   # an objective cache must not keep the detector alive
        generator, features = detector.generator_, feature_layers(detector.discriminator_)
        weight = float(detector.feature_weight)

        @tf.function(reduce_retracing=True)
        def value_and_gradient(x, z):
            generated = generator(z, training=False)
            target_features = apply_layers(features, generated)
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = (1.0 - weight) * per_image_l1(x - generated) \
                    + weight * per_image_l1(apply_layers(features, x) - target_features)
                total = tf.reduce_sum(loss)
            return loss, tape.gradient(total, x)

        self._value_and_gradient = value_and_gradient
        self.latents = None

    def start(self, x0):
        self.latents = self.detector.search(x0)["z"]

    def value_and_gradient(self, x):
        import tensorflow as tf

        search = self.detector._latent_search()
        self.latents = search(tf.constant(x), tf.constant(self.latents), tf.constant(self.TRACKING_STEPS),
                              tf.constant(float(self.detector.latent_learning_rate)),
                              tf.constant(float(self.detector.feature_weight)))[0].numpy()
        values, gradient = self._value_and_gradient(tf.constant(x), tf.constant(self.latents))
        return values.numpy(), gradient.numpy()


register(Algorithm("anogan", AnoGAN, "AnoGAN", "thesis", color="tab:red"))
