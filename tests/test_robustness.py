"""Attacks and certificates on anomaly scores (adlip.robustness).

The detectors are fitted for one or two epochs on the synthetic blobs of ``conftest``: the tests
check what the attacks and certificates guarantee (directions, budgets, domains, never beating a
certificate, constants above measured slopes), not the detectors' skill.
"""
import adlip  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

import numpy as np
import pytest
from conftest import blobs

from adlip import robustness
from adlip.data import INPUT_SHAPES
from adlip.detectors import DCAE, AnoGAN, DeepSVDD, OneClassHKR
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound, roc_auc

SHAPE = INPUT_SHAPES["mnist"]
FAST = dict(epochs_scale=1e-3, batch_size=32, verbose=0, seed=0)
K = 2.0
UNIT = (0.0, 1.0)
SYMMETRIC = (-1.0, 1.0)


@pytest.fixture(scope="module")
def images():
    """(training images, test images, labels): blobs are normal, uniform noise in [0, 1] anomalous."""
    anomalies = np.random.default_rng(5).uniform(0, 1, size=(16,) + SHAPE).astype(np.float32)
    test = np.concatenate([blobs(16, SHAPE, seed=2), anomalies])
    return blobs(96, SHAPE, seed=0), test, np.r_[np.zeros(16), np.ones(16)].astype(int)


@pytest.fixture(scope="module")
def detectors(images):
    """Fitted detectors by name: a standard DCAE, and Lipschitz DCAE, Deep SVDD (both objectives), HKR."""
    train = images[0]
    return {
        "dcae-std": DCAE(**FAST).fit(train),
        "dcae-lip": DCAE(lipschitz=K, **FAST).fit(train),
        "svdd-oc-lip": DeepSVDD(lipschitz=K, pretrain=False, **FAST).fit(train),
        "svdd-sb-lip": DeepSVDD(lipschitz=K, pretrain=False, objective="soft-boundary", **FAST).fit(train),
        "hkr": OneClassHKR(architecture="dense", width=16, newton_steps=2, warmup_epochs=1,
                           schedule=dict(phases=[[2, 1e-3]]), batch_size=32, verbose=0, seed=0).fit(train),
    }


LIPSCHITZ = ("dcae-lip", "svdd-oc-lip", "svdd-sb-lip", "hkr")
DOMAINS = {"hkr": SYMMETRIC}


def l2_norms(delta):
    return np.sqrt((delta.reshape(len(delta), -1).astype(np.float64) ** 2).sum(axis=1))


