"""RobustRealNVP: shapes, bad input, determinism, save/load, a proper density, trimming, the
Lipschitz bound of the coupling networks, contaminated splits, and one real-data check."""
import os

import numpy as np
import pytest

import adlip  # noqa: F401  (before TensorFlow)
from adlip import metrics
from adlip.detectors.base import Schedule
from adlip.data import contaminated_one_vs_rest, two_moons
from adlip.detectors.realnvp import RobustRealNVP, coupling_indices, trim_count, trimmed_negative_log_likelihood
from adlip.reference.realnvp import PAPER_CIFAR10_AUC

K = 2.0
TINY = dict(dataset="tabular", n_couplings=4, hidden=16, depth=2, verbose=0,
            schedule=Schedule(((3, 3e-3),), batch_size=64, weight_decay=0.0))


def moons_detector(**overrides):
    return RobustRealNVP(**{**TINY, **overrides})


@pytest.fixture(scope="module")
def moons():
    return two_moons(256, anomaly_fraction=0.05, kind="clustered", seed=0)


@pytest.fixture(scope="module")
def robust(moons):
    return moons_detector(lipschitz=K, trim_fraction=0.05).fit(moons[0])


@pytest.fixture(scope="module")
def plain(moons):
    return moons_detector(lipschitz=None, trim_fraction=0.0).fit(moons[0])


def test_shapes_history_and_variant_names(robust, plain, moons):
    x = moons[0]
    for detector in (robust, plain):
        assert detector.decision_scores_.shape == (len(x),)
        assert detector.decision_function(x[:10]).shape == (10,)
        assert set(np.unique(detector.predict(x))) <= {0, 1}
        assert len(detector.history_["loss"]) == len(detector.history_["nll"]) == 3
        assert len(detector.coupling_networks_) == 4
        assert np.isfinite(detector.decision_scores_).all() and detector.decision_scores_.std() > 0
    assert (robust.variant, plain.variant) == ("RobustRealNVP", "RealNVP")
    assert moons_detector(lipschitz=None).variant == "TrimRealNVP"
    assert np.allclose(robust.decision_function(x), -robust.score_samples(x))


@pytest.mark.parametrize("params, complaint", [
    (dict(trim_fraction=0.6), "trim_fraction"),
    (dict(trim_fraction=-0.1), "trim_fraction"),
    (dict(n_couplings=1), "n_couplings"),
    (dict(hidden=0), "hidden"),
    (dict(depth=1.5), "depth"),
    (dict(features="vgg19"), "features"),
    (dict(features="pca"), "tabular"),
    (dict(lipschitz=-1.0), "lipschitz"),
    (dict(dataset="imagenet"), "dataset"),
    (dict(seed=-3), "seed"),
])
def test_bad_parameters_fail_before_training(params, complaint, moons):
    with pytest.raises(ValueError, match=complaint):
        moons_detector(**params).fit(moons[0])


