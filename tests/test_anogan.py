"""AnoGAN: training, the batched latent search, persistence, the Lipschitz generator, real MNIST.

Fits are tiny (one epoch on a few dozen synthetic images, a few latent steps). The contract tests
that every detector shares live in test_detectors.py; these check what is particular to AnoGAN.
"""
import json
import os

import numpy as np
import pytest

from adlip.detectors.anogan import AnoGAN, calibrate_batch_norm, feature_layers, mean_pairwise_distance
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound, roc_auc
from conftest import disks

FAST = dict(epochs_scale=1e-3, batch_size=32, latent_steps=4, search_batch_size=16, verbose=0, seed=0)


@pytest.fixture(scope="module")
def images():
    return disks(64, seed=0), disks(12, seed=1)


@pytest.fixture(scope="module")
def fitted(images):
    train, _ = images
    detector = AnoGAN(**FAST, train_score_size=40)
    assert detector.fit(train) is detector
    return detector


def test_fit_sets_history_and_training_scores_of_a_subset(fitted, images):
    _, test = images
    assert fitted.decision_scores_.shape == (40,) and fitted.labels_.shape == (40,)
    epochs = fitted.schedule_.total_epochs
    for key in ("discriminator_loss", "generator_loss", "real_probability", "fake_probability",
                "sample_diversity", "diversity_ratio"):
        assert len(fitted.history_[key]) == epochs and np.all(np.isfinite(fitted.history_[key]))
    scores = fitted.decision_function(test)
    assert scores.shape == (len(test),) and np.all(np.isfinite(scores)) and scores.std() > 0


def test_thesis_schedule_and_settings():
    assert AnoGAN().resolved_schedule().phases == ((20, 2e-4),)
    assert AnoGAN(dataset="cifar10").resolved_schedule().phases == ((50, 2e-4),)
    assert AnoGAN().resolved_schedule().batch_size == 128
    assert AnoGAN(epochs_scale=0.1).resolved_schedule().total_epochs == 2
    assert AnoGAN().latent_dim == 256
    params = AnoGAN().get_params()
    assert params["latent_steps"] == 500 and params["feature_weight"] == 0.1


def test_search_returns_latents_reconstructions_and_the_weighted_loss(fitted, images):
    _, test = images
    found = fitted.search(test)
    assert found["z"].shape == (len(test), 256)
    assert found["reconstruction"].shape == test.shape
    assert np.all(np.abs(found["reconstruction"]) <= 1)
    assert np.allclose(found["score"], 0.9 * found["residual_score"] + 0.1 * found["feature_score"])
    residual = np.abs(test - found["reconstruction"]).reshape(len(test), -1).sum(1)
    assert np.allclose(found["residual_score"], residual, rtol=1e-4)
    assert np.array_equal(found["score"], fitted.decision_function(test))


def test_search_lowers_the_loss(fitted, images):
    _, test = images
    start = fitted.search(test, steps=0)["score"]
    after = fitted.search(test, steps=30)["score"]
    assert np.mean(after) < np.mean(start)


def test_batched_search_equals_searching_one_image_at_a_time(fitted, images):
    _, test = images
    x = test[:6]
    initial = fitted.prior(len(x), seed=5)
    together = fitted.search(x, initial_latents=initial, steps=10, batch_size=len(x))
    one_by_one = fitted.search(x, initial_latents=initial, steps=10, batch_size=1)
    for key in ("score", "residual_score", "feature_score"):
        assert np.allclose(together[key], one_by_one[key], rtol=1e-4), key
    # Rounding differs between batched and single convolutions, and Adam amplifies it along flat
    # directions of the loss, so latents agree closely on average rather than exactly.
    moved = np.abs(together["z"] - initial).mean()
    assert np.abs(together["z"] - one_by_one["z"]).mean() < 0.01 * moved


def test_search_batch_size_does_not_change_the_scores(fitted, images):
    _, test = images
    assert np.allclose(fitted.search(test, batch_size=5)["score"], fitted.search(test, batch_size=12)["score"],
                       rtol=1e-4)


def test_score_batches_are_search_batches_and_join_bitwise(fitted, images):
    x = np.concatenate(images)[:50]
    parts = fitted.score_batches(x)
    assert [(start, stop) for start, stop, _ in parts] == [(0, 16), (16, 32), (32, 48), (48, 50)]
    assert np.array_equal(np.concatenate([score() for _, _, score in parts]), fitted.decision_function(x))


def test_same_seed_same_scores(fitted, images):
    train, test = images
    again = AnoGAN(**FAST, train_score_size=40).fit(train)
    assert np.array_equal(again.decision_function(test), fitted.decision_function(test))
    assert np.array_equal(again.decision_scores_, fitted.decision_scores_)


