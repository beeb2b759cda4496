"""Shared fixtures: tiny synthetic image sets and detectors fitted once per test module.

Normal images are smooth blobs in [0, 1]; anomalies are uniform noise over [-5, 5], far from
anything a detector sees in training and much larger in norm, so that even a network trained for
one or two epochs scores them higher: the tests check the sign convention, not the detectors' skill.
(Even so, a Lipschitz Deep SVDD at small K scores the noise as *more* normal: see LIPSCHITZ_CASES.)
"""
import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np
import pytest

from adlip.data import INPUT_SHAPES
from adlip.detectors import DETECTORS, make_detector

# Per detector name: parameters that make a fit take seconds (one or two epochs, small batches). The
# thesis's detectors are also fitted by ``fitted`` below; the others (f-AnoGAN) by the shared contract.
FAST_PARAMS = {
    "dcae": dict(epochs_scale=1e-3, batch_size=32),
    "deepsvdd-oc": dict(epochs_scale=1e-3, batch_size=32),
    "deepsvdd-sb": dict(epochs_scale=1e-3, batch_size=32),
    "anogan": dict(epochs_scale=1e-3, batch_size=32, latent_steps=5, search_batch_size=64,
                   orthogonalization="spectral"),
    "fanogan": dict(epochs_scale=1e-3, batch_size=32, critic_steps=2),
}
# K = 50 (in the thesis's grid): a Lipschitz Deep SVDD at small K cannot separate anything after one
# epoch (see test_detectors.py::test_small_k_lipschitz_deepsvdd_scores_by_a_projection_on_the_center).
LIPSCHITZ_CASES = (None, 50.0)
DETECTOR_CASES = [(name, k) for name in DETECTORS for k in LIPSCHITZ_CASES]


def case_id(case) -> str:
    name, k = case
    return f"{name}-{'std' if k is None else f'K{k:g}'}"


def blobs(n: int, shape: tuple, seed: int = 0) -> np.ndarray:
    """``n`` images of one soft bright disk each (random centre and radius) on a dark background."""
    rng = np.random.default_rng(seed)
    height, width, channels = shape
    rows, cols = np.mgrid[0:height, 0:width]
    centres = rng.uniform(0.3, 0.7, size=(n, 2)) * (height, width)
    radii = rng.uniform(0.15, 0.3, size=(n, 1, 1)) * height
    distance = np.hypot(rows[None] - centres[:, 0, None, None], cols[None] - centres[:, 1, None, None])
    disk = 1.0 / (1.0 + np.exp((distance - radii) * 1.5))
    colour = rng.uniform(0.6, 1.0, size=(n, 1, 1, channels))
    return (disk[..., None] * colour).astype(np.float32)


def disks(n, seed=0):
    """``n`` MNIST-shaped images in [-1, 1]: a bright disk of random centre and radius on black."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    centres = rng.uniform(9, 19, size=(n, 2))
    radii = rng.uniform(4, 8, size=(n, 1, 1))
    distance = np.hypot(rows[None] - centres[:, 0, None, None], cols[None] - centres[:, 1, None, None])
    return (2.0 / (1.0 + np.exp(distance - radii)) - 1.0)[..., None].astype(np.float32)


def noise(n: int, shape: tuple, seed: int = 1, amplitude: float = 5.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-amplitude, amplitude, size=(n,) + shape).astype(np.float32)


@pytest.fixture(scope="session")
def mnist_like():
    """(train, normal test, anomalous test) images shaped like MNIST."""
    shape = INPUT_SHAPES["mnist"]
    return blobs(96, shape, seed=0), blobs(32, shape, seed=2), noise(32, shape)


@pytest.fixture(scope="session")
def cifar_like():
    shape = INPUT_SHAPES["cifar10"]
    return blobs(64, shape, seed=0), blobs(16, shape, seed=2), noise(16, shape)


def fast_detector(name: str, lipschitz, **overrides):
    """A detector of the registry with the fast parameters of ``FAST_PARAMS``."""
    params = dict(FAST_PARAMS[name], lipschitz=lipschitz, verbose=0, seed=0)
    params.update(overrides)
    return make_detector(name, **params)


@pytest.fixture(scope="module", params=DETECTOR_CASES, ids=case_id)
def fitted(request, mnist_like):
    """(case, fitted detector) for every registered detector and LIPSCHITZ_CASES; fit once per module."""
    name, k = request.param
    train, _, _ = mnist_like
    return request.param, fast_detector(name, k).fit(train)


@pytest.fixture(scope="session")
def mode_collapse_smoke(tmp_path_factory):
    """The mode-collapse study at smoke, run once per session into a temporary results folder.

    A spy keeps what each variant trained, for test_mode_collapse.py's checks of the networks; the
    chapter that renders the study (tests/test_notebooks.py) reads these records instead of training
    the six GANs a second time in the same test process.
    """
    import time
    from types import SimpleNamespace

    from adlip.studies import mode_collapse as mc

    folder = tmp_path_factory.mktemp("mode-collapse-results")
    trained, real_train = {}, mc._train

    def spy(spec, x, budget, monitor):
        found = real_train(spec, x, budget, monitor)
        trained[spec.variant] = SimpleNamespace(detector=found[0], generator=found[1], discriminator=found[2],
                                                history=found[3], x=x)
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mc, "_train", spy)
        started = time.perf_counter()
        ran = mc.MODE_COLLAPSE.run_missing("smoke", folder, progress=False)
        seconds = time.perf_counter() - started
    return SimpleNamespace(folder=folder, ran=ran, trained=trained, seconds=seconds,
                           records=mc.MODE_COLLAPSE.records("smoke", folder, run=False))


def smoke_record_generator():
    """``tests/golden/make_smoke_records.py`` as a module: the pinned runs' list and how to run them."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "make_smoke_records", Path(__file__).parent / "golden" / "make_smoke_records.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pinned_smoke_runs(tmp_path_factory):
    """The pinned smoke runs (``tests/golden/make_smoke_records.py``), run once per session.

    ``test_records_unchanged.py`` compares them with the pinned numbers. Experiment 2's smoke grid
    is a part of them (the same run ids, the same sweep), so the chapters that render it
    (tests/test_notebooks.py) are given these records instead of training the eight networks again.
    """
    import os
    from types import SimpleNamespace

    if not os.environ.get("ADLIP_DATA_DIR"):
        pytest.skip("set ADLIP_DATA_DIR to a folder with mnist.npz")
    generator = smoke_record_generator()
    folder = tmp_path_factory.mktemp("pinned-smoke-runs")
    return SimpleNamespace(folder=folder, generator=generator, found=generator.smoke_records(folder))
