"""The shared contract, checked for every algorithm in the registry (thesis, baselines, companions).

In the spirit of scikit-learn's ``parametrize_with_checks``: whatever a detector computes, it
keeps the estimator contract that the sweeps, the tables and a user's own code rely on:

* ``__init__`` only stores its arguments (``get_params`` gives them back, no fitted attribute);
* ``clone`` keeps the parameters and drops the fitted state;
* ``fit`` returns the detector itself and sets the PyOD attributes;
* scores are finite, one per image, not constant, and ``predict`` thresholds them;
* the same seed gives the same scores;
* a detector saved and loaded scores identically (deep or baseline);
* ``score_batches`` cover the images in order and join to bitwise ``decision_function``'s scores;
* bad input (NaN pixels, the wrong image shape) is refused with a ValueError before any training;
* every Lipschitz network keeps its constant: two measured lower bounds stay below K.

A new algorithm is covered by adding its fast parameters to ``FAST`` (a test fails until it is).
"""
import numpy as np
import pytest
from sklearn.base import clone

from adlip import robustness
from adlip.detectors import ALGORITHMS, BaseDetector, Detector, load, make_detector
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound

from conftest import FAST_PARAMS, blobs

TINY_SCHEDULE = dict(phases=[[1, 1e-3]], batch_size=32, weight_decay=0.0)
# Per registered algorithm: parameters that make a fit take about a second.
FAST = {
    **{name: dict(params, verbose=0) for name, params in FAST_PARAMS.items()},
    "iforest": dict(n_estimators=10),
    "ocsvm": dict(),
    "kde": dict(max_train=64),
    "hkr": dict(architecture="dense", width=8, activation="groupsort2", newton_steps=3, warmup_epochs=1,
                schedule=dict(phases=[[2, 1e-2]], batch_size=16), verbose=0),
    "vae": dict(schedule=TINY_SCHEDULE, n_posterior_samples=8, n_importance_estimates=4, verbose=0),
    "realnvp": dict(n_components=8, n_couplings=2, hidden=8, depth=2, schedule=TINY_SCHEDULE, verbose=0),
    "regsvdd": dict(regularizer="noise", n_random_labels=4, schedule=TINY_SCHEDULE, verbose=0),
}
# The constant each Lipschitz-capable algorithm is tested at (its fixed one if it has one).
LIPSCHITZ_K = {name: (a.lipschitz if isinstance(a.lipschitz, float) else 2.0)
               for name, a in ALGORITHMS.items() if a.lipschitz != "none"}
NAMES = sorted(ALGORITHMS)
SHAPE = (28, 28, 1)


def images(scaling: str, n: int, seed: int) -> np.ndarray:
    """Smooth blobs in the pixel range the algorithm's scaling produces."""
    x = blobs(n, SHAPE, seed=seed)
    return 2.0 * x - 1.0 if scaling == "tanh" else x


def build(name: str, lipschitz="default", seed: int = 0):
    params = dict(FAST[name], dataset="mnist", seed=seed)
    if lipschitz != "default":
        params["lipschitz"] = lipschitz
    elif isinstance(ALGORITHMS[name].lipschitz, float):
        params["lipschitz"] = ALGORITHMS[name].lipschitz
    elif name in ("vae", "realnvp"):   # their defaults are Lipschitz; the contract tests the standard model
        params["lipschitz"] = None
    return make_detector(name, **params)


class Fits:
    """Detectors fitted on 96 blobs, each once per module: ``fits(name)`` at the default constant,
    ``fits(name, k)`` at constant ``k``; ``fits.returned[key]`` is what ``fit`` returned."""

    def __init__(self):
        self.detectors, self.returned = {}, {}

    def __call__(self, name, lipschitz="default"):
        key = (name, lipschitz)
        if key not in self.detectors:
            detector = build(name, lipschitz)
            self.returned[key] = detector.fit(images(ALGORITHMS[name].scaling, 96, 0))
            self.detectors[key] = detector
        return self.detectors[key]


@pytest.fixture(scope="module")
def fits():
    return Fits()


@pytest.fixture(scope="module")
def fitted(fits):
    """name -> (detector fitted on 96 blobs, 32 test images); each fitted once per module."""
    return lambda name: (fits(name), images(ALGORITHMS[name].scaling, 32, 2))


def test_every_registered_algorithm_has_fast_parameters():
    assert sorted(FAST) == NAMES, "add the new algorithm's fast parameters to FAST in tests/test_contract.py"


@pytest.mark.parametrize("name", NAMES)
def test_every_detector_keeps_the_thin_contract(name):
    assert issubclass(ALGORITHMS[name].detector_class, Detector)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [dict(contamination=0.0), dict(contamination=True), dict(seed=-1), dict(seed=1.5)])
