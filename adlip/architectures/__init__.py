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

The package is split by concern, and every public name is re-exported here (use ``adlip.architectures.X``):
:mod:`~adlip.architectures.rows` holds the data types and their rendering as tables,
:mod:`~adlip.architectures.networks` the per-network layer lists, and
:mod:`~adlip.architectures.builder` the Keras builder and the helpers for built models.
"""
from adlip.architectures.builder import (
    GAN_LEAK,
    GNP_ACTIVATIONS,
    GNP_POOLINGS,
    ORTHOGONALIZATIONS,
    STANDARD_LEAK,
    _LayerFactory,  # noqa: F401  (adlip.studies.decoders builds the thesis's flat model with it)
    build,
    check_gnp_options,
    decoder_of,
    encoder_of,
    export_vanilla,
    iter_layers,
    lipschitz_layers,
    refresh_lipschitz_kernels,
    transfer_weights,
)
from adlip.architectures.networks import (
    ARCHITECTURES,
    CONV_DECODER_DCAES,
    DATASET_ALIASES,
    DECODERS,
    FAMILIES,
    FANOGAN_ARCHITECTURES,
    FANOGAN_FAMILIES,
    GAN_ACTIVATIONS,
    GROUPSORT_GAN_ARCHITECTURES,
    LATENT_DIM,
    check_decoder,
    check_gan_activation,
    get_architecture,
    without_batch_norm,
)
from adlip.architectures.rows import DISPLAY_NAMES, LIPSCHITZ_KINDS, Architecture, Layer, describe, to_markdown

__all__ = [
    "ARCHITECTURES", "CONV_DECODER_DCAES", "DATASET_ALIASES", "DECODERS", "DISPLAY_NAMES", "FAMILIES",
    "FANOGAN_ARCHITECTURES", "FANOGAN_FAMILIES", "GAN_ACTIVATIONS", "GROUPSORT_GAN_ARCHITECTURES",
    "GAN_LEAK", "GNP_ACTIVATIONS", "GNP_POOLINGS", "LATENT_DIM", "LIPSCHITZ_KINDS", "ORTHOGONALIZATIONS",
    "STANDARD_LEAK", "Architecture", "Layer", "build", "check_decoder", "check_gan_activation", "check_gnp_options",
    "decoder_of",
    "describe", "encoder_of", "export_vanilla", "get_architecture", "iter_layers", "lipschitz_layers",
    "refresh_lipschitz_kernels", "to_markdown", "transfer_weights", "without_batch_norm",
]