def test_save_and_load_give_identical_scores_and_samples(fitted, images, tmp_path):
    _, test = images
    fitted.save(tmp_path / "anogan")
    loaded = AnoGAN.load(tmp_path / "anogan")
    assert loaded.get_params() == fitted.get_params()
    assert np.array_equal(loaded.decision_function(test), fitted.decision_function(test))
    assert np.array_equal(loaded.sample(5, seed=2), fitted.sample(5, seed=2))
    assert loaded.collapsed_ == fitted.collapsed_ and loaded.data_diversity_ == fitted.data_diversity_


def test_samples_and_lipschitz_inputs_are_seeded(fitted, images):
    _, test = images
    assert fitted.sample(3, seed=1).shape == (3, 28, 28, 1)
    assert np.array_equal(fitted.sample(3, seed=1), fitted.sample(3, seed=1))
    assert not np.array_equal(fitted.sample(3, seed=1), fitted.sample(3, seed=2))
    latents = fitted.lipschitz_inputs(test, seed=4)
    assert latents.shape == (len(test), 256) and np.array_equal(latents, fitted.lipschitz_inputs(test, seed=4))
    assert fitted.lipschitz_network is fitted.generator_


def test_features_are_the_last_convolutional_block(fitted, images):
    layers = feature_layers(fitted.discriminator_)
    assert layers[-1].__class__.__name__ == "LeakyReLU"
    x = images[1]
    for layer in layers:
        x = layer(x, training=False)
    assert tuple(x.shape[1:]) == (4, 4, 256)


def test_batch_norm_calibration_makes_inference_match_training_mode(fitted):
    import tensorflow as tf

    generator = fitted.generator_
    weights = generator.get_weights()
    latents = fitted.prior(512, seed=9)
    try:
        calibrate_batch_norm(generator, latents)
        inference = generator(latents, training=False).numpy()
        training = generator(tf.constant(latents), training=True).numpy()
    finally:
        generator.set_weights(weights)
    assert np.abs(inference - training).max() < 1e-3


def test_mean_pairwise_distance():
    assert mean_pairwise_distance(np.zeros((5, 3, 3))) == 0.0
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert np.isclose(mean_pairwise_distance(points), (5 + 0 + 5) / 3)


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was validated")
    monkeypatch.setattr("adlip.detectors.base.seed_everything", refuse)


def _with_nan():
    x = disks(4)
    x[2, 3, 4, 0] = np.nan
    return x


@pytest.mark.parametrize("x, params, message", [
    (np.zeros((4, 32, 32, 3), np.float32), {}, "shape"),
    (np.zeros((4, 784), np.float32), {}, "shape"),
    (np.zeros((0, 28, 28, 1), np.float32), {}, "empty"),
    (_with_nan(), {}, "NaN"),
    (disks(4), dict(lipschitz=0), "lipschitz"),
    (disks(4), dict(lipschitz=-2.0), "lipschitz"),
    (disks(4), dict(latent_steps=0), "latent_steps"),
    (disks(4), dict(search_batch_size=0), "search_batch_size"),
    (disks(4), dict(train_score_size=0), "train_score_size"),
    (disks(4), dict(latent_learning_rate=0), "latent_learning_rate"),
    (disks(4), dict(feature_weight=1.5), "feature_weight"),
    (disks(4), dict(orthogonalization="qr"), "orthogonalization"),
], ids=["cifar shape", "flat", "empty", "nan", "K=0", "K<0", "steps", "search batch", "train scores",
        "search rate", "lambda", "orthogonalization"])
def test_bad_input_raises_before_training(x, params, message, no_training):
    with pytest.raises(ValueError, match=message):
        AnoGAN(**{**FAST, **params}).fit(x)


def test_bad_search_arguments(fitted, images):
    _, test = images
    with pytest.raises(ValueError, match="initial_latents"):
        fitted.search(test, initial_latents=np.zeros((len(test), 7)))
    with pytest.raises(ValueError, match="not fitted"):
        AnoGAN().search(test)
    with pytest.raises(ValueError, match="shape"):
        fitted.search(test[..., 0:1].repeat(3, axis=-1))


def check_generator_below_k(generator, detector, k):
    assert not [layer for layer in generator.layers if "batch_normalization" in layer.name]
    latents = detector.prior(256, seed=0)
    pairs = lipschitz_lower_bound(generator, latents, rounds=2, pairs_per_round=4096, seed=0)
    ascent = lipschitz_gradient_ascent(generator, latents, starts=16, steps=30, seed=0)
    assert pairs.value > 0
    assert pairs.value <= k * (1 + 1e-3) and ascent.value <= k * (1 + 1e-3)


