"""adlip.metrics: ROC-AUC, the Lipschitz lower bounds on maps of known constant, eq. 5.2."""
import itertools

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from adlip import metrics


def linear_map(rows=20, cols=50, seed=0):
    matrix = np.random.default_rng(seed).standard_normal((rows, cols))
    return matrix, float(np.linalg.svd(matrix, compute_uv=False)[0])


def test_roc_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = rng.standard_normal(500) + labels
    assert metrics.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0


@pytest.mark.parametrize("labels, scores, complaint", [
    ([0, 1, 1], [0.1, 0.2], "entries"),
    ([0, 2, 1], [0.1, 0.2, 0.3], "0 \\(normal\\) and 1"),
    ([1, 1, 1], [0.1, 0.2, 0.3], "both"),
    ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
])
def test_roc_auc_bad_input(labels, scores, complaint):
    with pytest.raises(ValueError, match=complaint):
        metrics.roc_auc(labels, scores)


def test_auc_standard_error_matches_the_spread_over_redrawn_test_sets():
    # 900 anomalies and 100 normal images, as in AnoGAN's 1000-image subset of MNIST; exponential
    # scores, the model Hanley and McNeil's formula assumes, with a rate ratio giving an AUC of 0.7
    rng = np.random.default_rng(0)
    rate = 0.7 / 0.3                                    # P(anomalous score > normal score) = rate / (1 + rate)
    aucs = [roc_auc_score(np.r_[np.ones(900), np.zeros(100)],
                          np.r_[rng.exponential(rate, 900), rng.exponential(1.0, 100)]) for _ in range(400)]
    predicted = metrics.auc_standard_error(0.7, 900, 100)
    assert np.mean(aucs) == pytest.approx(0.7, abs=0.005)
    assert np.std(aucs) == pytest.approx(predicted, rel=0.15)
    assert 0.02 < predicted < 0.03                      # about 2.4 points of ROC-AUC
    assert metrics.auc_standard_error(0.7, 9000, 1000) == pytest.approx(predicted / 10 ** 0.5, rel=0.01)
    assert metrics.auc_standard_error(1.0, 900, 100) == 0.0


@pytest.mark.parametrize("auc, n_anomalous, n_normal, complaint", [
    (70, 900, 100, "auc must be a ROC-AUC as a fraction"), (0.7, 0, 100, "n_anomalous must be an integer >= 1"),
    (0.7, 900, 10.5, "n_normal must be an integer >= 1")])
def test_auc_standard_error_rejects_bad_input(auc, n_anomalous, n_normal, complaint):
    with pytest.raises(ValueError, match=complaint):
        metrics.auc_standard_error(auc, n_anomalous, n_normal)


def test_random_pairs_never_exceed_the_spectral_norm_and_approach_it_in_low_dimension():
    matrix, norm = linear_map(rows=2, cols=2)
    x = np.random.default_rng(1).standard_normal((1000, 2))
    bound = metrics.lipschitz_lower_bound(lambda z: z @ matrix.T, x, pairs_per_round=50_000)
    assert bound.value <= norm * (1 + 1e-9)
    assert bound.value >= 0.999 * norm
    assert len(bound.round_maxima) == 10 and bound.pairs >= 10 * 50_000


def test_random_pairs_are_a_lower_bound_in_high_dimension():
    matrix, norm = linear_map()
    x = np.random.default_rng(1).standard_normal((2000, 50))
    bound = metrics.lipschitz_lower_bound(lambda z: z @ matrix.T, x, pairs_per_round=20_000, rounds=3)
    assert 0.3 * norm < bound.value <= norm * (1 + 1e-9)


def test_block_search_finds_the_exact_best_pair_of_a_small_set():
    rng = np.random.default_rng(2)
    x, f = rng.standard_normal((12, 5)), lambda z: np.tanh(3 * z)
    fx = f(x)
    brute = max(np.linalg.norm(fx[i] - fx[j]) / np.linalg.norm(x[i] - x[j])
                for i, j in itertools.combinations(range(12), 2))
    bound = metrics.lipschitz_lower_bound(f, x, pairs_per_round=36, rounds=200)
    assert bound.value == pytest.approx(brute, rel=1e-9)


def test_pair_budget_is_deterministic_for_a_seed():
    matrix, _ = linear_map()
    x = np.random.default_rng(1).standard_normal((500, 50))
    first = metrics.lipschitz_lower_bound(lambda z: z @ matrix.T, x, pairs_per_round=5000, seed=3)
    again = metrics.lipschitz_lower_bound(lambda z: z @ matrix.T, x, pairs_per_round=5000, seed=3)
    assert first.round_maxima == again.round_maxima


def test_time_budget_runs_each_round_for_its_seconds():
    x = np.random.default_rng(1).standard_normal((400, 10))
    bound = metrics.lipschitz_lower_bound(lambda z: 2 * z, x, seconds_per_round=0.05, rounds=3)
    assert bound.value == pytest.approx(2.0)
    assert bound.seconds >= 0.15 and bound.pairs > 3