@pytest.mark.parametrize("name", ["dcae-std", "dcae-lip", "svdd-oc-lip", "svdd-sb-lip", "hkr"])
def test_score_function_is_the_decision_function(detectors, images, name):
    detector, x = detectors[name], images[1]
    np.testing.assert_allclose(robustness.score_function(detector)(x).numpy(), detector.decision_function(x),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", robustness.NORMS)
@pytest.mark.parametrize("name", ["dcae-std", "dcae-lip", "svdd-oc-lip", "hkr"])
def test_attacks_move_scores_the_right_way_inside_the_ball_and_the_domain(detectors, images, name, norm):
    detector, x = detectors[name], images[1]
    epsilon = 0.5 if norm == "l2" else 0.05
    clean = detector.decision_function(x)
    for direction, sign in (("raise", 1.0), ("lower", -1.0)):
        # Without a random start the first iterate is the clean image, so the kept best can only be better.
        adversarial = robustness.pgd_attack(detector, x, direction, norm, epsilon, steps=8, random_start=False,
                                            domain=DOMAINS.get(name, UNIT))
        moved = sign * (detector.decision_function(adversarial) - clean)
        assert (moved >= -1e-4 * np.abs(clean).max()).all()
        assert moved.mean() > 0, f"{direction} did not move the scores"
        delta = adversarial - x
        if norm == "l2":
            assert l2_norms(delta).max() <= epsilon * (1 + 1e-5)
        else:
            assert np.abs(delta).max() <= epsilon + 1e-6
        low, high = DOMAINS.get(name, UNIT)
        assert adversarial.min() >= low and adversarial.max() <= high


@pytest.mark.parametrize("name", LIPSCHITZ)
def test_no_attack_beats_a_certificate(detectors, images, name):
    """PGD at each image's own certified radius never flips its decision; at 3x the radius it does move."""
    detector, x = detectors[name], images[1]
    certificate = robustness.certify(detector, x)
    assert certificate.lipschitz == robustness.score_lipschitz_constant(detector)
    np.testing.assert_array_equal(certificate.predictions, detector.predict(x))
    certified = certificate.radius > 0
    assert certified.sum() >= len(x) // 2
    x, radius, flagged = x[certified], certificate.radius[certified], certificate.predictions[certified] == 1
    clean = detector.decision_function(x)
    for subset, direction in ((~flagged, "raise"), (flagged, "lower")):
        if not subset.any():
            continue
        adversarial = robustness.pgd_attack(detector, x[subset], direction, "l2", radius[subset], steps=30,
                                            domain=None, seed=1)
        assert l2_norms(adversarial - x[subset]).max() <= radius[subset].max() * (1 + 1e-5)
        np.testing.assert_array_equal(detector.predict(adversarial), flagged[subset].astype(int))
        beyond = robustness.pgd_attack(detector, x[subset], direction, "l2", 3 * radius[subset], steps=30,
                                       domain=None, seed=1)
        moved = (1 if direction == "raise" else -1) * (detector.decision_function(beyond) - clean[subset])
        assert moved.mean() > 0


@pytest.mark.parametrize("name", ["dcae-lip", "svdd-oc-lip", "svdd-sb-lip"])
def test_derived_constant_is_above_the_measured_slopes(detectors, images, name):
    detector, x = detectors[name], np.concatenate([images[0][:32], images[1]])
    constant = robustness.score_lipschitz_constant(detector)
    score = robustness.score_function(detector, certified=True)
    ascent = lipschitz_gradient_ascent(score, x, starts=16, steps=40, seed=0).value
    pairs = lipschitz_lower_bound(lambda batch: score(batch).numpy(), x, rounds=2, pairs_per_round=1024).value
    assert 0 < pairs <= ascent <= constant, (pairs, ascent, constant)


def test_the_dcae_constant_is_one_plus_k_over_four_for_a_sigmoid_output(detectors):
    margin = 1 + robustness.NORMALISATION_MARGIN
    assert robustness.score_lipschitz_constant(detectors["dcae-lip"]) == pytest.approx(1 + K / 4 * margin)
    assert robustness.score_lipschitz_constant(detectors["svdd-oc-lip"]) == pytest.approx(K * margin)
    assert robustness.score_lipschitz_constant(detectors["hkr"]) == pytest.approx(margin)


def test_standard_networks_claim_no_constant(detectors, images):
    detector = detectors["dcae-std"]
    assert robustness.score_lipschitz_constant(detector) is None
    with pytest.raises(ValueError, match="standard network"):
        robustness.certify(detector, images[1])


def test_deepsvdd_certified_scores_keep_the_decisions(detectors, images):
    detector, x = detectors["svdd-sb-lip"], images[1]
    scores = detector.decision_function(x)
    transformed = robustness.certified_scores(detector, scores)
    threshold = robustness.certified_scores(detector, [detector.threshold_])[0]
    np.testing.assert_array_equal(transformed > threshold, scores > detector.threshold_)
    assert roc_auc(images[2], transformed) == pytest.approx(roc_auc(images[2], scores))


def test_certified_accuracy_and_auroc_by_hand():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.0, 0.8, 1.5, 3.0])
    # threshold 1, L = 2: normal margins 1 and 0.2 (radii 0.5, 0.1); anomaly margins 0.5, 2 (radii 0.25, 1).
    np.testing.assert_allclose(robustness.certified_radius(scores, 1.0, 2.0), [0.5, 0.1, 0.25, 1.0])
    accuracy = robustness.certified_accuracy(y, scores, 1.0, 2.0, [0.0, 0.1, 0.2, 0.3, 0.75, 1.0])
    np.testing.assert_allclose(accuracy, [1.0, 1.0, 0.75, 0.5, 0.25, 0.0])
    auroc = robustness.certified_auroc_curve(y, scores, 2.0, [0.0, 0.1, 0.5])
    np.testing.assert_allclose(auroc, [1.0, 1.0, 0.5])   # shifted: normals 1, 1.8; anomalies 0.5, 2


