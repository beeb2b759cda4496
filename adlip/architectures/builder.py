"""The Keras builder: :func:`build` turns an :class:`~adlip.architectures.rows.Architecture`'s rows into
a ``tf.keras`` model, plus the helpers that work on built models (refreshing deel-lip kernels,
finding the Lipschitz layers, exporting a plain Keras copy, transferring weights).

The only part of :mod:`adlip.architectures` that needs TensorFlow and deel-lip, imported inside
the functions so that the rows and tables can be read without them.
"""
from __future__ import annotations

import math
import re

from adlip.architectures.rows import LIPSCHITZ_KINDS, Architecture, Layer
from adlip.checks import is_real
import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

ORTHOGONALIZATIONS = ("bjorck", "spectral")
GNP_ACTIVATIONS = (None, "groupsort2", "fullsort")   # replacements for leaky ReLU in Lipschitz networks
GNP_POOLINGS = (None, "l2norm")                        # replacement for max pooling
STANDARD_LEAK = 0.1   # Ruff et al.'s leaky ReLU slope (DCAE, Deep SVDD)
GAN_LEAK = 0.2        # Radford et al.'s (DCGAN)


def _check_lipschitz_constant(arch: Architecture, lipschitz):
    if not arch.lipschitz:
        if lipschitz is not None:
            raise ValueError(f"{arch.name} is a standard network; pass lipschitz=None, or use the "
                             "Lipschitz architecture (get_architecture(..., lipschitz=True))")
        return None
    k = 1.0 if lipschitz is None else lipschitz
    if not is_real(k) or k <= 0:
        raise ValueError(f"the Lipschitz constant must be a positive number, got {lipschitz!r}")
    return float(k)


