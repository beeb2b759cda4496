"""f-AnoGAN: its two training phases, its score, the Lipschitz variant's certificate, its place in sweeps.

The shared contract (tests/test_contract.py, with the fast parameters of conftest.FAST_PARAMS) covers
fit/clone/save/load, seeds and bad input for the standard detector; these tests check what is
particular to f-AnoGAN. Fits are tiny: one GAN epoch and one encoder epoch on 96 synthetic images.
"""
import math

import numpy as np
import pytest

from adlip import architectures, experiments, robustness
from adlip.detectors import FAnoGAN, fanogan
from adlip.detectors.anogan import apply_layers, feature_layers
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound

from conftest import FAST_PARAMS, blobs

FAST = dict(FAST_PARAMS["fanogan"], verbose=0, seed=0)
K = 2.0
SHAPE = (28, 28, 1)


@pytest.fixture(scope="module")
def images():
    """(training blobs, test images: 24 blobs then 24 noise images), all in [-1, 1]."""
    noise = np.random.default_rng(3).uniform(-1, 1, (24,) + SHAPE).astype(np.float32)
    return 2 * blobs(96, SHAPE, seed=0) - 1, np.concatenate([2 * blobs(24, SHAPE, seed=2) - 1, noise])


@pytest.fixture(scope="module")
def standard(images):
    """The standard detector, fitted while its compiled training steps are captured (to count traces):
    the WGAN's critic and generator steps, and the encoder's step (the second one ``train_epochs`` runs)."""
    captured, loops = [], []
    make_steps, train_epochs = fanogan._make_wgan_steps, fanogan.train_epochs

    def capture_steps(*args, **kwargs):
        captured.extend(make_steps(*args, **kwargs))
        return tuple(captured)

    def capture_loop(step, *args, **kwargs):
        loops.append(step)
        return train_epochs(step, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fanogan, "_make_wgan_steps", capture_steps)
        patch.setattr(fanogan, "train_epochs", capture_loop)
        detector = FAnoGAN(**FAST).fit(images[0])
    return detector, captured + loops[1:]


@pytest.fixture(scope="module")
def lipschitz(images):
    return FAnoGAN(**FAST, lipschitz=K).fit(images[0])


# -- parameters ------------------------------------------------------------------------------------

def test_defaults_schedules_and_phase_knobs():
    default = FAnoGAN()
    assert default.get_params()["critic_steps"] == 5 and default.gradient_penalty == 10.0 and default.kappa == 1.0
    assert default.resolved_schedule().phases == ((20, 1e-4),) and default.resolved_schedule().batch_size == 64
    assert FAnoGAN(dataset="cifar10").resolved_schedule().total_epochs == 50
    assert default.resolved_encoder_schedule().total_epochs == 20
    assert default.latent_dim == architectures.LATENT_DIM
    phased = FAnoGAN(epochs_scale=0.1, encoder_epochs_scale=0.25, batch_size=16)
    assert phased.resolved_schedule().total_epochs == 2 and phased.resolved_encoder_schedule().total_epochs == 5
    assert phased.resolved_schedule().batch_size == phased.resolved_encoder_schedule().batch_size == 16
    assert FAnoGAN(epochs_scale=0.1).resolved_encoder_schedule().total_epochs == 2   # follows epochs_scale
    own = FAnoGAN(encoder_schedule=dict(phases=[[3, 1e-3]], batch_size=8)).resolved_encoder_schedule()
    assert own.phases == ((3, 1e-3),) and own.batch_size == 8


@pytest.mark.parametrize("bad", [
    dict(critic_steps=0), dict(critic_steps=1.5), dict(critic_steps=True), dict(gradient_penalty=-1.0),
    dict(gradient_penalty=float("nan")), dict(kappa=-0.5), dict(kappa="1"), dict(encoder_epochs_scale=0),
    dict(encoder_schedule=dict(phases=[[0, 1e-3]])), dict(encoder_schedule=dict(epochs=3)),
    dict(orthogonalization="qr"), dict(critic_orthogonalization="none"), dict(lipschitz=-1.0),
])
def test_bad_parameters_are_refused_before_training(bad, images, monkeypatch):
    detector = FAnoGAN(**dict(FAST, **bad))
    monkeypatch.setattr(FAnoGAN, "_train", lambda *a, **k: pytest.fail("training started"))
    name = next(iter(bad))
    with pytest.raises(ValueError, match="schedule|phases|fields" if name == "encoder_schedule" else name):
        detector.fit(images[0])


