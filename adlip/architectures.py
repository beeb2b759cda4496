"""The thesis's networks as data, and the builders that turn that data into Keras models.

Every network of the thesis (chapter "Implementation", sections 4.2 to 4.4) is an
:class:`Architecture`: a list of :class:`Layer` rows, the same rows the thesis prints in its
tables. :func:`describe` renders those rows back as a table (the book's implementation chapter
shows them), and :func:`build` turns them into a ``tf.keras`` model. Tests check both directions:
the rows against the thesis, and every built model's output shapes against the rows.

Two details of the thesis's printed tables are corrected here, both from the text around them:

* The text-extracted GAN tables interleave the MNIST and CIFAR-10 rows. The MNIST generator ends
  ``Conv2D(1, 5x5)`` with valid padding (32x32 -> 28x28) and ``Tanh``; the CIFAR-10 generator ends
  ``Conv2D(3, 3x3)`` (32x32x3) and ``Tanh``; the MNIST discriminator takes 28x28x1 images.
* The Lipschitz DCAE and Deep SVDD tables write ``Dense`` for what are deel-lip ``SpectralDense``
  layers (section 4.1); here they are ``SpectralDense``. The tables are otherwise kept as printed,
  including the Lipschitz CIFAR-10 DCAE's 96-unit bottleneck beside the Lipschitz CIFAR-10 Deep
  SVDD's 128-unit output.

Standard DCAE and Deep SVDD networks follow Ruff et al. (2018): no bias anywhere (so encoder
weights transfer exactly to Deep SVDD, and Deep SVDD cannot learn a constant map), batch norm
without affine parameters (epsilon 1e-4, PyTorch's default momentum), leaky ReLU with slope 0.1,
Glorot uniform weights.
The DCGAN generator and discriminator follow Radford et al.: leaky ReLU slope 0.2, weights drawn
from N(0, 0.02), batch norm with a learned scale and offset.

Lipschitz networks use deel-lip layers (``SpectralConv2D`` with ``padding="same"``,
``SpectralDense``) and no batch norm. A global constant K is shared as ``K ** (1/n)`` by the ``n``
deel-lip layers of the whole network, as deel-lip's ``Sequential`` does; here each layer receives
its factor in its constructor, which sidesteps deel-lip's pitfall of ``SpectralDense`` tracing its
call before ``Sequential`` sets the factor (see ``REFERENCE.md``). Every other layer (leaky ReLU,
ReLU, 2x2 max pooling, sigmoid, tanh, flatten, reshape) is 1-Lipschitz, so the network is
K-Lipschitz. A DCAE is ``Sequential([encoder, decoder])`` with ``n`` counted over both halves, so
the whole autoencoder is K-Lipschitz.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from adlip.checks import is_real
import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

FAMILIES = ("dcae", "deepsvdd", "generator", "discriminator")
DATASET_ALIASES = {"mnist": "mnist", "fashion_mnist": "mnist", "cifar10": "cifar10"}
ORTHOGONALIZATIONS = ("bjorck", "spectral")
GNP_ACTIVATIONS = (None, "groupsort2", "fullsort")   # replacements for leaky ReLU in Lipschitz networks
GNP_POOLINGS = (None, "l2norm")                        # replacement for max pooling
LIPSCHITZ_KINDS = ("SpectralConv2D", "SpectralDense", "OperatorNormConv2D")
# Decoders of the Lipschitz DCAE: the thesis's dense one, the convolutional one it first tried with
# deel-lip's SpectralConv2D (section 4.1), and the same with convolutions normalised by their
# operator norm (adlip.layers.OperatorNormConv2D; see the SpectralConv2D chapter of the book).
DECODERS = ("dense", "spectralconv", "operatorconv")
# How describe() names each kind, as the thesis's tables do.
DISPLAY_NAMES = {"BatchNorm": "Batch Norm", "LeakyReLU": "Leaky ReLU", "MaxPooling": "Max Pooling",
                 "Upsample": "Upsampling / 2"}
STANDARD_LEAK = 0.1   # Ruff et al.'s leaky ReLU slope (DCAE, Deep SVDD)
GAN_LEAK = 0.2        # Radford et al.'s (DCGAN)


@dataclass(frozen=True)
class Layer:
    """One row of a thesis architecture table.

    ``kind`` is the layer type ("Conv2D", "SpectralConv2D", "BatchNorm", "LeakyReLU", ...),
    ``size`` the number of filters or units (None where the thesis says N/A), ``kernel`` the
    kernel or pool size as (height, width), ``stride`` the stride of a convolution,
    ``output_shape`` the shape after this layer without the batch axis.
    """

    kind: str
    size: int | None = None
    kernel: tuple | None = None
    stride: int = 1
    output_shape: tuple = ()


@dataclass(frozen=True)
class Architecture:
    """A whole network as the thesis tabulates it.

    ``encoder_depth`` is set for autoencoders: the first ``encoder_depth`` layers form the encoder,
    the rest the decoder.
    """

    name: str
    family: str
    dataset: str
    lipschitz: bool
    input_shape: tuple
    layers: tuple
    encoder_depth: int | None = None

    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].output_shape

    @property
    def lipschitz_layer_count(self) -> int:
        """How many deel-lip layers share the global constant (n in K ** (1/n))."""
        return sum(layer.kind in LIPSCHITZ_KINDS for layer in self.layers)


# --- a small vocabulary for writing the tables ------------------------------------------------

def _conv(kind, filters, k, shape, stride=1):
    return Layer(kind, filters, (k, k), stride, shape)


def _act(kind, shape):
    return Layer(kind, output_shape=shape)


def _encoder_block(conv_kind, filters, height, batch_norm):
    """Conv 5x5 (same padding) -> [batch norm] -> leaky ReLU -> 2x2 max pooling."""
    shape = (height, height, filters)
    rows = [_conv(conv_kind, filters, 5, shape)]
    if batch_norm:
        rows.append(_act("BatchNorm", shape))
    pooled = (height // 2, height // 2, filters)
    rows += [_act("LeakyReLU", shape), Layer("MaxPooling", None, (2, 2), 2, pooled)]
    return rows


def _encoder(dataset, lipschitz, code_size):
    """Ruff et al.'s encoder, which is also the Deep SVDD network."""
    conv_kind, dense_kind = ("SpectralConv2D", "SpectralDense") if lipschitz else ("Conv2D", "Dense")
    height, filters = (28, (8, 4)) if dataset == "mnist" else (32, (32, 64, 128))
    rows = []
    for n in filters:
        rows += _encoder_block(conv_kind, n, height, batch_norm=not lipschitz)
        height //= 2
    rows += [_act("Flatten", (height * height * filters[-1],)),
             Layer(dense_kind, code_size, output_shape=(code_size,))]
    return rows


