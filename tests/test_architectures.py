"""The architectures against the thesis's tables, and the built models against the architectures.

``THESIS_TABLES`` holds the rows of the thesis's tables (sections 4.2 to 4.4), typed as printed,
with two corrections: the rows that text extraction moved from the CIFAR-10 GAN tables into the
MNIST ones are left out of the MNIST tables, and nothing else is changed. Two spellings are then
normalised before comparing (``thesis_rows``): the GAN tables' "LeakyReLU" is "Leaky ReLU", and the
Lipschitz DCAE and Deep SVDD tables' "Dense" is "SpectralDense" (section 4.1 says so).
"""
import numpy as np
import pytest

from adlip import architectures as arch
from adlip.architectures import ARCHITECTURES, build, describe, get_architecture, to_markdown

THESIS_TABLES = {
    ('dcae', 'mnist', False): """
        Input | N/A | N/A | 28x28x1
        Conv2D | 8 | 5x5 | 28x28x8
        Batch Norm | N/A | N/A | 28x28x8
        Leaky ReLU | N/A | N/A | 28x28x8
        Max Pooling | N/A | 2x2 | 14x14x8
        Conv2D | 4 | 5x5 | 14x14x4
        Batch Norm | N/A | N/A | 14x14x4
        Leaky ReLU | N/A | N/A | 14x14x4
        Max Pooling | N/A | 2x2 | 7x7x4
        Flatten | N/A | N/A | 196
        Dense | 32 | N/A | 32
        Reshape | N/A | N/A | 4x4x2
        Leaky ReLU | N/A | N/A | 4x4x2
        Conv2DTranspose | 2 | 5x5 | 8x8x2
        Conv2D | 4 | 5x5 | 8x8x4
        Batch Norm | N/A | N/A | 8x8x4
        Leaky ReLU | N/A | N/A | 8x8x4
        Conv2DTranspose | 4 | 5x5 | 16x16x4
        Conv2D | 8 | 5x5 | 16x16x8
        Batch Norm | N/A | N/A | 16x16x8
        Leaky ReLU | N/A | N/A | 16x16x8
        Conv2DTranspose | 8 | 5x5 | 32x32x8
        Conv2D | 1 | 5x5 | 28x28x1
        Sigmoid | N/A | N/A | 28x28x1
    """,
    ('dcae', 'cifar10', False): """
        Input | N/A | N/A | 32x32x3
        Conv2D | 32 | 5x5 | 32x32x32
        Batch Norm | N/A | N/A | 32x32x32
        Leaky ReLU | N/A | N/A | 32x32x32
        Max Pooling | N/A | 2x2 | 16x16x32
        Conv2D | 64 | 5x5 | 16x16x64
        Batch Norm | N/A | N/A | 16x16x64
        Leaky ReLU | N/A | N/A | 16x16x64
        Max Pooling | N/A | 2x2 | 8x8x64
        Conv2D | 128 | 5x5 | 8x8x128
        Batch Norm | N/A | N/A | 8x8x128
        Leaky ReLU | N/A | N/A | 8x8x128
        Max Pooling | N/A | 2x2 | 4x4x128
        Flatten | N/A | N/A | 2048
        Dense | 128 | N/A | 128
        Reshape | N/A | N/A | 4x4x8
        Leaky ReLU | N/A | N/A | 4x4x8
        Conv2D | 128 | 5x5 | 4x4x128
        Batch Norm | N/A | N/A | 4x4x128
        Leaky ReLU | N/A | N/A | 4x4x128
        Conv2DTranspose | 128 | 5x5 | 8x8x128
        Conv2D | 64 | 5x5 | 8x8x64
        Batch Norm | N/A | N/A | 8x8x64
        Leaky ReLU | N/A | N/A | 8x8x64
        Conv2DTranspose | 64 | 5x5 | 16x16x64
        Conv2D | 32 | 5x5 | 16x16x32
        Batch Norm | N/A | N/A | 16x16x32
        Leaky ReLU | N/A | N/A | 16x16x32
        Conv2DTranspose | 32 | 5x5 | 32x32x32
        Conv2D | 3 | 5x5 | 32x32x3
        Sigmoid | N/A | N/A | 32x32x3
    """,
    ('dcae', 'mnist', True): """
        Input | N/A | N/A | 28x28x1
        SpectralConv2D | 8 | 5x5 | 28x28x8
        Leaky ReLU | N/A | N/A | 28x28x8
        Max Pooling | N/A | 2x2 | 14x14x8
        SpectralConv2D | 4 | 5x5 | 14x14x4
        Leaky ReLU | N/A | N/A | 14x14x4
        Max Pooling | N/A | 2x2 | 7x7x4
        Flatten | N/A | N/A | 196
        Dense | 32 | N/A | 32
        Leaky ReLU | N/A | N/A | 32
        Dense | 64 | N/A | 64
        Leaky ReLU | N/A | N/A | 64
        Dense | 128 | N/A | 128
        Leaky ReLU | N/A | N/A | 128
        Dense | 784 | N/A | 784
        Sigmoid | N/A | N/A | 784
        Reshape | N/A | N/A | 28x28x1
    """,
    ('dcae', 'cifar10', True): """
        Input | N/A | N/A | 32x32x3
        SpectralConv2D | 32 | 5x5 | 32x32x32
        Leaky ReLU | N/A | N/A | 32x32x32
        Max Pooling | N/A | 2x2 | 16x16x32
        SpectralConv2D | 64 | 5x5 | 16x16x64
        Leaky ReLU | N/A | N/A | 16x16x64
        Max Pooling | N/A | 2x2 | 8x8x64
        SpectralConv2D | 128 | 5x5 | 8x8x128
        Leaky ReLU | N/A | N/A | 8x8x128
        Max Pooling | N/A | 2x2 | 4x4x128
        Flatten | N/A | N/A | 2048
        Dense | 96 | N/A | 96
        Leaky ReLU | N/A | N/A | 96
        Dense | 192 | N/A | 192
        Leaky ReLU | N/A | N/A | 192
        Dense | 384 | N/A | 384
        Leaky ReLU | N/A | N/A | 384
        Dense | 768 | N/A | 768
        Leaky ReLU | N/A | N/A | 768
        Dense | 1536 | N/A | 1536
        Leaky ReLU | N/A | N/A | 1536
        Dense | 3072 | N/A | 3072
        Sigmoid | N/A | N/A | 3072
        Reshape | N/A | N/A | 32x32x3
    """,
    ('deepsvdd', 'mnist', False): """
        Input | N/A | N/A | 28x28x1
        Conv2D | 8 | 5x5 | 28x28x8
        Batch Norm | N/A | N/A | 28x28x8
        Leaky ReLU | N/A | N/A | 28x28x8
        Max Pooling | N/A | 2x2 | 14x14x8
        Conv2D | 4 | 5x5 | 14x14x4
        Batch Norm | N/A | N/A | 14x14x4
        Leaky ReLU | N/A | N/A | 14x14x4
        Max Pooling | N/A | 2x2 | 7x7x4
        Flatten | N/A | N/A | 196
        Dense | 32 | N/A | 32
    """,
    ('deepsvdd', 'cifar10', False): """
        Input | N/A | N/A | 32x32x3
        Conv2D | 32 | 5x5 | 32x32x32
        Batch Norm | N/A | N/A | 32x32x32
        Leaky ReLU | N/A | N/A | 32x32x32
        Max Pooling | N/A | 2x2 | 16x16x32
        Conv2D | 64 | 5x5 | 16x16x64
        Batch Norm | N/A | N/A | 16x16x64
        Leaky ReLU | N/A | N/A | 16x16x64
        Max Pooling | N/A | 2x2 | 8x8x64
        Conv2D | 128 | 5x5 | 8x8x128
        Batch Norm | N/A | N/A | 8x8x128
        Leaky ReLU | N/A | N/A | 8x8x128
        Max Pooling | N/A | 2x2 | 4x4x128
        Flatten | N/A | N/A | 2048
        Dense | 128 | N/A | 128
    """,
    ('deepsvdd', 'mnist', True): """
        Input | N/A | N/A | 28x28x1
        SpectralConv2D | 8 | 5x5 | 28x28x8
        Leaky ReLU | N/A | N/A | 28x28x8
        Max Pooling | N/A | 2x2 | 14x14x8
        SpectralConv2D | 4 | 5x5 | 14x14x4
        Leaky ReLU | N/A | N/A | 14x14x4
        Max Pooling | N/A | 2x2 | 7x7x4
        Flatten | N/A | N/A | 196
        Dense | 32 | N/A | 32
    """,
    ('deepsvdd', 'cifar10', True): """
        Input | N/A | N/A | 32x32x3
        SpectralConv2D | 32 | 5x5 | 32x32x32
        Leaky ReLU | N/A | N/A | 32x32x32
        Max Pooling | N/A | 2x2 | 16x16x32
        SpectralConv2D | 64 | 5x5 | 16x16x64
        Leaky ReLU | N/A | N/A | 16x16x64
        Max Pooling | N/A | 2x2 | 8x8x64
        SpectralConv2D | 128 | 5x5 | 8x8x128
        Leaky ReLU | N/A | N/A | 8x8x128
        Max Pooling | N/A | 2x2 | 4x4x128
        Flatten | N/A | N/A | 2048
        Dense | 128 | N/A | 128
    """,
    ('generator', 'mnist', False): """
        Input | N/A | N/A | 256
        Dense | 8192 | N/A | 8192
        Batch Norm | N/A | N/A | 8192
        ReLU | N/A | N/A | 8192
        Reshape | N/A | N/A | 4x4x512
        Conv2DTranspose | 256 | 3x3 | 8x8x256
        Batch Norm | N/A | N/A | 8x8x256
        ReLU | N/A | N/A | 8x8x256
        Conv2DTranspose | 128 | 3x3 | 16x16x128
        Batch Norm | N/A | N/A | 16x16x128
        ReLU | N/A | N/A | 16x16x128
        Conv2DTranspose | 64 | 3x3 | 32x32x64
        Batch Norm | N/A | N/A | 32x32x64
        ReLU | N/A | N/A | 32x32x64
        Conv2D | 1 | 5x5 | 28x28x1
        Tanh | N/A | N/A | 28x28x1
    """,
    ('discriminator', 'mnist', False): """
        Input | N/A | N/A | 28x28x1
        Conv2D | 64 | 3x3 | 14x14x64
        LeakyReLU | N/A | N/A | 14x14x64
        Conv2D | 128 | 3x3 | 7x7x128
        Batch Norm | N/A | N/A | 7x7x128
        LeakyReLU | N/A | N/A | 7x7x128
        Conv2D | 256 | 3x3 | 4x4x256
        Batch Norm | N/A | N/A | 4x4x256
        LeakyReLU | N/A | N/A | 4x4x256
        Flatten | N/A | N/A | 4096
        Dense | 1 | N/A | 1
        Sigmoid | N/A | N/A | 1
    """,
    ('generator', 'cifar10', False): """
        Input | N/A | N/A | 256
        Dense | 8192 | N/A | 8192
        Batch Norm | N/A | N/A | 8192
        ReLU | N/A | N/A | 8192
        Reshape | N/A | N/A | 4x4x512
        Conv2DTranspose | 256 | 3x3 | 8x8x256
        Batch Norm | N/A | N/A | 8x8x256
        ReLU | N/A | N/A | 8x8x256
        Conv2DTranspose | 128 | 3x3 | 16x16x128
        Batch Norm | N/A | N/A | 16x16x128
        ReLU | N/A | N/A | 16x16x128
        Conv2DTranspose | 64 | 3x3 | 32x32x64
        Batch Norm | N/A | N/A | 32x32x64
        ReLU | N/A | N/A | 32x32x64
        Conv2D | 3 | 3x3 | 32x32x3
        Tanh | N/A | N/A | 32x32x3
    """,
    ('discriminator', 'cifar10', False): """
        Input | N/A | N/A | 32x32x3
        Conv2D | 64 | 3x3 | 16x16x64
        LeakyReLU | N/A | N/A | 16x16x64
        Conv2D | 128 | 3x3 | 8x8x128
        Batch Norm | N/A | N/A | 8x8x128
        LeakyReLU | N/A | N/A | 8x8x128
        Conv2D | 256 | 3x3 | 4x4x256
        Batch Norm | N/A | N/A | 4x4x256
        LeakyReLU | N/A | N/A | 4x4x256
        Flatten | N/A | N/A | 4096
        Dense | 1 | N/A | 1
        Sigmoid | N/A | N/A | 1
    """,
    ('generator', 'mnist', True): """
        Input | N/A | N/A | 256
        SpectralDense | 8192 | N/A | 8192
        ReLU | N/A | N/A | 8192
        SpectralDense | 4096 | N/A | 4096
        ReLU | N/A | N/A | 4096
        SpectralDense | 2048 | N/A | 2048
        ReLU | N/A | N/A | 2048
        SpectralDense | 1024 | N/A | 1024
        ReLU | N/A | N/A | 1024
        SpectralDense | 784 | N/A | 784
        Tanh | N/A | N/A | 784
        Reshape | N/A | N/A | 28x28x1
    """,
    ('discriminator', 'mnist', True): """
        Input | N/A | N/A | 28x28x1
        SpectralConv2D | 64 | 3x3 | 14x14x64
        LeakyReLU | N/A | N/A | 14x14x64
        SpectralConv2D | 128 | 3x3 | 7x7x128
        LeakyReLU | N/A | N/A | 7x7x128
        SpectralConv2D | 256 | 3x3 | 4x4x256
        LeakyReLU | N/A | N/A | 4x4x256
        Flatten | N/A | N/A | 4096
        SpectralDense | 1 | N/A | 1
        Sigmoid | N/A | N/A | 1
    """,
    ('generator', 'cifar10', True): """
        Input | N/A | N/A | 256
        SpectralDense | 8192 | N/A | 8192
        ReLU | N/A | N/A | 8192
        SpectralDense | 6312 | N/A | 6312
        ReLU | N/A | N/A | 6312
        SpectralDense | 4608 | N/A | 4608
        ReLU | N/A | N/A | 4608
        SpectralDense | 3072 | N/A | 3072
        Tanh | N/A | N/A | 3072
        Reshape | N/A | N/A | 32x32x3
    """,
    ('discriminator', 'cifar10', True): """
        Input | N/A | N/A | 32x32x3
        SpectralConv2D | 64 | 3x3 | 16x16x64
        LeakyReLU | N/A | N/A | 16x16x64
        SpectralConv2D | 128 | 3x3 | 8x8x128
        LeakyReLU | N/A | N/A | 8x8x128
        SpectralConv2D | 256 | 3x3 | 4x4x256
        LeakyReLU | N/A | N/A | 4x4x256
        Flatten | N/A | N/A | 4096
        SpectralDense | 1 | N/A | 1
        Sigmoid | N/A | N/A | 1
    """,
}
ALL_KEYS = sorted(ARCHITECTURES)


