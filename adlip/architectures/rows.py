"""The data types a network is written in, and their rendering as the thesis's tables.

A network is an :class:`Architecture`: a tuple of :class:`Layer` rows, one row per line of a
thesis architecture table. :func:`describe` and :func:`to_markdown` turn those rows back into the
table (the book's implementation chapter prints them). The per-network rows are in
:mod:`adlip.architectures.networks`, the Keras builder in :mod:`adlip.architectures.builder`; both
import from here, so this module imports neither, nor TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass

LIPSCHITZ_KINDS = ("SpectralConv2D", "SpectralDense", "OperatorNormConv2D")
# How describe() names each kind, as the thesis's tables do.
DISPLAY_NAMES = {"BatchNorm": "Batch Norm", "LeakyReLU": "Leaky ReLU", "MaxPooling": "Max Pooling",
                 "Upsample": "Upsampling / 2"}


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