@pytest.mark.slow
def test_bjorck_generator_is_below_k_as_built():
    """The thesis's Björck-orthonormalised generator, as AnoGAN builds it, untrained.

    Björck's iteration runs on the 8192x4096 kernel at build and again in every training step's
    forward and backward pass: minutes each on one core. Training is left out here; the shared
    contract (test_contract.py::test_every_lipschitz_network_keeps_its_constant) checks the
    spectral generator's constant after training through the same builder, and the DCAEs' tests do
    so for Björck layers (their default).
    """
    k = 2.0
    detector = AnoGAN(**FAST, lipschitz=k, orthogonalization="bjorck")
    generator = detector._build("generator", seed=0)
    dense = [layer for layer in generator.layers if hasattr(layer, "eps_bjorck")]
    assert dense and all(layer.eps_bjorck is not None for layer in dense)  # Björck, not spectral only
    check_generator_below_k(generator, detector, k)


def _have_mnist() -> bool:
    folder = os.environ.get("ADLIP_DATA_DIR")
    return bool(folder) and os.path.isfile(os.path.join(folder, "mnist.npz"))


@pytest.mark.slow
@pytest.mark.skipif(not _have_mnist(), reason="needs mnist.npz in $ADLIP_DATA_DIR (offline copy of MNIST)")
def test_standard_anogan_separates_real_mnist_ones_from_the_rest():
    from adlip.data import one_vs_rest

    split = one_vs_rest("mnist", 1, scaling="tanh", train_size=2000, test_size=200, seed=0)
    detector = AnoGAN(epochs_scale=0.1, latent_steps=50, train_score_size=100, verbose=0).fit(split.x_train)
    assert roc_auc(split.y_test, detector.decision_function(split.x_test)) > AUC_FLOOR


# Two epochs on 2000 images, 50 search steps: measured 0.74 here (both the alternating and the
# simultaneous GAN update); clearly above chance, with margin for thread-order differences.
AUC_FLOOR = 0.65


class StopTraining(Exception):
    pass


@pytest.mark.parametrize("lipschitz", [None, 1.0])
def test_training_stopped_midway_resumes_to_the_same_networks(lipschitz, images, tmp_path, monkeypatch):
    from adlip.detectors import checkpoints

    train, test = images
    params = dict(FAST, epochs_scale=1.0, schedule=dict(phases=[[2, 2e-4]], batch_size=32), train_score_size=8,
                  lipschitz=lipschitz, orthogonalization="spectral")
    uninterrupted = AnoGAN(**params).fit(train)
    monkeypatch.setattr(checkpoints, "SAVE_EVERY_SECONDS", 0.0)   # save after every epoch
    first = AnoGAN(**params)
    first.checkpoint_dir = tmp_path / "training"
    first.epoch_monitor = lambda generator, epoch: (_ for _ in ()).throw(StopTraining()) if epoch == 1 else {}
    with pytest.raises(StopTraining):
        first.fit(train)
    assert json.loads((tmp_path / "training" / "training.json").read_text())["epoch"] == 1
    resumed = AnoGAN(**params)
    resumed.checkpoint_dir = tmp_path / "training"
    resumed.fit(train)
    for name in ("generator_", "discriminator_"):
        for a, b in zip(getattr(resumed, name).weights, getattr(uninterrupted, name).weights):
            assert np.array_equal(a.numpy(), b.numpy()), a.name
    untimed = [{k: v for k, v in d.history_.items() if k != "seconds"} for d in (resumed, uninterrupted)]
    assert untimed[0] == untimed[1]
    assert np.array_equal(resumed.decision_function(test), uninterrupted.decision_function(test))
    assert not (tmp_path / "training").exists(), "the training state outlives the fit"


def test_a_training_state_of_other_images_is_not_resumed(images, tmp_path, monkeypatch):
    from adlip.detectors import checkpoints

    train, _ = images
    params = dict(FAST, epochs_scale=1.0, schedule=dict(phases=[[2, 2e-4]], batch_size=32), train_score_size=8)
    monkeypatch.setattr(checkpoints, "SAVE_EVERY_SECONDS", 0.0)
    first = AnoGAN(**params)
    first.checkpoint_dir = tmp_path / "training"
    first.epoch_monitor = lambda generator, epoch: (_ for _ in ()).throw(StopTraining()) if epoch == 1 else {}
    with pytest.raises(StopTraining):
        first.fit(train)
    assert (tmp_path / "training" / "training.json").is_file()
    other = AnoGAN(**params)
    other.checkpoint_dir = tmp_path / "training"
    other.fit(train[::-1].copy())
    assert len(other.history_["loss"]) == 2
    plain = AnoGAN(**params).fit(train[::-1].copy())
    assert np.array_equal(other.generator_.weights[0].numpy(), plain.generator_.weights[0].numpy())


def test_checkpoint_dir_must_be_a_path(images):
    detector = AnoGAN(**FAST)
    detector.checkpoint_dir = 3
    with pytest.raises(ValueError, match="checkpoint_dir"):
        detector.fit(images[0])