# -- the networks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
@pytest.mark.parametrize("lipschitz", [False, True])
def test_critic_and_encoder_are_the_discriminator_without_batch_norm_and_sigmoid(dataset, lipschitz):
    def rows(family):
        return [(r.kind, r.size, r.kernel, r.stride, r.output_shape)
                for r in architectures.get_architecture(family, dataset, lipschitz).layers]

    discriminator = [row for row in rows("discriminator") if row[0] not in ("BatchNorm", "Sigmoid")]
    encoder = rows("encoder")
    assert encoder[:-1] == discriminator[:-1] and encoder[-1][:2] == (discriminator[-1][0], 256)
    # The 1-Lipschitz critic sorts instead of leaking: gradient norm preserving, for the KR loss.
    expected = [("GroupSort2",) + row[1:] if lipschitz and row[0] == "LeakyReLU" else row for row in discriminator]
    assert rows("critic") == expected


def test_fitted_networks_have_the_rows_shapes(standard, lipschitz):
    for detector in (standard[0], lipschitz):
        for name, family in (("critic_", "critic"), ("encoder_", "encoder"), ("generator_", "generator")):
            spec = detector.architecture(family)
            assert tuple(getattr(detector, name).output_shape[1:]) == spec.output_shape, (name, detector.lipschitz)


# -- training ---------------------------------------------------------------------------------------

def test_both_phases_are_recorded_and_mode_collapse_is_tracked(standard, lipschitz):
    for detector in (standard[0], lipschitz):
        history = detector.history_
        for key in ("loss", "critic_loss", "wasserstein", "gradient_penalty", "generator_loss", "sample_diversity",
                    "diversity_ratio", "encoder_loss", "encoder_image_residual", "encoder_feature_residual"):
            assert len(history[key]) == 1 and np.isfinite(history[key]).all(), key
        assert isinstance(detector.collapsed_, bool) and detector.data_diversity_ > 0
    assert standard[0].history_["gradient_penalty"][0] > 0
    assert lipschitz.history_["gradient_penalty"] == [0.0]   # the 1-Lipschitz critic needs no penalty


def test_each_training_step_is_traced_once(standard):
    """96 images in GAN batches of 64 (2 critic steps of 32 each, then of 16 each), encoder batches of
    32: one trace per step function, whatever the batch size (optimizer slots are made beforehand)."""
    critic_step, generator_step, encoder_step = standard[1]
    for step in (critic_step, generator_step, encoder_step):
        assert step.experimental_get_tracing_count() == 1


def test_same_seed_gives_bitwise_the_same_lipschitz_detector(lipschitz, images):
    again = FAnoGAN(**FAST, lipschitz=K).fit(images[0])
    assert np.array_equal(again.decision_function(images[1]), lipschitz.decision_function(images[1]))
    assert np.array_equal(again.decision_scores_, lipschitz.decision_scores_)
    assert again.history_["wasserstein"] == lipschitz.history_["wasserstein"]



class StopTraining(Exception):
    pass


@pytest.mark.parametrize("stop_in, lipschitz", [("gan", None), ("encoder", K)])
def test_training_stopped_midway_resumes_to_the_same_networks(stop_in, lipschitz, images, tmp_path, monkeypatch):
    """Stopped after the first saved epoch of either phase, a fit run again with the same folder
    restores what was saved (a finished GAN phase too) and ends bitwise where an uninterrupted fit ends."""
    from adlip.detectors import checkpoints

    params = dict(FAST, lipschitz=lipschitz, epochs_scale=1.0, schedule=dict(phases=[[2, 1e-4]], batch_size=32),
                  encoder_schedule=dict(phases=[[2, 1e-4]], batch_size=32))
    uninterrupted = FAnoGAN(**params).fit(images[0])
    assert uninterrupted.resumed_epochs_ == 0
    monkeypatch.setattr(checkpoints, "SAVE_EVERY_SECONDS", 0.0)   # save after every epoch
    save = checkpoints.TrainingCheckpoint.save

    def save_then_stop(checkpoint, epochs_done, *args, **kwargs):
        save(checkpoint, epochs_done, *args, **kwargs)
        if checkpoint.folder.name == stop_in and epochs_done == 1:
            raise StopTraining

    first = FAnoGAN(**params)
    first.checkpoint_dir = tmp_path / "training"
    with monkeypatch.context() as patch:
        patch.setattr(checkpoints.TrainingCheckpoint, "save", save_then_stop)
        with pytest.raises(StopTraining):
            first.fit(images[0])
    assert sorted(path.name for path in (tmp_path / "training").iterdir()) == (
        ["gan"] if stop_in == "gan" else ["encoder", "gan"])
    resumed = FAnoGAN(**params)
    resumed.checkpoint_dir = tmp_path / "training"
    resumed.fit(images[0])
    assert resumed.resumed_epochs_ == (1 if stop_in == "gan" else 2 + 1)
    for name in ("generator_", "critic_", "encoder_"):
        for a, b in zip(getattr(resumed, name).weights, getattr(uninterrupted, name).weights):
            assert np.array_equal(a.numpy(), b.numpy()), a.name
    untimed = [{k: v for k, v in d.history_.items() if not k.endswith("seconds")} for d in (resumed, uninterrupted)]
    assert untimed[0] == untimed[1]
    assert np.array_equal(resumed.decision_function(images[1]), uninterrupted.decision_function(images[1]))
    assert not (tmp_path / "training").exists(), "the training state outlives the fit"