def key_id(key) -> str:
    family, dataset, lipschitz = key
    return f"{family}-{dataset}-{'lip' if lipschitz else 'std'}"


def thesis_rows(key) -> list:
    family, _, lipschitz = key
    rows = []
    for line in THESIS_TABLES[key].strip().splitlines():
        layer, size, kernel, output = (cell.strip() for cell in line.split("|"))
        layer = "Leaky ReLU" if layer == "LeakyReLU" else layer
        if lipschitz and family in ("dcae", "deepsvdd") and layer == "Dense":
            layer = "SpectralDense"
        rows.append((layer, size, kernel, output))
    return rows


def test_every_thesis_table_is_typed_in():
    assert sorted(THESIS_TABLES) == ALL_KEYS and len(ALL_KEYS) == 16


@pytest.mark.parametrize("key", ALL_KEYS, ids=key_id)
def test_architecture_rows_are_the_thesis_rows(key):
    assert describe(ARCHITECTURES[key]) == thesis_rows(key)


def bottleneck(spec):
    return spec.layers[spec.encoder_depth - 1]


def test_the_two_bottlenecks_differ_as_printed():
    assert bottleneck(get_architecture("dcae", "cifar10", True)).size == 96
    assert get_architecture("deepsvdd", "cifar10", True).layers[-1].size == 128
    assert bottleneck(get_architecture("dcae", "cifar10", False)).size == 128


