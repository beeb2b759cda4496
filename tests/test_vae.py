"""The Lipschitz VAE (adlip.detectors.vae), its three scores, the OOD metrics, reference data and studies."""
import math
import os

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import average_precision_score, roc_auc_score

import adlip  # noqa: F401  (before TensorFlow)
from adlip.data import DEBIAN_FASHION_MNIST
from adlip import data, metrics
from adlip.detectors.vae import SCORES, LipschitzVAE, eq7_lipschitz
from adlip.reference import vae as vae_paper
from adlip.studies import vae
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound

TINY = dict(schedule={"phases": [[1, 1e-3]], "batch_size": 32, "weight_decay": 0.0}, n_posterior_samples=8,
            n_importance_estimates=4, verbose=0)


def blobs(n=64, seed=0):
    """Images in [0, 1]: a bright square at one of two places, plus a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.05, (n, 28, 28, 1)).astype(np.float32)
    for i in range(n):
        row = 4 if i % 2 else 16
        x[i, row:row + 8, 8:16] = rng.uniform(0.8, 1.0, (8, 8, 1))
    return x


@pytest.fixture(scope="module")
def fitted():
    return LipschitzVAE(lipschitz=2.0, seed=3, **TINY).fit(blobs())


# --- parameters and bad input -------------------------------------------------------------

def test_eq7_gives_the_papers_constants():
    assert eq7_lipschitz(10) == 5          # the paper: M = 5 for MNIST / Fashion-MNIST (m = 10)
    assert eq7_lipschitz(70) == 10         # and M = 10 for CIFAR-10 (m = 70)
    assert eq7_lipschitz(1) == 3 and eq7_lipschitz(4) == 4
    assert LipschitzVAE(latent_dim=10).lipschitz_constant == 5.0
    assert LipschitzVAE(lipschitz=1).lipschitz_constant == 1.0
    assert LipschitzVAE(lipschitz=None).lipschitz_constant is None


@pytest.mark.parametrize("params, complaint", [
    (dict(lipschitz="big"), "lipschitz must be 'auto'"),
    (dict(lipschitz=-1.0), "lipschitz must be None"),
    (dict(latent_dim=0), "latent_dim"),
    (dict(score="elbo"), "score must be one of"),
    (dict(decoder_lipschitz=0), "decoder_lipschitz"),
    (dict(orthogonalization="qr"), "orthogonalization"),
    (dict(n_posterior_samples=1), "n_posterior_samples"),
    (dict(n_posterior_samples=10, n_importance_estimates=4), "multiple of n_importance_estimates"),
    (dict(dataset="svhn"), "unknown dataset"),
    (dict(epochs_scale=0), "epochs_scale"),
])
def test_bad_parameters_fail_before_training(params, complaint):
    with pytest.raises(ValueError, match=complaint):
        LipschitzVAE(**{**TINY, **params}).fit(blobs(4))


@pytest.mark.parametrize("x, complaint", [
    (np.zeros((4, 32, 32, 3), np.float32), "shape"),
    (np.full((4, 28, 28, 1), 255.0, np.float32), r"\[0, 1\]"),
    (np.full((4, 28, 28, 1), np.nan, np.float32), "NaN"),
    (np.zeros((0, 28, 28, 1), np.float32), "empty"),
])
def test_bad_images_fail_clearly(x, complaint):
    with pytest.raises(ValueError, match=complaint):
        LipschitzVAE(**TINY).fit(x)


def test_scoring_before_fit_fails():
    with pytest.raises(ValueError, match="not fitted"):
        LipschitzVAE().decision_function(blobs(2))


def test_params_round_trip_through_clone():
    detector = LipschitzVAE(lipschitz="auto", latent_dim=6, score="importance", decoder_lipschitz=3.0)
    assert clone(detector).get_params() == detector.get_params()


# --- the fitted detector -------------------------------------------------------------------

def test_shapes_and_all_scores(fitted):
    x = blobs(10, seed=1)
    scores = fitted.all_scores(x)
    assert set(scores) == set(SCORES)
    for value in scores.values():
        assert value.shape == (10,) and np.isfinite(value).all() and value.std() > 0
    assert np.array_equal(fitted.decision_function(x), scores["hole"])
    assert (scores["hole"] > 0).all() and (scores["importance"] > 0).all()
    mean, log_variance = fitted.encode(x)
    assert mean.shape == log_variance.shape == (10, 10)
    assert fitted.decode(mean).shape == (10, 28, 28, 1)
    assert set(np.unique(fitted.predict(x))) <= {0, 1}
    assert fitted.decision_scores_.shape == (64,) and set(fitted.history_) >= {"loss", "reconstruction", "kl"}


def test_decode_rejects_wrong_codes(fitted):
    with pytest.raises(ValueError, match="n_codes, 10"):
        fitted.decode(np.zeros((3, 4)))


def test_scores_are_the_documented_statistics_of_the_posterior_samples(fitted):
    x = blobs(6, seed=2)
    log_likelihood, log_weights = fitted._sample_log_weights(x, batch_index=0)
    assert log_likelihood.shape == log_weights.shape == (8, 6)
    scores = fitted.all_scores(x)
    np.testing.assert_allclose(scores["hole"], log_likelihood.std(axis=0, ddof=1))
    log_px = -scores["log_likelihood"]
    assert np.all(log_px >= log_weights.mean(axis=0))   # Jensen: the importance estimate tops the ELBO
    assert np.all(log_px < 0)                             # Bernoulli pixels: p(x) < 1
    halves = [np.logaddexp.reduce(g, axis=0) - np.log(2) for g in log_weights.reshape(4, 2, 6)]
    np.testing.assert_allclose(scores["importance"], np.std(halves, axis=0, ddof=1))


def test_more_samples_estimate_the_same_marginal_likelihood(fitted):
    x = blobs(6, seed=2)
    many = clone(fitted).set_params(n_posterior_samples=400, n_importance_estimates=4)
    for key in ("encoder_", "decoder_", "threshold_"):
        setattr(many, key, getattr(fitted, key))
    log_px, log_px_few = -many.all_scores(x)["log_likelihood"], -fitted.all_scores(x)["log_likelihood"]
    np.testing.assert_allclose(log_px, log_px_few, rtol=0.05)


def test_same_seed_same_scores_and_different_seed_differs(fitted):
    x = blobs(8, seed=1)
    again = LipschitzVAE(lipschitz=2.0, seed=3, **TINY).fit(blobs())
    other = LipschitzVAE(lipschitz=2.0, seed=4, **TINY).fit(blobs())
    first, second, third = fitted.all_scores(x), again.all_scores(x), other.all_scores(x)
    for key in SCORES:
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.allclose(first["hole"], third["hole"])


def test_save_and_load_give_identical_scores(fitted, tmp_path):
    x = blobs(8, seed=4)
    fitted.save(tmp_path / "vae")
    loaded = LipschitzVAE.load(tmp_path / "vae")
    assert loaded.get_params() == fitted.get_params()
    for key, value in fitted.all_scores(x).items():
        np.testing.assert_array_equal(loaded.all_scores(x)[key], value)
    assert loaded.threshold_ == fitted.threshold_


@pytest.mark.parametrize("lipschitz, decoder_lipschitz", [(2.0, None), ("auto", 3.0), (None, None)])
def test_encoder_and_decoder_respect_their_constants(lipschitz, decoder_lipschitz):
    detector = LipschitzVAE(lipschitz=lipschitz, decoder_lipschitz=decoder_lipschitz, latent_dim=4, **TINY)
    x = blobs(48)
    detector.fit(x)
    inputs = detector.lipschitz_inputs(x)
    ascent = lipschitz_gradient_ascent(detector.lipschitz_network, inputs, starts=16, steps=30, learning_rate=0.05)
    m = detector.lipschitz_constant
    if m is None:   # a vanilla VAE's encoder has no bound; after one epoch its slope already exceeds 1
        assert ascent.value > 1.0
        return
    pairs = lipschitz_lower_bound(detector.lipschitz_network, inputs, rounds=2, pairs_per_round=2000)
    assert pairs.value <= m * (1 + 1e-3) and ascent.value <= m * (1 + 1e-3)
    assert ascent.value > 0.05 * m          # the bound is not vacuous: the encoder is not collapsed
    if decoder_lipschitz is not None:
        codes = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
        decoder_ascent = lipschitz_gradient_ascent(detector.decoder_, codes, starts=16, steps=30, learning_rate=0.05)
        assert decoder_ascent.value <= decoder_lipschitz * (1 + 1e-3)


# --- metrics and reference data --------------------------------------------------------------

def test_metrics_agree_with_sklearn_and_hand_computed_fpr():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = rng.standard_normal(400) + 1.5 * y
    assert metrics.auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert metrics.auprc(y, s) == pytest.approx(average_precision_score(y, s))
    threshold = np.sort(s[y == 1])[::-1][math.ceil(0.8 * (y == 1).sum()) - 1]
    assert metrics.fpr_at_tpr(y, s) == pytest.approx(np.mean(s[y == 0] >= threshold))
    assert metrics.ood_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == {"auroc": 1.0, "auprc": 1.0, "fpr80": 0.0}
    assert metrics.fpr_at_tpr([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0
    with pytest.raises(ValueError, match="tpr"):
        metrics.fpr_at_tpr([0, 1], [0.0, 1.0], tpr=0)
    with pytest.raises(ValueError, match="both"):
        metrics.auprc([1, 1], [0.0, 1.0])


def test_reference_table_is_complete_and_labelled():
    assert "Table 2" in vae_paper.PAPER_TABLE2["source"]
    for cells in vae_paper.PAPER_TABLE2["rows"].values():
        assert set(cells) == {"mnist_vs_fashion_mnist", "fashion_mnist_vs_mnist", "cifar10_vs_svhn"}
        for auroc, auprc, fpr in cells.values():
            assert 0 <= fpr <= 100 and 50 <= auroc <= 100 and 50 <= auprc <= 100
    assert vae_paper.PAPER_TABLE2["rows"][("Lipschitz VAE", "hole indicator")]["fashion_mnist_vs_mnist"][0] == 99.69
    assert set(vae_paper.PAPER_ROW_OF.values()) == set(vae_paper.PAPER_TABLE2["rows"])


def test_budgets_and_forged_images():
    smoke, quick = vae.VAEBudget.resolve("smoke"), vae.VAEBudget.resolve("quick")
    assert smoke.n_train < quick.n_train and smoke.epochs <= quick.epochs
    assert "epochs" in quick.caption() and "quick" in quick.caption()
    with pytest.raises(ValueError, match="unknown profile"):
        vae.VAEBudget.resolve("huge")
    dark, bright = data.forged_images("dark", 5), data.forged_images("bright", 5)
    assert dark.shape == (5, 28, 28, 1) and dark.max() <= 0.1 and bright.min() >= 0.9
    with pytest.raises(ValueError, match="forged"):
        data.forged_images("grey", 5)
    assert vae.describe_pair("fashion_mnist_vs_mnist") == "Fashion-MNIST vs. MNIST"


# --- real data ------------------------------------------------------------------------------

def _have_mnist():
    folder = os.environ.get("ADLIP_DATA_DIR")
    return bool(folder) and os.path.isfile(os.path.join(folder, "mnist.npz"))


@pytest.mark.slow
@pytest.mark.skipif(not _have_mnist(), reason="MNIST not found: set ADLIP_DATA_DIR to a folder with mnist.npz")
@pytest.mark.skipif(not (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file()
                    and not os.path.isfile(os.path.join(os.environ.get("ADLIP_DATA_DIR") or "", "fashion_mnist.npz")),
                    reason="Fashion-MNIST not found: apt-get install -y dataset-fashion-mnist (Debian) or put "
                           "fashion_mnist.npz in ADLIP_DATA_DIR")
def test_mnist_against_fashion_mnist_on_a_small_budget():
    budget = vae.VAEBudget(profile="test", n_train=1000, n_test=200, epochs_scale=0.06, n_posterior_samples=16,
                           n_importance_estimates=4, decoder_constants=(1.0,), classes=(0,))
    result = vae.run_ood("mnist", "fashion_mnist", lipschitz="auto", budget=budget)
    metrics = result["metrics"]
    # MNIST is the easy direction (the paper: 99.99 for the likelihood); a few epochs already separate it.
    assert metrics["log_likelihood"]["auroc"] > 0.9
    assert max(m["auroc"] for m in metrics.values()) > 0.9
    rows = vae.comparison_rows({("lipschitz", "mnist_vs_fashion_mnist"): result})
    hole = next(row for row in rows if row["score"] == "hole indicator")
    assert hole["auroc (paper)"] == 99.87 and hole["auroc (ours)"] == pytest.approx(100 * metrics["hole"]["auroc"])