def test_checkpoint_dir_must_be_a_path(images):
    detector = FAnoGAN(**FAST)
    detector.checkpoint_dir = 3
    with pytest.raises(ValueError, match="checkpoint_dir must be a folder path"):
        detector.fit(images[0])


# -- the score --------------------------------------------------------------------------------------

def test_score_is_image_residual_plus_kappa_times_feature_residual(standard, images):
    detector, x = standard[0], images[1]
    parts = detector.score_parts(x)
    reconstruction = detector.reconstruct(x)
    image = ((x - reconstruction).astype(np.float64) ** 2).reshape(len(x), -1).mean(1)
    features = feature_layers(detector.critic_)
    difference = (apply_layers(features, x) - apply_layers(features, reconstruction)).numpy().reshape(len(x), -1)
    np.testing.assert_allclose(parts["image_residual"], image, rtol=1e-4)
    np.testing.assert_allclose(parts["feature_residual"], (difference.astype(np.float64) ** 2).mean(1), rtol=1e-3)
    np.testing.assert_allclose(parts["score"], parts["image_residual"] + parts["feature_residual"], rtol=1e-6)
    assert np.array_equal(parts["score"], detector.decision_function(x))
    assert detector.encode(x).shape == (len(x), 256)


def test_scoring_is_one_compiled_pass_whatever_the_batch(standard, images):
    detector = standard[0]
    detector.decision_function(images[1][:5])
    detector.decision_function(images[1])
    assert detector._scorer.experimental_get_tracing_count() == 1


def test_a_saved_lipschitz_detector_scores_and_certifies_identically(lipschitz, images, tmp_path):
    loaded = FAnoGAN.load(lipschitz.save(tmp_path / "fanogan"))
    assert np.array_equal(loaded.decision_function(images[1]), lipschitz.decision_function(images[1]))
    assert loaded.score_lipschitz_constant() == lipschitz.score_lipschitz_constant()
    assert loaded.collapsed_ == lipschitz.collapsed_


# -- the Lipschitz variant and its certificate -----------------------------------------------------------

def _measured(function, x, seed=0):
    pairs = lipschitz_lower_bound(lambda batch: np.asarray(function(batch)), x, rounds=2, pairs_per_round=2000,
                                  seed=seed).value
    ascent = lipschitz_gradient_ascent(function, x, starts=8, steps=20, seed=seed).value
    return max(pairs, ascent)


def test_each_network_keeps_its_constant(lipschitz, images):
    x = images[1]
    margin = 1 + 1e-3
    assert 0 < _measured(lipschitz.critic_, x) <= margin
    features = feature_layers(lipschitz.critic_)
    pairs = lipschitz_lower_bound(lambda batch: apply_layers(features, batch).numpy(), x, rounds=2,
                                  pairs_per_round=2000).value
    assert 0 < pairs <= margin
    assert 0 < _measured(lipschitz.encoder_, x) <= K * margin
    latents = lipschitz.lipschitz_inputs(x, seed=1)
    assert lipschitz.lipschitz_network is lipschitz.generator_
    assert 0 < _measured(lipschitz.generator_, latents) <= K * margin


def test_the_product_of_layer_norms_bounds_the_critic_and_the_encoder(lipschitz):
    """An upper bound, not a measurement: each deel-lip layer's linear map (its normalised kernel, as
    inference uses it) has norm at most its share, so their product is at most the network's K."""
    from test_lipschitz_networks import per_layer_norms

    for network, k in ((lipschitz.critic_, 1.0), (lipschitz.encoder_, K)):
        norms = per_layer_norms(network, lambda layer: layer.wbar)
        assert len(norms) == 4 and 0 < math.prod(norms) <= k * (1 + 1e-3), (network.name, norms)


