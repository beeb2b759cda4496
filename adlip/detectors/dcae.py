"""Deep convolutional autoencoder (DCAE) anomaly detection (thesis sections 2.3 and 4.2).

The autoencoder learns to reconstruct normal images; an image it reconstructs badly is
anomalous. The score is the thesis's eq. 2.4, the L2 norm of the reconstruction residual.
"""
from __future__ import annotations

import numpy as np

from adlip import architectures
from adlip.detectors.base import BaseDetector, Schedule, predict_in_batches, train_epochs, weight_penalty
from adlip.detectors.registry import Algorithm, register
from adlip.detectors.scoring import final_slope, flat_norm, network_constant

STANDARD_SCHEDULE = Schedule(((250, 1e-4), (100, 1e-5)), batch_size=200, weight_decay=1e-6)
# The thesis dropped the learning-rate drop for Lipschitz DCAEs: they had not converged by 350 epochs.
LIPSCHITZ_SCHEDULE = Schedule(((350, 1e-4),), batch_size=200, weight_decay=1e-6)


def check_orthogonalization(value) -> None:
    if value not in architectures.ORTHOGONALIZATIONS:
        raise ValueError(f"orthogonalization must be one of {architectures.ORTHOGONALIZATIONS}, got {value!r}")


class DCAE(BaseDetector):
    """Reconstruction-error anomaly detector on the thesis's DCAE (standard or K-Lipschitz).

    Training minimises the mean squared reconstruction error with Adam (batch 200) plus the weight
    decay as an explicit L2 penalty ``lambda / 2 * sum ||W||^2`` on the kernels (lambda = 1e-6, as
    the PyTorch reference's Adam ``weight_decay`` adds it to the gradient; not Keras's decoupled
    ``weight_decay``). Schedule: 250 epochs at 1e-4 then 100 at 1e-5; Lipschitz: 350 at 1e-4.
    ``orthogonalization`` ("bjorck" or "spectral"), ``activation`` ("groupsort2", "fullsort") and
    ``pooling`` ("l2norm") are passed to ``architectures.build``; the last two make a Lipschitz
    DCAE gradient norm preserving (None: the thesis's leaky ReLU and max pooling). ``decoder``
    chooses the Lipschitz DCAE's decoder (``architectures.DECODERS``): "dense", the thesis's;
    "spectralconv", the convolutional decoder the thesis abandoned (deel-lip ``SpectralConv2D``);
    "operatorconv", the same decoder with convolutions normalised by their operator norm
    (``adlip.layers.OperatorNormConv2D``), which reconstructs sharply (book chapter 19). After
    training, Lipschitz kernels are normalised once more from exact singular vectors
    (``architectures.refresh_lipschitz_kernels``), so the constant of the model that is scored,
    saved and measured is K up to deel-lip's own margin.

    Fitted attributes: ``autoencoder_`` (``Sequential([encoder, decoder])``), the base class's
    ``decision_scores_``, ``threshold_``, ``labels_``, ``history_`` (loss and mse per epoch),
    ``train_seconds_``, ``schedule_``.
    """

    family = "dcae"
    _network_attributes = ("autoencoder_",)

    def __init__(self, dataset="mnist", lipschitz=None, seed=0, schedule=None, epochs_scale=1.0,
                 batch_size=None, verbose=1, contamination=0.1, orthogonalization="bjorck", activation=None,
                 pooling=None, decoder="dense"):
        super().__init__(dataset=dataset, lipschitz=lipschitz, seed=seed, schedule=schedule,
                         epochs_scale=epochs_scale, batch_size=batch_size, verbose=verbose,
                         contamination=contamination)
        self.orthogonalization = orthogonalization
        self.activation = activation
        self.pooling = pooling
        self.decoder = decoder

    def default_schedule(self) -> Schedule:
        return STANDARD_SCHEDULE if self.lipschitz is None else LIPSCHITZ_SCHEDULE

    def _check_params(self) -> None:
        super()._check_params()
        check_orthogonalization(self.orthogonalization)
        architectures.check_gnp_options(self.activation, self.pooling, self.lipschitz is not None)
        architectures.check_decoder(self.decoder, self.lipschitz is not None)

    @property
    def architecture(self) -> architectures.Architecture:
        return architectures.get_architecture("dcae", self.dataset, self.lipschitz is not None, self.decoder)

    def _build_network(self):
        """The untrained autoencoder (a hook: the SpectralConv2D study builds variants of it)."""
        return architectures.build(self.architecture, lipschitz=self.lipschitz, seed=self.seed,
                                   orthogonalization=self.orthogonalization, activation=self.activation,
                                   pooling=self.pooling)

    def _fit(self, x: np.ndarray) -> dict:
        import tensorflow as tf

        self.autoencoder_ = self._build_network()
        model, decay = self.autoencoder_, self.schedule_.weight_decay
        optimizer = tf.keras.optimizers.Adam(self.schedule_.phases[0][1])

        @tf.function(input_signature=[tf.TensorSpec((None,) + self.input_shape, tf.float32)])
        def step(batch):
            with tf.GradientTape() as tape:
                mse = tf.reduce_mean(tf.square(batch - model(batch, training=True)))
                loss = mse + weight_penalty(model, decay)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return {"loss": loss, "mse": mse}

        label = f"DCAE {self.dataset}" + ("" if self.lipschitz is None else f" K={self.lipschitz:g}")
        history = train_epochs(step, x, self.schedule_, [optimizer], seed=self.seed, verbose=self.verbose,
                               description=label)
        architectures.refresh_lipschitz_kernels(model)
        return history

    def _reconstruct(self, x: np.ndarray) -> np.ndarray:
        model = self.autoencoder_
        return predict_in_batches(lambda batch: model(batch, training=False), x)

    def _score(self, x: np.ndarray) -> np.ndarray:
        residual = (x - self._reconstruct(x)).reshape(len(x), -1).astype(np.float64)
        return np.sqrt((residual ** 2).sum(axis=1))

    def reconstruct(self, X) -> np.ndarray:
        """The autoencoder's reconstructions of ``X`` (same shape as the validated ``X``)."""
        self._check_fitted()
        return self._reconstruct(self._check_X(X))

    @property
    def encoder_(self):
        return architectures.encoder_of(self.autoencoder_)

    @property
    def lipschitz_network(self):
        """The whole autoencoder (image -> reconstruction), K-Lipschitz in the Lipschitz variant."""
        return self.autoencoder_

    def score_tensor(self, x):
        """``||x - A(x)||_2`` per image: the reconstruction error ``decision_function`` returns."""
        return flat_norm(x - self.autoencoder_(x, training=False))

    def score_lipschitz_constant(self):
        """``1 + K'`` for the reconstruction error: ``(x - A(x)) - (y - A(y))`` has norm at most
        ``||x - y|| + ||A(x) - A(y)||``, and ``A`` is ``K' = K/4``-Lipschitz when it ends with a sigmoid
        (the thesis's autoencoders do), ``K``-Lipschitz otherwise; K includes deel-lip's margin."""
        if self.lipschitz_constant is None:
            return None
        return 1.0 + network_constant(self) * final_slope(self.autoencoder_)


register(Algorithm("dcae", DCAE, "DCAE", "thesis", color="tab:blue"))
