"""Two Lipschitz layers deel-lip 1.5 lacks, for convolutional Lipschitz decoders.

:class:`OperatorNormConv2D` is a stride-1 convolution (``padding="same"``) whose kernel is divided
by the spectral norm of the convolution itself, the linear map from a ``H x W x C`` image to its
output, estimated by power iteration on that map. deel-lip's ``SpectralConv2D`` instead
orthonormalises the kernel reshaped to a ``(k*k*C_in, C_out)`` matrix and multiplies it by a
correction factor (about ``1/k`` for a ``k x k`` kernel) that keeps the worst case below K. The
worst case needs every kernel tap to be the same matrix, which is a box blur; any other kernel has
a norm well below K (0.26 to 0.55 for the thesis's 5x5 decoder layers when they are initialised).
Normalising by the true operator norm lets every kernel use its whole budget.

:class:`ScaledUpSampling2D` repeats each pixel ``s x s`` times and divides by ``s``: the
thesis's first Lipschitz upsampling (section 4.2). It is an isometry (it keeps every L2
distance), so it costs the decoder nothing of its Lipschitz budget.

Both are registered Keras serialisables, so ``.keras`` files that hold them load again once
``adlip.layers`` is imported (``BaseDetector.load`` does so).
"""
from __future__ import annotations

import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
import numpy as np
import tensorflow as tf

REFRESH_TOLERANCE = 1e-7   # relative tolerance of the Lanczos solve that fixes the normalisation after training


@tf.keras.utils.register_keras_serializable(package="adlip")
class OperatorNormConv2D(tf.keras.layers.Layer):
    """A ``k_coef_lip``-Lipschitz stride-1 'same' convolution normalised by its operator norm.

    Each training-mode call runs ``power_iterations`` steps of power iteration on the map
    ``x -> conv(x, kernel)`` (its adjoint is the transposed convolution), warm-started from the
    previous call's vector as in Miyato et al.'s spectral normalisation, and uses
    ``k_coef_lip * kernel / sigma``; the gradient flows through ``sigma``. Inference uses the kernel
    normalised at the last training call. Power iteration approaches sigma from below, and a
    convolution's top singular values lie close together, so during training the layer can exceed
    ``k_coef_lip`` by the estimate's lag (a few tenths of a per cent on the decoders of book chapter
    19). :meth:`refresh` (which ``architectures.refresh_lipschitz_kernels`` calls after training)
    solves for sigma with Lanczos iteration instead, to a relative precision of
    :data:`REFRESH_TOLERANCE`, after which the layer's norm is ``k_coef_lip``.
    The norm depends on the image size, so the layer is built for one input size.
    """

    def __init__(self, filters, kernel_size, k_coef_lip=1.0, use_bias=False, power_iterations=1,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"filters must be a positive integer, got {filters!r}")
        if not k_coef_lip > 0:
            raise ValueError(f"k_coef_lip must be positive, got {k_coef_lip!r}")
        self.filters = filters
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        self.k_coef_lip = float(k_coef_lip)
        self.use_bias = bool(use_bias)
        self.power_iterations = int(power_iterations)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if None in tuple(input_shape[1:]):
            raise ValueError("OperatorNormConv2D needs a fixed image size (its norm depends on it); "
                             f"got input shape {tuple(input_shape)}")
        self.image_shape = tuple(int(d) for d in input_shape[1:])
        channels = self.image_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels, self.filters),
                                      initializer=self.kernel_initializer, trainable=True)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros", trainable=True)
                     if self.use_bias else None)
        start = np.random.default_rng(self.filters * 1000 + channels).standard_normal((1,) + self.image_shape)
        self.u = self.add_weight(name="u", shape=(1,) + self.image_shape, trainable=False,
                                 initializer=tf.constant_initializer(start / np.linalg.norm(start)))
        self.sigma = self.add_weight(name="sigma", shape=(), initializer="ones", trainable=False)
        super().build(input_shape)

    def _conv(self, x, kernel):
        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")

    def _adjoint(self, y, kernel):
        return tf.nn.conv2d_transpose(y, kernel, output_shape=tf.shape(self.u), strides=1, padding="SAME")

    def _power_iteration(self, kernel, steps):
        u = tf.stop_gradient(self.u)
        for _ in range(steps):
            v = self._adjoint(self._conv(u, kernel), kernel)
            u = v / (tf.norm(v) + 1e-12)
        return tf.stop_gradient(u)

    def call(self, inputs, training=None):
        training = tf.keras.backend.learning_phase() if training is None else training
        if training:
            u = self._power_iteration(self.kernel, self.power_iterations)
            sigma = tf.norm(self._conv(u, self.kernel))
            self.u.assign(u)
            self.sigma.assign(tf.stop_gradient(sigma))
        else:
            sigma = self.sigma
        outputs = self._conv(inputs, self.kernel * (self.k_coef_lip / sigma))
        return outputs if self.bias is None else outputs + self.bias

    def refresh(self) -> float:
        """Solve for the kernel's operator norm (Lanczos, warm-started); store it and its vector.

        The stored sigma is nudged up by the solve's tolerance, so the layer errs below its
        constant, never above. Returns the stored sigma.
        """
        kernel, shape = tf.constant(self.kernel.numpy()), (1,) + self.image_shape
        out_shape = shape[:-1] + (self.filters,)

        def forward(v):
            x = tf.constant(np.asarray(v, np.float32).reshape(shape))
            return self._conv(x, kernel).numpy().astype(np.float64).ravel()

        def adjoint(y):
            y = tf.constant(np.asarray(y, np.float32).reshape(out_shape))
            return self._adjoint(y, kernel).numpy().astype(np.float64).ravel()

        start = self.u.numpy().astype(np.float64).ravel()
        sigma, vector = top_singular_pair(forward, adjoint, (int(np.prod(out_shape)), int(np.prod(shape))),
                                          start, tol=REFRESH_TOLERANCE)
        self.u.assign((vector / np.linalg.norm(vector)).reshape(shape).astype(np.float32))
        self.sigma.assign(sigma * (1 + 10 * REFRESH_TOLERANCE))
        return float(self.sigma.numpy())

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, k_coef_lip=self.k_coef_lip,
                      use_bias=self.use_bias, power_iterations=self.power_iterations,
                      kernel_initializer=tf.keras.initializers.serialize(self.kernel_initializer))
        return config


@tf.keras.utils.register_keras_serializable(package="adlip")
class ScaledUpSampling2D(tf.keras.layers.Layer):
    """Nearest-neighbour upsampling by ``size`` divided by ``size``: an L2 isometry."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.size = size

    def call(self, inputs):
        return tf.keras.backend.resize_images(inputs, self.size, self.size, "channels_last") / float(self.size)

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        return (input_shape[0], None if height is None else height * self.size,
                None if width is None else width * self.size, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size)
        return config


def top_singular_pair(matvec, rmatvec, shape: tuple, start: np.ndarray, tol: float) -> tuple:
    """``(sigma, v)``: the largest singular value of a matrix-free operator and its right vector.

    ``matvec`` maps the input space (``shape[1]`` entries) to the output space (``shape[0]``) and
    ``rmatvec`` back; ``start`` is a vector of the input space. ARPACK's Lanczos iteration
    (``scipy.sparse.linalg.svds``) works in the smaller of the two spaces, so a start vector is
    carried over to the output space first when that one is smaller.
    """
    from scipy.sparse.linalg import LinearOperator, svds

    operator = LinearOperator(shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    if shape[0] < shape[1]:
        start = matvec(start)
    _, sigma, vt = svds(operator, k=1, v0=start, tol=tol)
    return float(sigma[0]), vt[0]
