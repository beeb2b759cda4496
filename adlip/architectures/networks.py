"""The thesis's networks, row by row: the layer lists of every DCAE, Deep SVDD, generator and
discriminator, standard and Lipschitz, on MNIST and CIFAR-10; and beside them f-AnoGAN's critic
and encoder (:data:`FANOGAN_ARCHITECTURES`), which are not the thesis's but are cut from its
discriminator so that f-AnoGAN and AnoGAN compare on equal networks.

Kept apart from the builder (:mod:`adlip.architectures.builder`) because these rows are the
thesis's tables as data, checked against the thesis by the tests, while the builder is what turns
any rows into a Keras model. :func:`get_architecture` is the way in; :data:`ARCHITECTURES`,
:data:`CONV_DECODER_DCAES`, :data:`FANOGAN_ARCHITECTURES` and :data:`GROUPSORT_GAN_ARCHITECTURES`
(the Lipschitz generator and discriminator with GroupSort2 in place of their ReLUs and leaky ReLUs,
for the mode-collapse study) hold every network, made once at import.
"""
from __future__ import annotations

import math

from adlip.architectures.rows import Architecture, Layer

FAMILIES = ("dcae", "deepsvdd", "generator", "discriminator")
# f-AnoGAN's own networks (its generator is the thesis's): kept out of FAMILIES, the thesis's tables.
FANOGAN_FAMILIES = ("critic", "encoder")
DATASET_ALIASES = {"mnist": "mnist", "fashion_mnist": "mnist", "cifar10": "cifar10"}
# Decoders of the Lipschitz DCAE: the thesis's dense one, the convolutional one it first tried with
# deel-lip's SpectralConv2D (section 4.1), and the same with convolutions normalised by their
# operator norm (adlip.layers.OperatorNormConv2D; see the SpectralConv2D chapter of the book).
DECODERS = ("dense", "spectralconv", "operatorconv")
# Activations of the Lipschitz GANs' rows (get_architecture's ``activation``): None keeps the
# thesis's (ReLU in the generator, leaky ReLU in the discriminator); "groupsort2" swaps both for
# GroupSort2, a gradient-norm-preserving activation. Not the thesis's: kept out of ARCHITECTURES.
GAN_ACTIVATIONS = (None, "groupsort2")


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


def _critic_like(dataset, lipschitz, outputs, activation):
    """The thesis's DCGAN discriminator without batch norm and sigmoid, ending in ``outputs`` linear units.

    Three 3x3 stride-2 convolutions (64, 128, 256 filters), each followed by ``activation``, then
    Flatten and a dense layer; deel-lip's layers in the Lipschitz variant.
    """
    conv_kind, dense_kind = ("SpectralConv2D", "SpectralDense") if lipschitz else ("Conv2D", "Dense")
    size = 28 if dataset == "mnist" else 32
    rows = []
    for filters in (64, 128, 256):
        size = math.ceil(size / 2)
        shape = (size, size, filters)
        rows += [_conv(conv_kind, filters, 3, shape, stride=2), _act(activation, shape)]
    return tuple(rows + [_act("Flatten", (size * size * 256,)), Layer(dense_kind, outputs, output_shape=(outputs,))])


def _make_fanogan(family, dataset, lipschitz):
    """f-AnoGAN's WGAN critic (one linear output; GroupSort2 in the 1-Lipschitz critic, whose KR
    training wants gradient-norm-preserving layers) or its encoder (the same body with a linear
    LATENT_DIM output, leaky ReLU in both variants: it mirrors the discriminator AnoGAN uses)."""
    activation = "GroupSort2" if family == "critic" and lipschitz else "LeakyReLU"
    outputs = 1 if family == "critic" else LATENT_DIM
    title = {"mnist": "MNIST", "cifar10": "CIFAR10"}[dataset] + " f-AnoGAN " + family.capitalize()
    return Architecture(("Lipschitz " if lipschitz else "") + title, family, dataset, lipschitz, _INPUTS[dataset],
                        _critic_like(dataset, lipschitz, outputs, activation))


def _make_groupsort_gan(family, dataset):
    """The thesis's Lipschitz generator or discriminator with every ReLU and leaky ReLU row replaced by
    GroupSort2 (same sizes, same deel-lip layers, same tanh or sigmoid output).

    GroupSort2 sorts the units in pairs: 1-Lipschitz like the rows it replaces, but it keeps the
    norm of every gradient that passes through it, where a ReLU zeroes the gradient of every
    inactive unit. Every hidden width of these networks is even, as the pairs need.
    """
    base = _make(family, dataset, True)
    rows = tuple(Layer("GroupSort2", output_shape=row.output_shape) if row.kind in ("ReLU", "LeakyReLU") else row
                 for row in base.layers)
    return Architecture(base.name + " (GroupSort2)", family, dataset, True, base.input_shape, rows)