def test_sigma_distance():
    assert metrics.sigma_distance([1, 1, 1]) == 0.0
    maxima = [1.0, 1.0, 1.0, 2.0]
    assert metrics.sigma_distance(maxima) == pytest.approx((2 - 1.25) / np.std(maxima))


@pytest.mark.parametrize("kwargs, complaint", [
    (dict(), "exactly one budget"),
    (dict(pairs_per_round=10, seconds_per_round=1.0), "exactly one budget"),
    (dict(pairs_per_round=10, rounds=0), "rounds"),
])
def test_lower_bound_bad_budget(kwargs, complaint):
    with pytest.raises(ValueError, match=complaint):
        metrics.lipschitz_lower_bound(lambda z: z, np.zeros((5, 2)), **kwargs)


def test_lower_bound_needs_two_inputs():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.lipschitz_lower_bound(lambda z: z, np.zeros((1, 2)), pairs_per_round=4)


def test_naive_loop_agrees_with_vectorised_bound_on_a_scaling():
    x = np.random.default_rng(0).standard_normal((50, 4))
    assert metrics.naive_lipschitz_lower_bound(lambda z: 3 * z, x, pairs=20) == pytest.approx(3.0)


def keras_linear(matrix):
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Dense(matrix.shape[0], use_bias=False)])
    model.build((None, matrix.shape[1]))
    model.layers[0].set_weights([matrix.T.astype(np.float32)])
    return model


def test_gradient_ascent_reaches_the_spectral_norm_from_below():
    matrix, norm = linear_map()
    x = np.random.default_rng(1).standard_normal((200, 50)).astype(np.float32)
    found = metrics.lipschitz_gradient_ascent(keras_linear(matrix), x, steps=200, learning_rate=0.05)
    random_pairs = metrics.lipschitz_lower_bound(lambda z: z @ matrix.T, x, pairs_per_round=10_000)
    assert found.value <= norm * (1 + 1e-3)
    assert found.value >= 0.99 * norm > random_pairs.value
    assert found.history[-1] >= found.history[0]


def test_gradient_ascent_respects_the_domain():
    x = np.random.default_rng(1).random((50, 3)).astype(np.float32)
    found = metrics.lipschitz_gradient_ascent(keras_linear(np.eye(3)), x, steps=20, domain=(0.0, 1.0))
    assert found.value == pytest.approx(1.0, rel=1e-4)


def test_selection_score_is_eq_5_2():
    best, scores = metrics.selection_score({1: 0.90, 2: 0.95, 5: 0.96}, {1: 0.1, 2: 0.2, 5: 0.8})
    assert scores[5] == pytest.approx(0.96 - 0.8 / 0.8 / 20)
    assert scores[2] == pytest.approx(0.95 - 0.2 / 0.8 / 20)
    assert best == 2


def test_selection_score_on_the_thesis_mnist_dcae_numbers_does_not_give_its_choice():
    """The thesis chose K = 2 for the MNIST DCAE, but its own eq. 5.2 on its table 5.1 picks K = 50."""
    ks = (0.5, 1, 2, 5, 10, 50, 100)
    aucs = dict(zip(ks, (0.807, 0.839, 0.909, 0.925, 0.849, 0.987, 0.989)))
    bounds = dict(zip(ks, (0.032, 0.066, 0.128, 0.309, 0.536, 1.127, 1.228)))
    assert metrics.selection_score(aucs, bounds)[0] == 50


def test_selection_score_bad_input():
    with pytest.raises(ValueError, match="share no"):
        metrics.selection_score({1: 0.9}, {2: 0.1})
    with pytest.raises(ValueError, match="zero"):
        metrics.selection_score({1: 0.9}, {1: 0.0})


def exact_jacobian_norm(layer, shape):
    """Largest singular value of a layer's linear part from its full Jacobian (small layers only)."""
    import tensorflow as tf
    v = tf.zeros((1,) + shape)
    with tf.GradientTape() as tape:
        tape.watch(v)
        out = layer(v, training=False)
    jacobian = tape.jacobian(out, v).numpy().reshape(int(np.prod(out.shape)), int(np.prod(shape)))
    return float(np.linalg.svd(jacobian, compute_uv=False)[0])


def test_upper_bound_of_a_dense_layer_is_its_spectral_norm():
    matrix, norm = linear_map()
    assert metrics.lipschitz_upper_bound(keras_linear(matrix)).value == pytest.approx(norm, rel=1e-5)