def test_the_certified_score_keeps_the_derived_constant(lipschitz, images):
    x = images[1]
    constant = lipschitz.score_lipschitz_constant()
    n, m = 28 * 28, 4 * 4 * 256
    k = K * (1 + 1e-3)
    assert constant == pytest.approx((1 + k * k) * math.sqrt(1 / n + (1 + 1e-3) ** 2 / m))
    score = robustness.score_function(lipschitz, certified=True)
    np.testing.assert_allclose(score(x).numpy(), np.sqrt(lipschitz.decision_function(x)), rtol=1e-5)
    nearby = np.clip(x + np.random.default_rng(4).normal(0, 0.05, x.shape), -1, 1).astype(np.float32)
    points = np.concatenate([x, nearby])
    measured = _measured(score, points)
    assert 0 < measured <= constant, (measured, constant)


def test_pgd_at_the_certified_radius_never_flips_a_decision(lipschitz, images):
    x = images[1]
    certificate = robustness.certify(lipschitz, x)
    assert certificate.lipschitz == lipschitz.score_lipschitz_constant()
    assert np.array_equal(certificate.predictions, lipschitz.predict(x))
    flagged = certificate.predictions == 1
    assert flagged.any() and (~flagged).any()
    for direction, rows in (("raise", ~flagged), ("lower", flagged)):
        attacked = robustness.pgd_attack(lipschitz, x[rows], direction, epsilon=certificate.radius[rows], steps=20,
                                         domain=(-1.0, 1.0), seed=0)
        moved = np.sqrt(((attacked - x[rows]).reshape(rows.sum(), -1).astype(np.float64) ** 2).sum(1))
        assert (moved <= certificate.radius[rows] * (1 + 1e-5) + 1e-6).all()
        assert np.array_equal(lipschitz.predict(attacked), certificate.predictions[rows]), direction


def test_the_standard_detector_has_no_certificate(standard, images):
    detector = standard[0]
    assert detector.score_lipschitz_constant() is None and "standard" in detector.no_certificate_reason()
    with pytest.raises(ValueError, match="cannot certify"):
        robustness.certify(detector, images[1])


# -- sweeps and the command line ----------------------------------------------------------------------

def test_the_fanogan_grid_runs_both_variants_at_anogans_constant():
    configs = experiments.grid("fanogan", "smoke")
    anogan_k = experiments.chosen_constant("mnist", "anogan")
    assert {(c.algorithm, c.lipschitz) for c in configs} == {("fanogan", None), ("fanogan", anogan_k)}
    quick = experiments.grid("fanogan", "quick")
    assert {c.dataset for c in quick} == {"mnist", "cifar10"} and {c.normal_class for c in quick} == set(range(10))


def test_a_run_configuration_gets_both_phase_budgets(monkeypatch):
    from dataclasses import replace

    from adlip import profiles
    from adlip.experiments import RunConfig

    phased = replace(profiles.PROFILES["quick"], gan_epochs_scale=0.1, encoder_epochs_scale=0.25)
    monkeypatch.setitem(profiles.PROFILES, "quick", phased)
    detector = experiments.make_detector(RunConfig("fanogan", "mnist", 0, 1.0, 0, "quick"))
    assert experiments.resolved_budget(detector) == dict(gan_epochs=2, encoder_epochs=5, critic_steps=5,
                                                         orthogonalization="spectral")
    record = dict(status="ok", profile_budget=profiles.get_profile("quick", dataset="mnist").to_dict())
    monkeypatch.setitem(profiles.PROFILES, "quick", replace(phased, encoder_epochs_scale=0.5))
    assert not experiments.same_budget(record, RunConfig("fanogan", "mnist", 0, 1.0, 0, "quick"))
    assert experiments.same_budget(record, RunConfig("anogan", "mnist", 0, None, 0, "quick"))


def test_the_command_line_accepts_fanogan():
    from adlip.cli import build_parser

    args = build_parser().parse_args(["run", "--algorithm", "fanogan", "--dataset", "mnist", "--normal-class", "0",
                                      "--lipschitz", "1", "--option", "critic_steps=3"])
    assert args.algorithm == "fanogan" and dict(args.option) == {"critic_steps": 3}
    sweep = build_parser().parse_args(["sweep", "--experiment", "fanogan", "--out", "somewhere", "--dry-run"])
    assert sweep.experiment == "fanogan"