def test_attack_curve_at_zero_budget_is_the_clean_detector_and_worsens_with_the_budget(detectors, images):
    detector, x, y = detectors["dcae-lip"], images[1], images[2]
    curve = robustness.attack_curve(detector, x, y, [4.0, 0.0, 0.5], norm="l2", steps=10)
    assert curve.epsilons == [0.0, 0.5, 4.0]
    assert curve.auc[0] == pytest.approx(roc_auc(y, detector.decision_function(x)))
    assert curve.success_rate[0] == 0.0
    assert curve.auc[0] >= curve.auc[1] >= curve.auc[2]
    assert curve.success_rate[0] <= curve.success_rate[1] <= curve.success_rate[2]
    assert curve.success_rate[2] > 0
    assert curve.n_normal == curve.n_anomalous == 16


def test_attacks_are_deterministic(detectors, images):
    detector, x = detectors["svdd-oc-lip"], images[1][:8]
    first = robustness.pgd_attack(detector, x, "raise", "linf", 0.1, steps=5, seed=3)
    np.testing.assert_array_equal(first, robustness.pgd_attack(detector, x, "raise", "linf", 0.1, steps=5, seed=3))
    assert not np.array_equal(first, robustness.pgd_attack(detector, x, "raise", "linf", 0.1, steps=5, seed=4))


@pytest.mark.parametrize("arguments, message", [
    (dict(direction="up"), "direction"),
    (dict(norm="l1"), "norm"),
    (dict(epsilon=-0.1), "epsilon"),
    (dict(epsilon=np.ones(3)), "one finite budget"),
    (dict(steps=0), "steps"),
    (dict(step_size=0.0), "step_size"),
    (dict(domain=(0.2, 0.5)), "outside domain"),
    (dict(domain=(1.0, 0.0)), "low < high"),
])
def test_bad_attack_arguments_are_refused(detectors, images, arguments, message):
    options = dict(direction="raise", norm="l2", epsilon=0.1, steps=2)
    options.update(arguments)
    with pytest.raises(ValueError, match=message):
        robustness.pgd_attack(detectors["dcae-std"], images[1][:4], **options)


def test_bad_certificate_arguments_are_refused(detectors):
    with pytest.raises(ValueError, match="not fitted"):
        robustness.score_lipschitz_constant(DCAE())
    with pytest.raises(ValueError, match="lipschitz must be a positive"):
        robustness.certified_radius([1.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="threshold"):
        robustness.certified_radius([1.0], float("nan"), 1.0)
    with pytest.raises(ValueError, match="radii"):
        robustness.certified_accuracy([0, 1], [0.0, 1.0], 0.5, 1.0, [-1.0])
    with pytest.raises(ValueError, match="0 \\(normal\\) and 1"):
        robustness.certified_accuracy([0, 2], [0.0, 1.0], 0.5, 1.0, [0.0])
    with pytest.raises(ValueError, match="no score function"):
        robustness.score_function(object())


@pytest.mark.slow
def test_anogan_attack_moves_the_end_to_end_score(images):
    """The Danskin surrogate's attack moves the real score (a full latent search) the intended way."""
    train, test, labels = images
    detector = AnoGAN(epochs_scale=1e-3, batch_size=32, latent_steps=20, search_batch_size=64,
                      orthogonalization="spectral", verbose=0, seed=0).fit(train[:64])
    assert robustness.score_lipschitz_constant(detector) is None
    with pytest.raises(ValueError, match="latent search"):
        robustness.certify(detector, test)
    x = test[labels == 1][:8]
    clean = detector.decision_function(x)
    lowered = robustness.pgd_attack(detector, x, "lower", "linf", 0.1, steps=5, domain=SYMMETRIC)
    assert np.abs(lowered - x).max() <= 0.1 + 1e-6
    assert (detector.decision_function(lowered) - clean).mean() < 0
    raised = robustness.pgd_attack(detector, x, "raise", "l2", 2.0, steps=5, domain=SYMMETRIC)
    assert l2_norms(raised - x).max() <= 2.0 * (1 + 1e-5)
    assert (detector.decision_function(raised) - clean).mean() > 0