@pytest.mark.parametrize("key", [k for k in ALL_KEYS if k[0] in ("dcae", "deepsvdd")], ids=key_id)
def test_the_deepsvdd_network_is_the_dcae_encoder(key):
    _, dataset, lipschitz = key
    dcae, svdd = get_architecture("dcae", dataset, lipschitz), get_architecture("deepsvdd", dataset, lipschitz)
    encoder = dcae.layers[:dcae.encoder_depth]
    if dataset == "cifar10" and lipschitz:     # the printed bottlenecks differ: 96 vs 128 units
        assert encoder[:-1] == svdd.layers[:-1]
    else:
        assert encoder == svdd.layers


def leaf_output_shapes(model) -> list:
    return [tuple(layer.output_shape[1:]) for layer in arch.iter_layers(model)]


@pytest.fixture(scope="module")
def built_models():
    """Every architecture built once (Lipschitz generators with cheap spectral normalisation)."""
    models = {}
    for key, spec in ARCHITECTURES.items():
        options = {"orthogonalization": "spectral"} if key[0] == "generator" and key[2] else {}
        models[key] = build(spec, lipschitz=3.0 if spec.lipschitz else None, **options)
    return models


@pytest.mark.parametrize("key", ALL_KEYS, ids=key_id)
def test_built_output_shapes_match_the_table(key, built_models):
    model, spec = built_models[key], ARCHITECTURES[key]
    assert tuple(model.input_shape[1:]) == spec.input_shape
    assert leaf_output_shapes(model) == [layer.output_shape for layer in spec.layers]
    kinds = [type(layer).__name__ for layer in arch.iter_layers(model)]
    assert kinds.count("SpectralConv2D") + kinds.count("SpectralDense") == spec.lipschitz_layer_count


