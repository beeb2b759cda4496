"""Regularized Deep SVDD: the regularizers and the adaptive weight, the detector contract, the K bound,
and collapse on real MNIST.

Fits on synthetic images are one epoch of a few dozen images, shared per module; the real-data test
trains two models on 500 MNIST images (marked slow).
"""
import os

import numpy as np
import pytest
from sklearn.base import clone

from adlip.detectors.regsvdd import (RegularizedDeepSVDD, adaptive_weight, minibatch_variance,
                                     random_label_loss, variance_hinge)
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound

ONE_EPOCH = dict(schedule=dict(phases=[[1, 1e-3]], batch_size=32, weight_decay=5e-4), verbose=0)
K = 2.0


@pytest.fixture(scope="module")
def noise_detector(mnist_like):
    train, _, _ = mnist_like
    return RegularizedDeepSVDD(regularizer="noise", n_random_labels=8, **ONE_EPOCH).fit(train)


@pytest.fixture(scope="module")
def lipschitz_detector(mnist_like):
    train, _, _ = mnist_like
    return RegularizedDeepSVDD(regularizer="variance", lipschitz=K, **ONE_EPOCH).fit(train)


# -- the losses and the weight -----------------------------------------------------------------

def test_minibatch_variance_is_eq5s_mean_sample_variance():
    import tensorflow as tf

    outputs = np.random.default_rng(0).normal(0, 2, (20, 6)).astype(np.float32)
    expected = outputs.var(axis=0, ddof=1).mean()
    assert float(minibatch_variance(tf.constant(outputs))) == pytest.approx(expected, rel=1e-5)
    assert float(variance_hinge(tf.constant(outputs), expected + 0.5)) == pytest.approx(0.5, rel=1e-4)
    assert float(variance_hinge(tf.constant(outputs), expected - 0.5)) == 0.0


def test_random_label_loss_is_log_two_for_uninformative_logits():
    import tensorflow as tf

    labels = tf.constant(np.random.default_rng(1).integers(0, 2, (30, 7)).astype(np.float32))
    assert float(random_label_loss(tf.zeros((30, 7)), labels)) == pytest.approx(np.log(2), rel=1e-6)
    confident = 10.0 * (2 * labels - 1)   # logits agreeing with the labels
    assert float(random_label_loss(confident, labels)) < 1e-3


def test_adaptive_weight_follows_eq7_and_holds_while_the_regularizer_is_zero():
    import tensorflow as tf

    c = float(adaptive_weight(tf.constant(0.4), tf.constant(3.0), tf.constant(1.5), 0.9, 0.5))
    assert c == pytest.approx(0.9 * 0.4 + 0.5 * 0.1 * 2.0)
    assert float(adaptive_weight(tf.constant(0.4), tf.constant(3.0), tf.constant(0.0), 0.9, 0.5)) == pytest.approx(0.4)


def test_variance_threshold_is_divided_by_ten_every_r_epochs():
    detector = RegularizedDeepSVDD(variance_threshold=0.1, threshold_every=3)
    assert [detector._threshold_at(e) for e in range(7)] == pytest.approx([0.1] * 3 + [0.01] * 3 + [0.001])
    shortened = RegularizedDeepSVDD(variance_threshold=0.1, threshold_every=3, epochs_scale=0.5)
    assert shortened._threshold_at(1) == pytest.approx(0.1) and shortened._threshold_at(2) == pytest.approx(0.01)


# -- the detector contract ---------------------------------------------------------------------

def test_fit_returns_self_and_scores_noise_as_more_anomalous(mnist_like, noise_detector):
    _, normal, anomalous = mnist_like
    scores_normal, scores_anomalous = (noise_detector.decision_function(x) for x in (normal, anomalous))
    assert scores_normal.shape == (len(normal),) and np.all(np.isfinite(scores_normal))
    assert scores_anomalous.mean() > scores_normal.mean()
    assert noise_detector.predict(anomalous).mean() > noise_detector.predict(normal).mean()
    fresh = RegularizedDeepSVDD(**ONE_EPOCH)
    assert fresh.fit(mnist_like[0][:40]) is fresh


def test_history_records_variance_and_the_adaptive_weight(noise_detector):
    history = noise_detector.history_
    for key in ("loss", "svdd_loss", "regularizer_loss", "embedding_variance", "regularizer_weight",
                "variance_threshold"):
        assert len(history[key]) == 1, key
    assert history["regularizer_weight"][0] == noise_detector.regularizer_weight_ > 0
    # Random labels cannot be learned: the cross-entropy stays at or above chance (log 2, the paper's limit).
    assert np.log(2) - 0.02 < history["regularizer_loss"][0] < 2.0
    assert noise_detector.final_variance_ == history["embedding_variance"][-1] > 0
    assert noise_detector.collapsed_ is False