@pytest.mark.parametrize("kind, strides", [("Conv2D", 1), ("Conv2D", 2), ("Conv2DTranspose", 2)])
def test_upper_bound_of_a_convolution_matches_its_jacobian(kind, strides):
    import tensorflow as tf
    tf.keras.utils.set_random_seed(0)
    layer = getattr(tf.keras.layers, kind)(4, 3, strides=strides, padding="same")
    model = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), layer])
    expected = exact_jacobian_norm(layer, (6, 6, 2))
    assert metrics.lipschitz_upper_bound(model).value == pytest.approx(expected, rel=1e-4)


def test_upper_bound_multiplies_layers_and_counts_activation_slopes():
    import tensorflow as tf
    matrix, norm = linear_map()
    model = tf.keras.Sequential([tf.keras.Input((50,)), tf.keras.layers.Dense(20, use_bias=False),
                                 tf.keras.layers.LeakyReLU(0.1), tf.keras.layers.Activation("sigmoid"),
                                 tf.keras.layers.Reshape((4, 5, 1)), tf.keras.layers.MaxPooling2D(2)])
    model.layers[0].set_weights([matrix.T.astype(np.float32)])
    bound = metrics.lipschitz_upper_bound(model)
    assert bound.value == pytest.approx(norm * 0.25, rel=1e-5)
    assert [kind for _, kind, _ in bound.layers] == ["Dense", "LeakyReLU", "Activation", "Reshape",
                                                    "MaxPooling2D"]
    x = np.random.default_rng(0).standard_normal((100, 50)).astype(np.float32)
    assert metrics.lipschitz_gradient_ascent(model, x, steps=50).value <= bound.value * (1 + 1e-4)


def test_upper_bound_refuses_layers_it_does_not_know():
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Softmax()])
    with pytest.raises(ValueError, match="does not know the Lipschitz constant"):
        metrics.lipschitz_upper_bound(model)


def test_gradient_ascent_stops_at_its_time_budget():
    matrix, _ = linear_map()
    x = np.random.default_rng(1).standard_normal((200, 50)).astype(np.float32)
    found = metrics.lipschitz_gradient_ascent(keras_linear(matrix), x, steps=100_000, seconds=1.0)
    assert len(found.history) < 100_000 and found.seconds < 30
    with pytest.raises(ValueError, match="seconds"):
        metrics.lipschitz_gradient_ascent(keras_linear(matrix), x, seconds=0)


def test_every_estimator_stays_below_the_upper_bound_of_a_linear_map():
    matrix, norm = linear_map()
    x = np.random.default_rng(1).standard_normal((200, 50)).astype(np.float32)
    values = metrics.compare_lipschitz_estimators(keras_linear(matrix), x, seconds=2.0, domain=(-5.0, 5.0))
    assert values["upper bound"] == pytest.approx(norm, rel=1e-5)
    lower = [values[name] for name in ("test pairs", "random images", "local perturbations", "gradient ascent")]
    assert all(0 < v <= norm * (1 + 1e-4) for v in lower), values
    assert values["gradient ascent"] > values["test pairs"]


def test_random_image_and_perturbation_bounds_are_seeded_and_stay_in_the_domain():
    calls = []

    def f(z):
        calls.append(z)
        return 2 * z
    value, pairs = metrics.random_image_lipschitz_bound(f, (3,), domain=(0.0, 1.0), seconds=0.01, seed=0)
    assert value == pytest.approx(2.0) and pairs >= 512
    assert all(0.0 <= c.min() and c.max() <= 1.0 for c in calls)
    x = np.random.default_rng(0).random((20, 3)).astype(np.float32)
    value, _ = metrics.local_perturbation_lipschitz_bound(f, x, radius=0.1, seconds=0.01, domain=(0.0, 1.0))
    assert value == pytest.approx(2.0)


def test_paired_auc_difference_is_zero_for_one_scorer_and_brackets_a_real_gain():
    from adlip.metrics import paired_auc_difference

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(60, int), np.ones(240, int)]
    weak = y * 0.5 + rng.normal(size=300)
    strong = y * 2.0 + rng.normal(size=300)
    assert paired_auc_difference(y, weak, weak, n_boot=50) == (0.0, 0.0, 0.0)
    change, low, high = paired_auc_difference(y, weak, strong, n_boot=400)
    assert change == pytest.approx(roc_auc_score(y, strong) - roc_auc_score(y, weak))
    assert 0 < low < change < high
    assert paired_auc_difference(y, weak, strong, n_boot=400) == (change, low, high)   # seeded
    reversed_change, r_low, r_high = paired_auc_difference(y, strong, weak, n_boot=400)
    assert reversed_change == -change and r_high < 0


@pytest.mark.parametrize("kwargs, message", [(dict(n_boot=5), "n_boot"), (dict(level=1.0), "level")])
def test_paired_auc_difference_rejects_bad_settings(kwargs, message):
    from adlip.metrics import paired_auc_difference

    y = np.r_[np.zeros(5, int), np.ones(5, int)]
    with pytest.raises(ValueError, match=message):
        paired_auc_difference(y, np.arange(10.0), np.arange(10.0), **kwargs)