def test_bad_parameters_are_refused_before_training(name, bad, monkeypatch):
    detector = make_detector(name, **dict(FAST[name], dataset="mnist", **bad))
    monkeypatch.setattr(type(detector), "_train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError, match=next(iter(bad))):
        detector.fit(images(ALGORITHMS[name].scaling, 16, 0))


@pytest.mark.parametrize("name", NAMES)
def test_init_only_stores_its_arguments(name):
    params = dict(FAST[name], dataset="mnist", seed=3)
    detector = make_detector(name, **params)
    stored = detector.get_params()
    assert all(stored[key] == value for key, value in params.items())
    fitted_attributes = [a for a in vars(detector) if a.endswith("_") and not a.startswith("_")]
    assert not fitted_attributes, f"__init__ set fitted attributes {fitted_attributes}"


@pytest.mark.parametrize("name", NAMES)
def test_clone_keeps_parameters_and_drops_the_fitted_state(name, fitted):
    detector, _ = fitted(name)
    copy = clone(detector)
    assert copy.get_params() == detector.get_params()
    assert not hasattr(copy, "threshold_") and not hasattr(copy, "decision_scores_")


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_scores_keep_the_contract(name, fitted, fits):
    detector, x_test = fitted(name)
    assert fits.returned[(name, "default")] is detector
    assert detector.decision_scores_.shape == (96,) and np.isfinite(detector.threshold_)
    scores = detector.decision_function(x_test)
    assert scores.shape == (32,) and np.isfinite(scores).all()
    assert np.ptp(scores) > 0, "scores are constant"
    labels = detector.predict(x_test)
    assert set(np.unique(labels)) <= {0, 1}
    assert np.array_equal(labels, (scores > detector.threshold_).astype(int))


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_scores(name, fitted):
    detector, x_test = fitted(name)
    again = build(name).fit(images(ALGORITHMS[name].scaling, 96, 0))
    assert np.array_equal(again.decision_function(x_test), detector.decision_function(x_test))


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_and_loaded_detector_scores_identically(name, fitted, tmp_path):
    detector, x_test = fitted(name)
    loaded = load(detector.save(tmp_path / name))
    assert type(loaded) is type(detector) and loaded.get_params() == detector.get_params()
    assert np.array_equal(loaded.decision_function(x_test), detector.decision_function(x_test))


@pytest.mark.parametrize("name", NAMES)
def test_score_batches_join_to_the_decision_function(name, fitted):
    detector, x_test = fitted(name)
    parts = detector.score_batches(x_test)
    assert [start for start, _, _ in parts] == [0] + [stop for _, stop, _ in parts[:-1]]
    assert parts[-1][1] == len(x_test)
    joined = np.concatenate([score() for _, _, score in parts])
    assert np.array_equal(joined, detector.decision_function(x_test))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["nan", "shape"])
def test_bad_input_is_refused_before_training(name, bad, monkeypatch):
    x = images(ALGORITHMS[name].scaling, 16, 0)
    if bad == "nan":
        x[3, 5, 5, 0] = np.nan
    else:
        x = np.zeros((16, 32, 32, 3), np.float32)
    detector = build(name)
    monkeypatch.setattr(type(detector), "_train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError):
        detector.fit(x)


@pytest.mark.parametrize("name", sorted(LIPSCHITZ_K))
def test_every_lipschitz_network_keeps_its_constant(name, fits):
    k = LIPSCHITZ_K[name]
    scaling = ALGORITHMS[name].scaling
    detector = fits(name, k)
    network = detector.lipschitz_network
    inputs = detector.lipschitz_inputs(images(scaling, 32, 2), seed=0)
    pairs = lipschitz_lower_bound(network, inputs, rounds=2, pairs_per_round=500, seed=0).value
    ascent = lipschitz_gradient_ascent(network, inputs, starts=4, steps=20, seed=0).value
    assert 0 < pairs <= k * 1.001 and 0 < ascent <= k * 1.001, (pairs, ascent, k)


def _closed_form(detector) -> bool:
    try:
        detector.score_tensor(np.zeros((1,) + SHAPE, np.float32))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", [n for n in NAMES if issubclass(ALGORITHMS[n].detector_class, BaseDetector)])
def test_score_tensor_is_the_decision_function_or_says_why_not(name, fitted):
    detector, x_test = fitted(name)
    if not _closed_form(detector):
        with pytest.raises(ValueError, match="score"):
            detector.score_tensor(x_test)
        return
    tensor = detector.score_tensor(x_test).numpy()
    np.testing.assert_allclose(tensor, detector.decision_function(x_test), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(n for n in LIPSCHITZ_K if issubclass(ALGORITHMS[n].detector_class, BaseDetector)))
def test_a_claimed_score_constant_holds_where_measured(name, fits):
    """Where a detector claims a constant for its certified score, no measured pair exceeds it."""
    scaling = ALGORITHMS[name].scaling
    detector = fits(name, LIPSCHITZ_K[name])
    constant = detector.score_lipschitz_constant()
    if constant is None:
        assert detector.no_certificate_reason()
        return
    assert detector.no_certificate_reason() is None

    score = robustness.score_function(detector, certified=True)
    x = images(scaling, 32, 2)
    pairs = lipschitz_lower_bound(lambda batch: score(batch).numpy(), x, rounds=2, pairs_per_round=500).value
    ascent = lipschitz_gradient_ascent(score, x, starts=4, steps=20, seed=0).value
    assert pairs <= constant and ascent <= constant, (pairs, ascent, constant)