def without_batch_norm(arch: Architecture) -> Architecture:
    """``arch`` with its batch norm rows left out, every other row as it was.

    For the mode-collapse study: the thesis's standard DCGAN without batch norm asks whether batch
    norm is what keeps that GAN from collapsing, as the thesis supposes of its Lipschitz DCGAN.
    """
    rows = tuple(row for row in arch.layers if row.kind != "BatchNorm")
    if len(rows) == len(arch.layers):
        raise ValueError(f"{arch.name} has no batch norm to leave out")
    return Architecture(arch.name + " (no batch norm)", arch.family, arch.dataset, arch.lipschitz,
                        arch.input_shape, rows, arch.encoder_depth)


ARCHITECTURES = {(family, dataset, lipschitz): _make(family, dataset, lipschitz)
                 for family in FAMILIES for dataset in ("mnist", "cifar10") for lipschitz in (False, True)}
CONV_DECODER_DCAES = {(dataset, decoder): _make("dcae", dataset, True, decoder)
                      for dataset in ("mnist", "cifar10") for decoder in DECODERS[1:]}
FANOGAN_ARCHITECTURES = {(family, dataset, lipschitz): _make_fanogan(family, dataset, lipschitz)
                         for family in FANOGAN_FAMILIES for dataset in ("mnist", "cifar10") for lipschitz in (False, True)}
GROUPSORT_GAN_ARCHITECTURES = {(family, dataset): _make_groupsort_gan(family, dataset)
                               for family in ("generator", "discriminator") for dataset in ("mnist", "cifar10")}


def check_decoder(decoder, lipschitz_network: bool = True) -> None:
    """Validate a DCAE decoder choice (see :data:`DECODERS`)."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {DECODERS} (\"dense\" is the thesis's)")
    if decoder != "dense" and not lipschitz_network:
        raise ValueError(f"decoder={decoder!r} is a Lipschitz DCAE decoder; give a Lipschitz constant, "
                         "or keep decoder=\"dense\" (the standard DCAE has its own convolutional decoder)")


def check_gan_activation(activation, family: str = "generator", lipschitz_network: bool = True) -> None:
    """Validate a GAN activation choice (see :data:`GAN_ACTIVATIONS`)."""
    if activation not in GAN_ACTIVATIONS:
        raise ValueError(f"unknown GAN activation {activation!r}; choose one of {GAN_ACTIVATIONS} "
                         "(None keeps the thesis's ReLU in the generator and leaky ReLU in the discriminator)")
    if activation is None:
        return
    if family not in ("generator", "discriminator"):
        raise ValueError(f"activation={activation!r} selects rows of the GAN's generator or discriminator, not of "
                         f"{family!r} (the DCAE and Deep SVDD swap activations in build(..., activation=...))")
    if not lipschitz_network:
        raise ValueError(f"activation={activation!r} replaces the activations of the Lipschitz networks only; "
                         "give a Lipschitz constant, or leave activation at None")


def get_architecture(family: str, dataset: str, lipschitz=False, decoder: str = "dense",
                     activation=None) -> Architecture:
    """The thesis's architecture for ``family`` on ``dataset``, standard or Lipschitz.

    ``family`` is one of "dcae", "deepsvdd", "generator", "discriminator", or f-AnoGAN's "critic"
    and "encoder" (:data:`FANOGAN_FAMILIES`, not the thesis's); ``dataset`` one of
    "mnist", "cifar10", "fashion_mnist" (which uses the MNIST networks). ``lipschitz`` may be a
    bool or a constant K (anything not None/False/0 selects the Lipschitz variant). ``decoder``
    picks the Lipschitz DCAE's decoder (:data:`DECODERS`): the thesis's dense one, or a
    convolutional one with deel-lip's ``SpectralConv2D`` or adlip's ``OperatorNormConv2D``.
    ``activation="groupsort2"`` picks the Lipschitz generator's or discriminator's rows with
    GroupSort2 activations (:data:`GROUPSORT_GAN_ARCHITECTURES`); None keeps the thesis's.
    """
    if family not in FAMILIES + FANOGAN_FAMILIES:
        raise ValueError(f"unknown architecture family {family!r}; choose one of {FAMILIES + FANOGAN_FAMILIES}")
    if dataset not in DATASET_ALIASES:
        raise ValueError(f"no architecture for data set {dataset!r}; choose one of {sorted(DATASET_ALIASES)}")
    check_decoder(decoder, bool(lipschitz))
    check_gan_activation(activation, family, bool(lipschitz))
    if activation is not None:
        return GROUPSORT_GAN_ARCHITECTURES[(family, DATASET_ALIASES[dataset])]
    if decoder != "dense":
        if family != "dcae":
            raise ValueError(f"decoder={decoder!r} applies to the DCAE only, not to {family!r}")
        return CONV_DECODER_DCAES[(DATASET_ALIASES[dataset], decoder)]
    if family in FANOGAN_FAMILIES:
        return FANOGAN_ARCHITECTURES[(family, DATASET_ALIASES[dataset], bool(lipschitz))]
    return ARCHITECTURES[(family, DATASET_ALIASES[dataset], bool(lipschitz))]