def _standard_decoder_block(filters, height, transpose_filters):
    """Conv2DTranspose 5x5 stride 2 (doubles the size) -> Conv2D 5x5 -> batch norm -> leaky ReLU."""
    size = 2 * height
    return [_conv("Conv2DTranspose", transpose_filters, 5, (size, size, transpose_filters), stride=2),
            _conv("Conv2D", filters, 5, (size, size, filters)),
            _act("BatchNorm", (size, size, filters)), _act("LeakyReLU", (size, size, filters))]


def _mnist_dcae():
    decoder = [_act("Reshape", (4, 4, 2)), _act("LeakyReLU", (4, 4, 2))]
    decoder += _standard_decoder_block(4, 4, 2) + _standard_decoder_block(8, 8, 4)
    decoder += [_conv("Conv2DTranspose", 8, 5, (32, 32, 8), stride=2),
                Layer("Conv2D", 1, (5, 5), 1, (28, 28, 1)),   # valid padding: 32x32 -> 28x28
                _act("Sigmoid", (28, 28, 1))]
    return _encoder("mnist", False, 32), decoder


def _cifar10_dcae():
    decoder = [_act("Reshape", (4, 4, 8)), _act("LeakyReLU", (4, 4, 8)),
               _conv("Conv2D", 128, 5, (4, 4, 128)), _act("BatchNorm", (4, 4, 128)), _act("LeakyReLU", (4, 4, 128))]
    decoder += _standard_decoder_block(64, 4, 128) + _standard_decoder_block(32, 8, 64)
    decoder += [_conv("Conv2DTranspose", 32, 5, (32, 32, 32), stride=2),
                _conv("Conv2D", 3, 5, (32, 32, 3)), _act("Sigmoid", (32, 32, 3))]
    return _encoder("cifar10", False, 128), decoder


def _dense_stack(units, activation, kind="SpectralDense"):
    """Dense layers each followed by ``activation`` (the Lipschitz decoders and generators)."""
    rows = []
    for n in units:
        rows += [Layer(kind, n, output_shape=(n,)), _act(activation, (n,))]
    return rows


def _lipschitz_dcae(dataset, code_size, hidden):
    image = (28, 28, 1) if dataset == "mnist" else (32, 32, 3)
    pixels = math.prod(image)
    decoder = [_act("LeakyReLU", (code_size,))] + _dense_stack(hidden, "LeakyReLU")
    decoder += [Layer("SpectralDense", pixels, output_shape=(pixels,)), _act("Sigmoid", (pixels,)),
                _act("Reshape", image)]
    return _encoder(dataset, True, code_size), decoder