@pytest.mark.parametrize("key", ALL_KEYS, ids=key_id)
def test_standard_networks_follow_their_papers(key, built_models):
    family, _, lipschitz = key
    layers = list(arch.iter_layers(built_models[key]))
    gan = family in ("generator", "discriminator")
    for layer in layers:
        if hasattr(layer, "use_bias"):
            assert layer.use_bias == gan, f"{layer.name}: bias only in the GANs"
        if type(layer).__name__ == "BatchNormalization":
            assert not lipschitz
            assert (layer.center, layer.scale) == ((True, True) if gan else (False, False))
            assert layer.epsilon == (1e-5 if gan else 1e-4)
        if type(layer).__name__ == "LeakyReLU":
            assert np.isclose(float(layer.alpha), 0.2 if gan else 0.1)


def test_dcae_is_an_encoder_then_a_decoder(built_models):
    model = built_models[("dcae", "mnist", False)]
    assert [layer.name for layer in model.layers] == ["encoder", "decoder"]
    code = arch.encoder_of(model)(np.zeros((2, 28, 28, 1), np.float32))
    assert code.shape == (2, 32)
    assert arch.decoder_of(model)(code).shape == (2, 28, 28, 1)


def test_same_seed_same_weights_other_seed_other_weights():
    spec = get_architecture("deepsvdd", "mnist", False)
    first, again, other = build(spec, seed=5), build(spec, seed=5), build(spec, seed=6)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), again.get_weights()))
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_fashion_mnist_uses_the_mnist_networks():
    assert get_architecture("dcae", "fashion_mnist", True) is get_architecture("dcae", "mnist", True)