def test_biases_are_switched_by_the_bias_parameter(mnist_like):
    from adlip import architectures

    train = mnist_like[0][:40]
    with_bias = RegularizedDeepSVDD(regularizer="none", bias=True, **ONE_EPOCH).fit(train)
    without = RegularizedDeepSVDD(regularizer="none", bias=False, **ONE_EPOCH).fit(train)
    assert any("bias" in w.name for w in with_bias.network_.weights)
    assert not any("bias" in w.name or "beta" in w.name for w in without.network_.weights)
    assert with_bias.history_["regularizer_weight"] == [0.0]
    default = architectures.build(architectures.get_architecture("deepsvdd", "mnist"))
    assert not any("bias" in w.name for w in default.weights)   # build's default is unchanged


@pytest.mark.parametrize("params", [dict(regularizer="dropout"), dict(bias="yes"), dict(n_random_labels=0),
                                    dict(variance_threshold=0.0), dict(threshold_every=1.5), dict(alpha=1.5),
                                    dict(beta=-0.1), dict(head_rate_factor=0), dict(orthogonalization="qr"),
                                    dict(lipschitz=-1.0)])
def test_bad_parameters_fail_before_training(params, mnist_like):
    with pytest.raises(ValueError, match=next(iter(params)).split("_")[0]):
        RegularizedDeepSVDD(**params, **ONE_EPOCH).fit(mnist_like[0][:8])


@pytest.mark.parametrize("bad", [np.zeros((4, 28, 28, 3)), np.full((4, 28, 28, 1), np.nan), np.zeros((0, 28, 28))])
def test_bad_images_fail_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="X "):
        RegularizedDeepSVDD(**ONE_EPOCH).fit(bad)


def test_same_seed_same_scores_other_seed_other_scores(mnist_like, noise_detector):
    train, normal, _ = mnist_like
    again = clone(noise_detector).fit(train)
    np.testing.assert_array_equal(again.decision_function(normal), noise_detector.decision_function(normal))
    other = clone(noise_detector).set_params(seed=1).fit(train)
    assert not np.allclose(other.decision_function(normal), noise_detector.decision_function(normal))


def test_save_and_load_give_identical_scores(tmp_path, mnist_like, noise_detector):
    _, normal, anomalous = mnist_like
    loaded = RegularizedDeepSVDD.load(noise_detector.save(tmp_path / "regsvdd"))
    x = np.concatenate([normal, anomalous])
    np.testing.assert_array_equal(loaded.decision_function(x), noise_detector.decision_function(x))
    assert loaded.history_ == noise_detector.history_ and loaded.get_params() == noise_detector.get_params()


# -- the Lipschitz variant -----------------------------------------------------------------------

def test_lipschitz_network_is_k_lipschitz_with_biases(mnist_like, lipschitz_detector):
    train, normal, anomalous = mnist_like
    network = lipschitz_detector.lipschitz_network
    assert any("bias" in w.name for w in network.weights)
    x = lipschitz_detector.lipschitz_inputs(np.concatenate([train, normal, anomalous]))
    pairs = lipschitz_lower_bound(network, x, rounds=3, pairs_per_round=4000, seed=0).value
    ascent = lipschitz_gradient_ascent(network, x, starts=16, steps=60, seed=0).value
    assert 0 < pairs <= K * (1 + 1e-3)
    assert 0 < ascent <= K * (1 + 1e-3)
    assert ascent > 0.05 * K   # the search found a real slope, so the bound above is not vacuous


# -- collapse on real MNIST ----------------------------------------------------------------------

def _have_mnist() -> bool:
    folder = os.environ.get("ADLIP_DATA_DIR")
    return bool(folder) and os.path.isfile(os.path.join(folder, "mnist.npz"))


@pytest.mark.slow
@pytest.mark.skipif(not _have_mnist(), reason="needs mnist.npz in $ADLIP_DATA_DIR (offline copy of MNIST)")
def test_bias_without_regularizer_collapses_and_the_variance_hinge_prevents_it():
    from adlip.data import one_vs_rest

    split = one_vs_rest("mnist", 0, train_size=500, test_size=10, seed=1234)
    fast = dict(schedule=dict(phases=[[10, 1e-2]], batch_size=50, weight_decay=5e-4), verbose=0)
    plain = RegularizedDeepSVDD(regularizer="none", **fast).fit(split.x_train)
    hinged = RegularizedDeepSVDD(regularizer="variance", variance_threshold=0.1, threshold_every=100,
                                 **fast).fit(split.x_train)
    # Measured on this machine: plain falls below 1 % of its initial variance (0.47), the hinged model
    # stays above its threshold 0.1 (0.16).
    assert plain.final_variance_ < 0.05 * plain.initial_variance_
    assert hinged.final_variance_ > 10 * plain.final_variance_
    assert hinged.final_variance_ > 0.5 * hinged.variance_threshold