@pytest.mark.parametrize("X, complaint", [
    (np.zeros((10, 1)), "n_features >= 2"),
    (np.zeros((10, 2, 2)), "n_features"),
    (np.zeros((0, 2)), "empty"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    (np.array([["a", "b"]]), "numbers"),
])
def test_bad_tabular_input(X, complaint):
    with pytest.raises(ValueError, match=complaint):
        moons_detector().fit(X)


def test_bad_image_input_and_unfitted_use(robust):
    with pytest.raises(ValueError, match="shape"):
        RobustRealNVP(dataset="mnist", verbose=0).fit(np.zeros((5, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="n_components"):
        RobustRealNVP(dataset="mnist", n_components=64, verbose=0).fit(np.zeros((5, 28, 28), np.float32))
    with pytest.raises(ValueError, match="not fitted"):
        moons_detector().decision_function(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="fitted on 2"):
        robust.decision_function(np.zeros((3, 5)))


def test_same_seed_same_scores(robust, moons):
    x = moons[0]
    again = moons_detector(lipschitz=K, trim_fraction=0.05).fit(x)
    np.testing.assert_array_equal(again.decision_function(x), robust.decision_function(x))
    np.testing.assert_array_equal(again.history_["loss"], robust.history_["loss"])


@pytest.mark.parametrize("which", ["robust", "plain"])
def test_save_and_load_give_identical_scores(which, request, moons, tmp_path):
    detector = request.getfixturevalue(which)
    loaded = RobustRealNVP.load(detector.save(tmp_path / which))
    np.testing.assert_array_equal(loaded.decision_function(moons[0]), detector.decision_function(moons[0]))
    assert loaded.get_params() == detector.get_params()
    assert loaded.threshold_ == detector.threshold_


@pytest.mark.parametrize("which", ["robust", "plain"])
def test_log_density_integrates_to_one_over_the_plane(which, request):
    detector = request.getfixturevalue(which)
    # +- 9 standard deviations around the training mean, in the input coordinates
    centres, scales = detector.feature_mean_, detector.feature_scale_
    axes = [np.linspace(m - 9 * s, m + 9 * s, 401) for m, s in zip(centres, scales)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    density = np.exp(detector.score_samples(grid)).reshape(401, 401)
    cell = np.prod([a[1] - a[0] for a in axes])
    assert density.sum() * cell == pytest.approx(1.0, abs=0.02)


def test_trimming_drops_exactly_the_lowest_density_fraction():
    import tensorflow as tf

    log_density = tf.Variable(np.random.default_rng(0).standard_normal(40).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = trimmed_negative_log_likelihood(log_density, 0.1)
    gradient = tape.gradient(loss, log_density).numpy()
    values = log_density.numpy()
    dropped = np.argsort(values)[:trim_count(40, 0.1)]
    assert trim_count(40, 0.1) == 4
    np.testing.assert_array_equal(gradient[dropped], 0.0)
    kept = np.setdiff1d(np.arange(40), dropped)
    np.testing.assert_allclose(gradient[kept], -1 / 36, rtol=1e-6)
    assert float(loss) == pytest.approx(-values[kept].mean(), rel=1e-6)
    assert float(trimmed_negative_log_likelihood(log_density, 0.0)) == pytest.approx(-values.mean(), rel=1e-6)
    assert trim_count(3, 0.49) == 1 and trim_count(1, 0.4) == 0


def test_trimmed_objective_is_below_the_full_likelihood_during_training(robust, plain):
    # with no weight decay, the loss is the trimmed NLL: the mean of the kept (likelier) points
    assert all(loss < nll for loss, nll in zip(robust.history_["loss"], robust.history_["nll"]))
    np.testing.assert_allclose(plain.history_["loss"], plain.history_["nll"], rtol=1e-6)


def test_coupling_networks_are_k_lipschitz_measured(robust, moons):
    inputs = robust.conditioner_inputs(moons[0])
    for network, x in zip(robust.coupling_networks_, inputs):
        kernels = [w for w in network.get_weights() if w.ndim == 2]
        norms = [np.linalg.svd(w, compute_uv=False)[0] for w in kernels]
        assert np.prod(norms) == pytest.approx(K, rel=5e-3)   # the layers really carry K, not 1
        spread = np.concatenate([x, x + np.random.default_rng(0).normal(0, 3, x.shape).astype(np.float32)])
        pairs = metrics.lipschitz_lower_bound(network, spread, rounds=3, pairs_per_round=20_000)
        ascent = metrics.lipschitz_gradient_ascent(network, spread, starts=16, steps=30)
        assert pairs.value <= K * (1 + 1e-3) and ascent.value <= K * (1 + 1e-3)
    np.testing.assert_array_equal(robust.lipschitz_inputs(moons[0]), inputs[0])
    assert robust.lipschitz_network is robust.coupling_0_


def test_couplings_alternate_and_cover_every_feature():
    for d in (2, 5, 8):
        first, second = coupling_indices(d, 0), coupling_indices(d, 1)
        np.testing.assert_array_equal(first[0], second[1])
        assert sorted(np.concatenate(first).tolist()) == list(range(d))


def test_two_moons_contamination():
    x, is_anomaly = two_moons(400, anomaly_fraction=0.1, kind="clustered", seed=3)
    assert x.shape == (400, 2) and is_anomaly.sum() == 40
    assert np.linalg.norm(x[is_anomaly == 1] - (-0.9, -0.6), axis=1).max() < 0.5
    with pytest.raises(ValueError, match="kind"):
        two_moons(kind="gaussian")
    assert set(PAPER_CIFAR10_AUC) == {"uniform", "clustered"}


needs_data = pytest.mark.skipif(not os.environ.get("ADLIP_DATA_DIR"),
                                reason="set ADLIP_DATA_DIR to a folder with mnist.npz for real-data checks")


@needs_data
def test_contaminated_split_holds_the_asked_anomalies():
    uniform = contaminated_one_vs_rest("mnist", 3, 0.1, "uniform", train_size=900, test_size=200, seed=0)
    assert len(uniform.x_train) == 1000 and uniform.info["train_is_anomaly"].sum() == 100
    assert len(np.unique(uniform.info["train_classes"][uniform.info["train_is_anomaly"] == 1])) == 9
    clustered = contaminated_one_vs_rest("mnist", 3, 0.1, "clustered", train_size=900, test_size=200, seed=0)
    assert set(clustered.info["train_classes"]) == {3, 4}
    assert clustered.x_train.shape[1:] == (28, 28, 1) and 0 <= clustered.x_train.min()
    with pytest.raises(ValueError, match="anomaly_class"):
        contaminated_one_vs_rest("mnist", 3, kind="clustered", anomaly_class=3)
    with pytest.raises(ValueError, match="anomaly_fraction"):
        contaminated_one_vs_rest("mnist", 3, anomaly_fraction=0.7)


@needs_data
@pytest.mark.slow
def test_mnist_digit_zero_is_told_from_the_rest_despite_contamination():
    split = contaminated_one_vs_rest("mnist", 0, 0.1, "uniform", train_size=900, test_size=1000, seed=0)
    detector = RobustRealNVP("mnist", n_components=16, n_couplings=4, hidden=32, depth=2, verbose=0,
                             schedule=Schedule(((10, 3e-3),), batch_size=128)).fit(split.x_train)
    assert metrics.roc_auc(split.y_test, detector.decision_function(split.x_test)) > 0.85
    assert metrics.roc_auc(split.info["train_is_anomaly"], detector.decision_scores_) > 0.85