@pytest.mark.parametrize("args, message", [
    (("vae", "mnist", False), "family"), (("dcae", "svhn", False), "data set"),
])
def test_unknown_family_or_dataset_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        get_architecture(*args)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lipschitz=0), "positive"), (dict(lipschitz=-2.0), "positive"), (dict(lipschitz="3"), "positive"),
    (dict(orthogonalization="qr"), "orthogonalization"),
])
def test_bad_build_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(get_architecture("deepsvdd", "mnist", True), **kwargs)


def test_a_standard_network_takes_no_lipschitz_constant():
    with pytest.raises(ValueError, match="standard network"):
        build(get_architecture("deepsvdd", "mnist", False), lipschitz=2.0)


def test_markdown_table_renders_the_rows():
    text = to_markdown(get_architecture("deepsvdd", "mnist", False))
    lines = text.strip().splitlines()
    assert lines[0] == "**MNIST DeepSVDD**"
    assert lines[2] == "| Layer | Number of Neurons/Filters | Kernel | Output Size |"
    assert lines[4] == "| Input | N/A | N/A | 28x28x1 |"
    assert lines[5] == "| Conv2D | 8 | 5x5 | 28x28x8 |"
    assert lines[-1] == "| Dense | 32 | N/A | 32 |"
    assert len(lines) == 4 + len(describe(get_architecture("deepsvdd", "mnist", False)))
