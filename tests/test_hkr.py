"""The one-class HKR detector: loss, certificates, Algorithm 1, the detector contract, the 1-Lipschitz bound.

Fits are tiny (a few epochs of a narrow network on a few dozen images or 2-D points) and shared per
module; one slow test trains on real MNIST.
"""
import os

import numpy as np
import pytest
from sklearn.base import clone

from adlip.detectors.hkr import OneClassHKR, build_network, default_margin, hkr_loss
from adlip.metrics import certified_auroc
from adlip.reference.hkr import PAPER_MNIST_TABLE
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound, roc_auc

TINY_IMAGES = dict(architecture="dense", width=8, activation="groupsort2", newton_steps=3, warmup_epochs=1,
                   schedule=dict(phases=[[2, 1e-2]], batch_size=16), verbose=0)
TINY_TABLE = dict(dataset="tabular", width=16, newton_steps=4, warmup_epochs=2, margin=0.05, hkr_lambda=100.0,
                  schedule=dict(phases=[[12, 5e-3]], batch_size=64), verbose=0)


def digit_like(n, seed=0):
    """Images in [-1, 1]: a bright bar on a dark background, at a random place."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, 28, 28, 1), np.float32)
    for image, row, col in zip(x, rng.integers(4, 14, n), rng.integers(8, 20, n)):
        image[row:row + 10, col:col + 3] = 1.0
    return x


def blob(n, seed=0):
    """2-D points of a Gaussian blob at the origin (standard deviation 0.5)."""
    return np.random.default_rng(seed).normal(0, 0.5, (n, 2)).astype(np.float32)


@pytest.fixture(scope="module")
def image_detector():
    return OneClassHKR(**TINY_IMAGES).fit(digit_like(48))


@pytest.fixture(scope="module")
def table_detector():
    return OneClassHKR(**TINY_TABLE).fit(blob(256))


# -- the loss and the certificate --------------------------------------------------------------

def test_hkr_loss_is_the_papers_equation_and_deel_lips_hkr():
    import tensorflow as tf
    from deel.lip.losses import HKR

    rng = np.random.default_rng(0)
    f_normal, f_negative = rng.normal(0.5, 1, (32, 1)), rng.normal(-0.5, 1, (32, 1))
    margin, lam = 0.3, 50.0
    loss, hinge, wasserstein = (float(v) for v in hkr_loss(tf.constant(f_normal), tf.constant(f_negative),
                                                           margin, lam))
    by_hand = np.mean(lam * np.maximum(0, margin - f_normal) - f_normal) \
        + np.mean(lam * np.maximum(0, margin + f_negative) + f_negative)
    assert loss == pytest.approx(by_hand, rel=1e-6)
    assert wasserstein == pytest.approx(f_normal.mean() - f_negative.mean(), rel=1e-6)
    assert hinge == pytest.approx(np.maximum(0, margin - f_normal).mean() + np.maximum(0, margin + f_negative).mean())
    labels = np.r_[np.ones(32), -np.ones(32)].reshape(-1, 1).astype(np.float32)
    outputs = np.r_[f_normal, f_negative].astype(np.float32)
    deel = float(HKR(alpha=2 * lam, min_margin=2 * margin)(labels, outputs))
    assert deel == pytest.approx(by_hand, rel=1e-5)


def test_certified_auroc_starts_at_the_auroc_and_only_falls():
    rng = np.random.default_rng(1)
    normal, anomalous = rng.normal(0, 1, 300), rng.normal(2, 1, 200)
    labels = np.r_[np.zeros(300), np.ones(200)]
    assert certified_auroc(normal, anomalous, 0.0) == pytest.approx(roc_auc(labels, np.r_[normal, anomalous]))
    curve = [certified_auroc(normal, anomalous, eps) for eps in (0, 0.2, 0.5, 1, 3)]
    assert all(b <= a for a, b in zip(curve, curve[1:])) and curve[-1] < 0.2
    # Two points 1 apart stay correctly ordered up to eps = 0.5, not beyond; K = 2 halves the radius.
    assert certified_auroc([0.0], [1.0], 0.49) == 1.0 and certified_auroc([0.0], [1.0], 0.51) == 0.0
    assert certified_auroc([0.0], [1.0], 0.26, lipschitz=2.0) == 0.0


@pytest.mark.parametrize("eps, lipschitz", [(-0.1, 1.0), (float("nan"), 1.0), ("1", 1.0), (0.1, 0.0)])
def test_certified_auroc_refuses_bad_radii(eps, lipschitz):
    with pytest.raises(ValueError, match="eps|lipschitz"):
        certified_auroc([0.0, 1.0], [2.0], eps, lipschitz=lipschitz)


def test_paper_settings():
    assert default_margin((28, 28, 1), (-1.0, 1.0)) == pytest.approx(0.02 * np.sqrt(784 * 2))
    assert OneClassHKR().resolved_margin((28, 28, 1)) == pytest.approx(0.792, abs=1e-3)
    assert OneClassHKR(dataset="tabular").resolved_margin((2,)) == 0.05
    assert OneClassHKR().resolved_schedule().phases == ((1000, 1e-3),)
    assert OneClassHKR().resolved_schedule().batch_size == 128
    assert all(len(row) == 10 for row in PAPER_MNIST_TABLE.values())
    assert np.mean(PAPER_MNIST_TABLE["hkr_auc"]) == pytest.approx(95.323)


def test_warm_up_scales_with_the_schedule_and_leaves_generated_epochs():
    assert OneClassHKR(epochs_scale=0.006)._warmup_epochs(6) == 1
    assert OneClassHKR()._warmup_epochs(1000) == 10
    assert OneClassHKR()._warmup_epochs(3) == 2
    assert OneClassHKR()._warmup_epochs(1) == 0
    assert OneClassHKR(warmup_epochs=0)._warmup_epochs(50) == 0


# -- networks and the Lipschitz bound -------------------------------------------------------------

@pytest.mark.parametrize("architecture, activation", [("conv", "fullsort"), ("dense", "groupsort2")])
def test_freshly_built_networks_have_gradients_of_norm_at_most_one(architecture, activation):
    import tensorflow as tf

    model = build_network((28, 28, 1), architecture, width=8, activation=activation, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    assert model(x, training=False).shape == (64, 1)
    z = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(z)
        f = model(z, training=False)
    norms = np.sqrt((tape.gradient(f, z).numpy() ** 2).reshape(64, -1).sum(1))
    assert norms.max() <= 1 + 1e-3


def test_trained_network_is_one_lipschitz(image_detector):
    x = np.concatenate([digit_like(64, seed=5), np.random.default_rng(2).uniform(-1, 1, (64, 28, 28, 1))])
    network = image_detector.lipschitz_network
    assert np.array_equal(image_detector.lipschitz_inputs(x), x.astype(np.float32))
    assert image_detector.lipschitz_constant == 1.0
    assert lipschitz_lower_bound(network, x.astype(np.float32), rounds=3, pairs_per_round=4096).value <= 1 + 1e-3
    assert lipschitz_gradient_ascent(network, x.astype(np.float32), starts=8, steps=30).value <= 1 + 1e-3


# -- the detector contract -------------------------------------------------------------------------

def test_fit_sets_scores_history_and_warm_up(image_detector):
    detector = image_detector
    assert detector.decision_scores_.shape == (48,) and detector.labels_.shape == (48,)
    assert detector.epochs_trained_ == 2 and detector.warmup_epochs_ == 1
    assert detector.history_["noise_negatives"] == [1.0, 0.0]
    for key in ("loss", "hinge", "wasserstein", "f_negative"):
        assert len(detector.history_[key]) == 2 and np.all(np.isfinite(detector.history_[key]))
    assert detector.margin_ == pytest.approx(0.792, abs=1e-3)
    x = digit_like(8, seed=9)
    assert np.allclose(detector.decision_function(x), -detector.classifier_output(x))
    assert np.array_equal(detector.decision_function(x[..., 0]), detector.decision_function(x))


def test_scores_grow_with_the_distance_from_the_training_data(table_detector):
    from scipy.stats import spearmanr

    points = np.random.default_rng(1).uniform(-4, 4, (500, 2)).astype(np.float32)
    scores = table_detector.decision_function(points)
    assert spearmanr(scores, np.linalg.norm(points, axis=1)).correlation > 0.8
    assert table_detector.n_features_in_ == 2


def test_generated_points_approach_the_level_set_and_stay_in_the_domain(table_detector):
    detector = table_detector
    start = np.random.default_rng(6).uniform(-5, 5, (128, 2)).astype(np.float32)
    level = -detector.margin_
    moved = detector.generate(start=start, level=level, steps=16)
    assert moved.shape == start.shape and moved.min() >= -5 and moved.max() <= 5
    gap_before = np.abs(detector.classifier_output(start) - level).mean()
    gap_after = np.abs(detector.classifier_output(moved) - level).mean()
    assert gap_after < 0.5 * gap_before
    noise = detector.generate(16, seed=1, random_rate=True)
    assert noise.shape == (16, 2) and np.array_equal(noise, detector.generate(16, seed=1, random_rate=True))
    with pytest.raises(ValueError, match="either n_samples"):
        detector.generate(4, start=start)


def test_same_seed_same_scores_other_seed_other_scores(image_detector):
    x = digit_like(16, seed=7)
    again = OneClassHKR(**TINY_IMAGES).fit(digit_like(48))
    assert np.array_equal(again.decision_function(x), image_detector.decision_function(x))
    other = OneClassHKR(**{**TINY_IMAGES, "seed": 1}).fit(digit_like(48))
    assert not np.allclose(other.decision_function(x), image_detector.decision_function(x))


@pytest.mark.parametrize("which", ["image_detector", "table_detector"])
def test_save_and_load_give_identical_scores(which, request, tmp_path):
    from adlip.detectors.base import BaseDetector

    detector = request.getfixturevalue(which)
    x = digit_like(16, seed=8) if which == "image_detector" else blob(64, seed=8)
    detector.save(tmp_path / "saved")
    loaded = BaseDetector.load(tmp_path / "saved")
    assert type(loaded) is OneClassHKR and loaded.get_params() == detector.get_params()
    assert np.array_equal(loaded.decision_function(x), detector.decision_function(x))
    assert loaded.history_ == detector.history_ and loaded.margin_ == detector.margin_
    assert np.array_equal(loaded.generate(4, seed=2), detector.generate(4, seed=2))


def test_clone_keeps_parameters_and_drops_the_fit(table_detector):
    copy = clone(table_detector)
    assert copy.get_params() == table_detector.get_params() and not hasattr(copy, "network_")
    with pytest.raises(ValueError, match="not fitted"):
        copy.decision_function(blob(4))


# -- bad input, before any training ------------------------------------------------------------------

@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was validated")
    monkeypatch.setattr("adlip.detectors.base.seed_everything", refuse)
    monkeypatch.setattr("adlip.detectors.hkr.build_network", refuse)


def _nan_images():
    x = digit_like(4)
    x[0, 3, 3, 0] = np.nan
    return x


@pytest.mark.parametrize("params, X, message", [
    ({}, np.zeros((4, 32, 32, 3), np.float32), "shape"),
    ({}, np.zeros((4, 784), np.float32), "shape"),
    ({}, _nan_images(), "NaN or infinite"),
    ({}, np.zeros((0, 28, 28, 1), np.float32), "empty"),
    ({}, np.full((4, 28, 28, 1), 255.0, np.float32), "domain .*scaling='tanh'"),
    ({"dataset": "tabular"}, np.zeros((4, 2, 1)), r"\(n_samples, n_features\)"),
    ({"dataset": "tabular"}, np.full((4, 2), 9.0), "domain .*standardise"),
    ({"dataset": "tabular"}, np.array([[0.0, np.inf]]), "NaN or infinite"),
    ({"dataset": "tabular"}, np.array([["a", "b"]]), "numbers"),
])
def test_bad_inputs_raise_before_training(params, X, message, no_training):
    with pytest.raises(ValueError, match=message):
        OneClassHKR(**params, verbose=0).fit(X)


@pytest.mark.parametrize("params, message", [
    (dict(lipschitz=2.0), "lipschitz must be 1.0"), (dict(lipschitz=None), "lipschitz must be 1.0"),
    (dict(margin=-1.0), "margin"), (dict(hkr_lambda=0), "hkr_lambda"), (dict(newton_steps=0), "newton_steps"),
    (dict(newton_steps=2.5), "newton_steps"), (dict(warmup_epochs=-1), "warmup_epochs"),
    (dict(architecture="resnet"), "architecture"), (dict(width=3), "width"), (dict(activation="relu"), "activation"),
    (dict(domain=(1, -1)), "domain"), (dict(domain="wide"), "domain"), (dict(dataset="svhn"), "dataset"),
    (dict(epochs_scale=0), "epochs_scale"), (dict(dataset="tabular", architecture="conv"), "conv"),
    (dict(dataset="tabular", batch_size=0), "batch_size"),
])
def test_bad_parameters_raise_before_training(params, message, no_training):
    X = blob(8) if params.get("dataset") == "tabular" else digit_like(8)
    with pytest.raises(ValueError, match=message):
        OneClassHKR(**params, verbose=0).fit(X)


def test_scoring_checks_the_feature_count(table_detector):
    with pytest.raises(ValueError, match="3 features.*fitted on 2"):
        table_detector.decision_function(np.zeros((4, 3)))


# -- real data ------------------------------------------------------------------------------------------

def _have_mnist() -> bool:
    folder = os.environ.get("ADLIP_DATA_DIR")
    return bool(folder) and os.path.isfile(os.path.join(folder, "mnist.npz"))


@pytest.mark.slow
@pytest.mark.skipif(not _have_mnist(), reason="needs mnist.npz in $ADLIP_DATA_DIR (offline copy of MNIST)")
def test_separates_real_mnist_ones_from_the_rest():
    from adlip.data import one_vs_rest

    split = one_vs_rest("mnist", 1, scaling="tanh", train_size=1000, test_size=1000, seed=0)
    detector = OneClassHKR(architecture="dense", width=64, activation="groupsort2", newton_steps=8,
                           epochs_scale=0.003, verbose=0).fit(split.x_train)
    assert roc_auc(split.y_test, detector.decision_function(split.x_test)) > 0.9


def test_missing_mnist_records_name_the_command_that_writes_them(tmp_path):
    from adlip.studies.hkr import mnist_records

    with pytest.raises(ValueError, match="python -m adlip study hkr --profile quick"):
        mnist_records("quick", classes=[3], results_dir=tmp_path, run=False)