class _LayerFactory:
    """Makes the Keras layer for each row, with the initialisers and options of one network."""

    def __init__(self, arch, k_per_layer, orthogonalization, seed, bias=None, activation=None, pooling=None):
        import tensorflow as tf

        self.tf = tf
        self.arch = arch
        self.gan = arch.family in ("generator", "discriminator", "critic", "encoder")   # DCGAN conventions
        self.bias = self.gan if bias is None else bool(bias)
        self.k = k_per_layer
        self.eps_bjorck = None if orthogonalization == "spectral" else _default_eps_bjorck()
        self.seed = seed
        self.count = 0
        self.activation = activation
        self.pooling = pooling

    def _next_seed(self):
        self.count += 1
        return self.seed * 1000 + self.count

    def _glorot(self):
        return self.tf.keras.initializers.GlorotUniform(seed=self._next_seed())

    def _init(self):
        """A fresh seeded initializer per layer, so the same seed always gives the same weights."""
        if self.gan:
            return self.tf.keras.initializers.RandomNormal(0.0, 0.02, seed=self._next_seed())
        return self._glorot()

    def _spectral(self, layer):
        if layer.kind == "OperatorNormConv2D":
            from adlip.layers import OperatorNormConv2D

            return OperatorNormConv2D(layer.size, layer.kernel, k_coef_lip=self.k, use_bias=self.bias,
                                      kernel_initializer=self._glorot())
        from deel.lip.initializers import SpectralInitializer
        from deel.lip.layers import SpectralConv2D, SpectralDense

        # Björck: a seeded Glorot draw orthonormalised, as good a start as deel-lip's default orthogonal
        # draw (whose QR takes ~40 s on the generators' layers). Spectral: the Glorot draw itself, since
        # every call divides the kernel by its largest singular value anyway.
        start = self._glorot() if self.eps_bjorck is None else SpectralInitializer(
            eps_bjorck=self.eps_bjorck, base_initializer=self._glorot())
        options = dict(use_bias=self.bias, k_coef_lip=self.k, eps_bjorck=self.eps_bjorck, kernel_initializer=start)
        if layer.kind == "SpectralDense":
            return SpectralDense(layer.size, **options)
        return SpectralConv2D(layer.size, layer.kernel, strides=layer.stride, padding="same", **options)

    def _batch_norm(self):
        if self.gan:
            return self.tf.keras.layers.BatchNormalization(
                momentum=0.9, epsilon=1e-5,
                gamma_initializer=self.tf.keras.initializers.RandomNormal(1.0, 0.02, seed=self.seed))
        # PyTorch's BatchNorm2d(eps=1e-4, affine=False) as in Ruff et al.; its momentum 0.1 is Keras's 0.9.
        # With bias=True it gets a learned offset (its bias term), still no scale.
        return self.tf.keras.layers.BatchNormalization(center=self.bias, scale=False, epsilon=1e-4, momentum=0.9)

    def _groupsort2(self):
        from deel.lip.activations import GroupSort2

        return GroupSort2()

    def make(self, layer: Layer, previous_shape: tuple):
        layers = self.tf.keras.layers
        kind = layer.kind
        if kind in LIPSCHITZ_KINDS:
            return self._spectral(layer)
        if kind in ("Conv2D", "Conv2DTranspose"):
            same = layer.output_shape[0] == math.ceil(previous_shape[0] / layer.stride) or kind == "Conv2DTranspose"
            cls = layers.Conv2D if kind == "Conv2D" else layers.Conv2DTranspose
            return cls(layer.size, layer.kernel, strides=layer.stride, padding="same" if same else "valid",
                       use_bias=self.bias, kernel_initializer=self._init())
        if kind == "Dense":
            return layers.Dense(layer.size, use_bias=self.bias, kernel_initializer=self._init())
        if kind == "LeakyReLU" and self.activation is not None:
            from deel.lip import activations

            return {"groupsort2": activations.GroupSort2, "fullsort": activations.FullSort}[self.activation]()
        if kind == "MaxPooling" and self.pooling == "l2norm":
            from deel.lip.layers import ScaledL2NormPooling2D

            size = tuple(layer.kernel) if isinstance(layer.kernel, (tuple, list)) else (layer.kernel,) * 2
            stride = tuple(layer.stride) if isinstance(layer.stride, (tuple, list)) else (layer.stride,) * 2
            return ScaledL2NormPooling2D(pool_size=size, strides=stride)
        if kind == "Upsample":
            from adlip.layers import ScaledUpSampling2D

            return ScaledUpSampling2D(layer.kernel[0])
        if kind == "Crop":
            top, left = previous_shape[0] - layer.output_shape[0], previous_shape[1] - layer.output_shape[1]
            return layers.Cropping2D(((top // 2, top - top // 2), (left // 2, left - left // 2)))
        simple = {
            "BatchNorm": self._batch_norm,
            "LeakyReLU": lambda: layers.LeakyReLU(GAN_LEAK if self.gan else STANDARD_LEAK),
            "ReLU": layers.ReLU,
            "MaxPooling": lambda: layers.MaxPooling2D(layer.kernel, strides=layer.stride),
            "Flatten": layers.Flatten,
            "Reshape": lambda: layers.Reshape(layer.output_shape),
            "Sigmoid": lambda: layers.Activation("sigmoid"),
            "Tanh": lambda: layers.Activation("tanh"),
            "GroupSort2": self._groupsort2,
        }
        if kind not in simple:
            raise ValueError(f"unknown layer kind {kind!r} in {self.arch.name}")
        return simple[kind]()


def _default_eps_bjorck():
    from deel.lip.normalizers import DEFAULT_EPS_BJORCK

    return DEFAULT_EPS_BJORCK


def _sequential(factory, rows, input_shape, name):
    """A ``tf.keras.Sequential`` of the rows, built from ``input_shape`` without an Input layer."""
    tf = factory.tf
    keras_layers, shape = [], input_shape
    for row in rows:
        keras_layers.append(factory.make(row, shape))
        shape = row.output_shape
    model = tf.keras.Sequential(keras_layers, name=name)
    model.build((None,) + tuple(input_shape))
    return model


def check_gnp_options(activation, pooling, lipschitz_network: bool = True):
    """Validate the gradient-norm-preserving options (see :func:`build`)."""
    if activation not in GNP_ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {GNP_ACTIVATIONS} "
                         "(None keeps the thesis's leaky ReLU)")
    if pooling not in GNP_POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {GNP_POOLINGS} (None keeps max pooling)")
    if not lipschitz_network and (activation is not None or pooling is not None):
        raise ValueError("activation and pooling replace layers of the Lipschitz networks only; "
                         "give a Lipschitz constant, or leave them at None")


def build(arch: Architecture, lipschitz=None, seed: int = 0, orthogonalization: str = "bjorck",
          name: str | None = None, bias=None, activation=None, pooling=None):
    """Build ``arch`` as a ``tf.keras`` model; Lipschitz architectures are ``lipschitz``-Lipschitz.

    ``lipschitz`` is the global constant K (default 1 for a Lipschitz architecture; must be None for
    a standard one). ``orthogonalization`` chooses how deel-lip normalises kernels at each training
    step: "bjorck" (spectral normalisation then Björck orthonormalisation, deel-lip's default) or
    "spectral" (spectral normalisation only, ``eps_bjorck=None``: far cheaper for the Lipschitz
    generators' huge dense layers, singular values no longer all 1, and K-Lipschitz only as far as
    deel-lip's power iteration keeps up: during training it can lag behind a large step by several
    per cent, so call :func:`refresh_lipschitz_kernels` after training, as the detectors do).
    ``seed`` seeds Python, NumPy and TensorFlow and every initializer, so the same seed gives the
    same weights. A DCAE is ``Sequential([encoder, decoder])`` (see :func:`encoder_of`).
    ``bias`` None keeps each family's convention (the GANs have bias terms, Ruff et al.'s networks
    none); True or False switches the bias of every convolution and dense layer, and the offset of
    Ruff et al.'s batch norm, on or off (regularized Deep SVDD trains networks with biases).
    ``activation`` ("groupsort2" or "fullsort") and ``pooling`` ("l2norm") make a Lipschitz network
    gradient norm preserving: deel-lip's GroupSort2 / FullSort replace the leaky ReLUs and its
    ``ScaledL2NormPooling2D`` replaces max pooling (both 1-Lipschitz, so K is unchanged). None keeps
    the thesis's layers.

    Lipschitz models get their normalised kernels computed (:func:`refresh_lipschitz_kernels`)
    before they are returned, so they are valid for inference right away (deel-lip refreshes them
    only in training-mode calls); batch norm layers are not touched by this.
    """
    import tensorflow as tf

    if not isinstance(arch, Architecture):
        raise ValueError(f"build needs an Architecture (see get_architecture), got {type(arch).__name__}")
    if orthogonalization not in ORTHOGONALIZATIONS:
        raise ValueError(f"unknown orthogonalization {orthogonalization!r}; choose one of {ORTHOGONALIZATIONS}")
    k = _check_lipschitz_constant(arch, lipschitz)
    check_gnp_options(activation, pooling, arch.lipschitz)
    tf.keras.utils.set_random_seed(seed)
    n = arch.lipschitz_layer_count
    factory = _LayerFactory(arch, None if k is None else k ** (1.0 / n), orthogonalization, seed, bias,
                            activation, pooling)
    name = name or re.sub(r"[^a-z0-9_.]+", "_", arch.name.lower()).strip("_")
    if arch.encoder_depth is None:
        model = _sequential(factory, arch.layers, arch.input_shape, name)
    else:
        depth = arch.encoder_depth
        encoder = _sequential(factory, arch.layers[:depth], arch.input_shape, "encoder")
        decoder = _sequential(factory, arch.layers[depth:], arch.layers[depth - 1].output_shape, "decoder")
        model = tf.keras.Sequential([encoder, decoder], name=name)
        model.build((None,) + tuple(arch.input_shape))
    if k is not None:
        refresh_lipschitz_kernels(model)
    return model


def refresh_lipschitz_kernels(model) -> None:
    """Recompute every deel-lip layer's normalised kernel, starting from an exact singular vector.

    deel-lip divides each kernel by a power-iteration estimate of its largest singular value, at
    most 10 iterations per training-mode call, warm-started from the previous call. From a random
    start that estimate falls short by up to ~0.2 % on the generators' large kernels, so the
    layer would overshoot its factor (Björck orthonormalisation hides this; spectral normalisation
    alone does not). Here each layer's vector is first set to the kernel's exact top right singular
    vector, then one training-mode call refreshes the normalised kernel. Only deel-lip layers are
    called, so batch norm statistics do not move.
    """
    import numpy as np

    for layer in lipschitz_layers(model):
        if hasattr(layer, "refresh"):            # adlip.layers.OperatorNormConv2D
            layer.refresh()
            continue
        matrix = np.asarray(layer.kernel, dtype=np.float64).reshape(-1, layer.kernel.shape[-1])
        layer.u.assign(_top_right_singular_vector(matrix)[None, :].astype(np.float32))
        layer(np.zeros((1,) + tuple(layer.input_shape[1:]), dtype="float32"), training=True)


def _top_right_singular_vector(matrix):
    import numpy as np

    if min(matrix.shape) <= 256:
        return np.linalg.svd(matrix, full_matrices=False)[2][0]
    from scipy.sparse.linalg import svds

    return svds(matrix, k=1, tol=1e-6, random_state=0)[2][0]


def iter_layers(model):
    """All leaf layers of a (possibly nested) Keras model, in order."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from iter_layers(layer)
        else:
            yield layer


def lipschitz_layers(model) -> list:
    """The Lipschitz layers with a kernel (deel-lip's SpectralConv2D, SpectralDense, ..., and adlip's
    OperatorNormConv2D) of a model, nested models included, in order; deel-lip's activations and
    pooling layers are left out."""
    from deel.lip.layers.base_layer import LipschitzLayer

    from adlip.layers import OperatorNormConv2D

    return [layer for layer in iter_layers(model)
            if isinstance(layer, (LipschitzLayer, OperatorNormConv2D)) and hasattr(layer, "kernel")]


def encoder_of(autoencoder):
    """The encoder sub-model of a DCAE built by :func:`build`."""
    return autoencoder.get_layer("encoder")


def decoder_of(autoencoder):
    """The decoder sub-model of a DCAE built by :func:`build`."""
    return autoencoder.get_layer("decoder")


def export_vanilla(model):
    """An equivalent plain Keras model: deel-lip layers become Conv2D / Dense with their normalised
    kernels (``vanilla_export``), everything else is copied with its weights. Nested models are
    exported recursively. Inference is faster, and outputs equal the model's inference outputs.
    """
    import tensorflow as tf
    from deel.lip.layers.base_layer import Condensable

    def copy(layer):
        if isinstance(layer, tf.keras.Model):
            return export_vanilla(layer)
        if isinstance(layer, Condensable):
            return layer.vanilla_export()
        clone = layer.__class__.from_config(layer.get_config())
        clone.build(layer.input_shape)
        clone.set_weights(layer.get_weights())
        return clone

    if not isinstance(model, tf.keras.Sequential):
        raise ValueError("export_vanilla handles Sequential models (what build returns), "
                         f"got {type(model).__name__}")
    exported = tf.keras.Sequential([copy(layer) for layer in model.layers], name=model.name + "_vanilla")
    exported.build(model.input_shape)
    return exported


def transfer_weights(source, target) -> list:
    """Copy weights layer by layer (in order of the layers that hold weights) where shapes match.

    Returns one ``(target layer name, copied)`` pair per weighted layer of ``target``. Used to
    initialise Deep SVDD from a trained DCAE encoder (Ruff et al.'s pretraining); the Lipschitz
    CIFAR-10 networks differ in their last dense layer (96 vs 128 units), which is then skipped.
    """
    sources = [layer for layer in iter_layers(source) if layer.weights]
    targets = [layer for layer in iter_layers(target) if layer.weights]
    report = []
    for index, layer in enumerate(targets):
        donor = sources[index] if index < len(sources) else None
        same = (donor is not None and type(donor) is type(layer)
                and [w.shape for w in donor.get_weights()] == [w.shape for w in layer.get_weights()])
        if same:
            layer.set_weights(donor.get_weights())
        report.append((layer.name, same))
    return report