def _lipschitz_conv_dcae(dataset, code_size, conv_kind):
    """The Lipschitz DCAE with a convolutional decoder, the standard decoder's mirror made Lipschitz.

    Each transposed convolution of the standard decoder becomes nearest upsampling divided by 2
    (an isometry, the thesis's first Lipschitz upsampling), batch norm is dropped, and the
    convolutions are ``conv_kind``. MNIST decodes at 32x32 and crops the 2-pixel border to 28x28,
    as the standard decoder's valid convolution does (cropping is 1-Lipschitz).
    """
    if dataset == "mnist":
        start, filters, image = (4, 4, 2), (4, 8, 1), (28, 28, 1)
        decoder = [_act("Reshape", start), _act("LeakyReLU", start)]
    else:
        start, filters, image = (4, 4, code_size // 16), (64, 32, 3), (32, 32, 3)
        decoder = [_act("Reshape", start), _act("LeakyReLU", start), _conv(conv_kind, 128, 5, (4, 4, 128)),
                   _act("LeakyReLU", (4, 4, 128))]
    height, channels = 4, decoder[-1].output_shape[-1]
    for index, n in enumerate(filters):
        height *= 2
        decoder += [Layer("Upsample", None, (2, 2), 2, (height, height, channels)),
                    _conv(conv_kind, n, 5, (height, height, n))]
        if index < len(filters) - 1:
            decoder.append(_act("LeakyReLU", (height, height, n)))
        channels = n
    if height != image[0]:
        decoder.append(_act("Crop", image))
    decoder.append(_act("Sigmoid", image))
    return _encoder(dataset, True, code_size), decoder


def _dcae(dataset, lipschitz, decoder_kind="dense"):
    if decoder_kind != "dense":
        conv_kind = "SpectralConv2D" if decoder_kind == "spectralconv" else "OperatorNormConv2D"
        encoder, decoder = _lipschitz_conv_dcae(dataset, 32 if dataset == "mnist" else 96, conv_kind)
        return tuple(encoder + decoder), len(encoder)
    if lipschitz:
        encoder, decoder = (_lipschitz_dcae("mnist", 32, (64, 128)) if dataset == "mnist"
                            else _lipschitz_dcae("cifar10", 96, (192, 384, 768, 1536)))
    else:
        encoder, decoder = _mnist_dcae() if dataset == "mnist" else _cifar10_dcae()
    return tuple(encoder + decoder), len(encoder)


def _generator(dataset, lipschitz):
    if lipschitz:
        hidden = (8192, 4096, 2048, 1024) if dataset == "mnist" else (8192, 6312, 4608)
        image = (28, 28, 1) if dataset == "mnist" else (32, 32, 3)
        pixels = math.prod(image)
        return tuple(_dense_stack(hidden, "ReLU") + [Layer("SpectralDense", pixels, output_shape=(pixels,)),
                                                    _act("Tanh", (pixels,)), _act("Reshape", image)])
    rows = [Layer("Dense", 8192, output_shape=(8192,)), _act("BatchNorm", (8192,)), _act("ReLU", (8192,)),
            _act("Reshape", (4, 4, 512))]
    size = 4
    for filters in (256, 128, 64):
        size *= 2
        shape = (size, size, filters)
        rows += [_conv("Conv2DTranspose", filters, 3, shape, stride=2), _act("BatchNorm", shape), _act("ReLU", shape)]
    if dataset == "mnist":
        rows += [Layer("Conv2D", 1, (5, 5), 1, (28, 28, 1)), _act("Tanh", (28, 28, 1))]   # valid padding
    else:
        rows += [_conv("Conv2D", 3, 3, (32, 32, 3)), _act("Tanh", (32, 32, 3))]
    return tuple(rows)


def _discriminator(dataset, lipschitz):
    conv_kind, dense_kind = ("SpectralConv2D", "SpectralDense") if lipschitz else ("Conv2D", "Dense")
    size = 28 if dataset == "mnist" else 32
    rows = []
    for index, filters in enumerate((64, 128, 256)):
        size = math.ceil(size / 2)
        shape = (size, size, filters)
        rows.append(_conv(conv_kind, filters, 3, shape, stride=2))
        if index > 0 and not lipschitz:
            rows.append(_act("BatchNorm", shape))
        rows.append(_act("LeakyReLU", shape))
    return tuple(rows + [_act("Flatten", (size * size * 256,)), Layer(dense_kind, 1, output_shape=(1,)),
                         _act("Sigmoid", (1,))])


_TITLES = {"dcae": "DCAE", "deepsvdd": "DeepSVDD", "generator": "Generator", "discriminator": "Discriminator"}
_INPUTS = {"mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
LATENT_DIM = 256


_DECODER_TITLES = {"spectralconv": " (SpectralConv2D decoder)", "operatorconv": " (OperatorNormConv2D decoder)"}


def _make(family, dataset, lipschitz, decoder="dense"):
    title = {"mnist": "MNIST", "cifar10": "CIFAR10"}[dataset] + " " + _TITLES[family]
    name = ("Lipschitz " if lipschitz else "") + title + _DECODER_TITLES.get(decoder, "")
    input_shape = (LATENT_DIM,) if family == "generator" else _INPUTS[dataset]
    encoder_depth = None
    if family == "dcae":
        layers, encoder_depth = _dcae(dataset, lipschitz, decoder)
    elif family == "deepsvdd":
        code_size = 32 if dataset == "mnist" else 128
        layers = tuple(_encoder(dataset, lipschitz, code_size))
    elif family == "generator":
        layers = _generator(dataset, lipschitz)
    else:
        layers = _discriminator(dataset, lipschitz)
    return Architecture(name, family, dataset, lipschitz, input_shape, layers, encoder_depth)


ARCHITECTURES = {(family, dataset, lipschitz): _make(family, dataset, lipschitz)
                 for family in FAMILIES for dataset in ("mnist", "cifar10") for lipschitz in (False, True)}
CONV_DECODER_DCAES = {(dataset, decoder): _make("dcae", dataset, True, decoder)
                      for dataset in ("mnist", "cifar10") for decoder in DECODERS[1:]}


def check_decoder(decoder, lipschitz_network: bool = True) -> None:
    """Validate a DCAE decoder choice (see :data:`DECODERS`)."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {DECODERS} (\"dense\" is the thesis's)")
    if decoder != "dense" and not lipschitz_network:
        raise ValueError(f"decoder={decoder!r} is a Lipschitz DCAE decoder; give a Lipschitz constant, "
                         "or keep decoder=\"dense\" (the standard DCAE has its own convolutional decoder)")


def get_architecture(family: str, dataset: str, lipschitz=False, decoder: str = "dense") -> Architecture:
    """The thesis's architecture for ``family`` on ``dataset``, standard or Lipschitz.

    ``family`` is one of "dcae", "deepsvdd", "generator", "discriminator"; ``dataset`` one of
    "mnist", "cifar10", "fashion_mnist" (which uses the MNIST networks). ``lipschitz`` may be a
    bool or a constant K (anything not None/False/0 selects the Lipschitz variant). ``decoder``
    picks the Lipschitz DCAE's decoder (:data:`DECODERS`): the thesis's dense one, or a
    convolutional one with deel-lip's ``SpectralConv2D`` or adlip's ``OperatorNormConv2D``.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown architecture family {family!r}; choose one of {FAMILIES}")
    if dataset not in DATASET_ALIASES:
        raise ValueError(f"no architecture for data set {dataset!r}; choose one of {sorted(DATASET_ALIASES)}")
    check_decoder(decoder, bool(lipschitz))
    if decoder != "dense":
        if family != "dcae":
            raise ValueError(f"decoder={decoder!r} applies to the DCAE only, not to {family!r}")
        return CONV_DECODER_DCAES[(DATASET_ALIASES[dataset], decoder)]
    return ARCHITECTURES[(family, DATASET_ALIASES[dataset], bool(lipschitz))]


# --- rendering ------------------------------------------------------------------------------

def _shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


def describe(arch: Architecture) -> list:
    """The architecture as the thesis's table rows: (layer, neurons/filters, kernel, output size).

    The first row is the input; "N/A" stands where the thesis writes N/A.
    """
    rows = [("Input", "N/A", "N/A", _shape_text(arch.input_shape))]
    for layer in arch.layers:
        rows.append((DISPLAY_NAMES.get(layer.kind, layer.kind),
                     "N/A" if layer.size is None else str(layer.size),
                     "N/A" if layer.kernel is None else _shape_text(layer.kernel),
                     _shape_text(layer.output_shape)))
    return rows


def to_markdown(arch: Architecture) -> str:
    """A Markdown table of :func:`describe`'s rows, titled with the architecture's name."""
    header = ("Layer", "Number of Neurons/Filters", "Kernel", "Output Size")
    lines = [f"**{arch.name}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in describe(arch)]
    return "\n".join(lines) + "\n"


# --- building ---------------------------------------------------------------------------------

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
        self.gan = arch.family in ("generator", "discriminator")
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
