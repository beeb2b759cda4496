"""Convolutional Lipschitz decoders: adlip's layers, the architectures, and the SpectralConv2D study.

The layers are checked the way deel-lip checks its own: the operator norm of the layer's linear map
is measured (Lanczos on the map and its adjoint, ``metrics.lipschitz_upper_bound``), never read
from an attribute; every conv-decoder DCAE is measured against its K after a training step.
"""
import json

import numpy as np
import pytest
import tensorflow as tf

from adlip import architectures as arch
from adlip import metrics
from adlip.studies import decoders
from adlip.detectors import DCAE
from adlip.layers import OperatorNormConv2D, ScaledUpSampling2D

TOLERANCE = 1e-3


def single_layer_norm(layer, input_shape) -> float:
    model = tf.keras.Sequential([layer])
    model.build((None,) + tuple(input_shape))
    return metrics.lipschitz_upper_bound(model).value


def train_one_step(model, x, seed=0):
    target = np.random.default_rng(seed).uniform(0, 1, (len(x),) + tuple(model.output_shape[1:])).astype(np.float32)
    optimizer = tf.keras.optimizers.Adam(1e-2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - target))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))


@pytest.mark.parametrize("shape, filters, kernel, k", [((8, 8, 2), 4, 5, 1.0), ((16, 16, 3), 8, 3, 2.5),
                                                       ((7, 7, 4), 1, 5, 0.3)])
def test_operator_norm_conv_has_exactly_its_constant_after_refresh(shape, filters, kernel, k):
    layer = OperatorNormConv2D(filters, kernel, k_coef_lip=k, kernel_initializer=tf.keras.initializers.GlorotUniform(1))
    model = tf.keras.Sequential([layer])
    model.build((None,) + shape)
    x = np.random.default_rng(0).uniform(0, 1, (4,) + shape).astype(np.float32)
    train_one_step(model, x)
    layer.refresh()
    assert metrics.lipschitz_upper_bound(model).value == pytest.approx(k, rel=TOLERANCE)


def test_deel_lip_spectral_conv_uses_a_fraction_of_its_constant_where_ours_uses_all():
    """The correction factor at work: at initialisation a 5x5 SpectralConv2D of the MNIST decoder
    has an operator norm far below its k_coef_lip; OperatorNormConv2D on the same kernel has it."""
    from deel.lip.layers import SpectralConv2D

    theirs = SpectralConv2D(8, (5, 5), padding="same", use_bias=False, k_coef_lip=1.0)
    model = tf.keras.Sequential([theirs])
    model.build((None, 16, 16, 4))
    model(np.zeros((1, 16, 16, 4), np.float32), training=True)
    assert metrics.lipschitz_upper_bound(model).value < 0.7
    ours = OperatorNormConv2D(8, 5)
    assert single_layer_norm(ours, (16, 16, 4)) < 10     # built; the normalisation needs a training call
    ours_model = tf.keras.Sequential([ours])
    ours_model.build((None, 16, 16, 4))
    ours.refresh()
    assert metrics.lipschitz_upper_bound(ours_model).value == pytest.approx(1.0, rel=TOLERANCE)


def test_operator_norm_conv_rejects_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        OperatorNormConv2D(0, 3)
    with pytest.raises(ValueError, match="k_coef_lip"):
        OperatorNormConv2D(4, 3, k_coef_lip=0)
    with pytest.raises(ValueError, match="fixed image size"):
        tf.keras.Sequential([OperatorNormConv2D(4, 3)]).build((None, None, None, 1))


def test_scaled_upsampling_is_an_isometry():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 5, 5, 2)).astype(np.float32)
    layer = ScaledUpSampling2D(2)
    out_x, out_y = layer(x).numpy(), layer(y).numpy()
    assert out_x.shape == (3, 10, 10, 2)
    np.testing.assert_allclose(np.linalg.norm((out_x - out_y).reshape(3, -1), axis=1),
                               np.linalg.norm((x - y).reshape(3, -1), axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match="size"):
        ScaledUpSampling2D(0)


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
@pytest.mark.parametrize("decoder", ["spectralconv", "operatorconv"])
def test_conv_decoder_dcaes_match_their_rows_and_keep_k(dataset, decoder):
    spec = arch.get_architecture("dcae", dataset, True, decoder)
    assert decoder in spec.name.lower().replace("spectralconv2d", "spectralconv").replace(
        "operatornormconv2d", "operatorconv")
    k = 2.0
    model = arch.build(spec, lipschitz=k, seed=0)
    decoder_model = arch.decoder_of(model)
    shapes = [tuple(layer.output_shape[1:]) for layer in decoder_model.layers]
    assert shapes == [tuple(row.output_shape) for row in spec.layers[spec.encoder_depth:]]
    x = np.random.default_rng(0).uniform(0, 1, (8,) + spec.input_shape).astype(np.float32)
    train_one_step(model, x)
    arch.refresh_lipschitz_kernels(model)
    upper = metrics.lipschitz_upper_bound(model).value
    assert upper <= k * 0.25 * (1 + TOLERANCE)       # the sigmoid's slope is 1/4
    ascent = metrics.lipschitz_gradient_ascent(model, x, starts=4, steps=10, seed=0).value
    assert ascent <= upper * (1 + TOLERANCE)
    share = decoders.decoder_constant(model, spec) / decoders.nominal_decoder_constant(spec, k)
    if decoder == "operatorconv":
        assert share == pytest.approx(1.0, rel=TOLERANCE)
    else:
        assert share < 0.5


def test_decoder_choice_is_checked_before_any_training():
    with pytest.raises(ValueError, match="unknown decoder"):
        arch.get_architecture("dcae", "mnist", True, "upsampling")
    with pytest.raises(ValueError, match="Lipschitz DCAE decoder"):
        arch.get_architecture("dcae", "mnist", False, "operatorconv")
    with pytest.raises(ValueError, match="DCAE only"):
        arch.get_architecture("deepsvdd", "mnist", True, "operatorconv")
    with pytest.raises(ValueError, match="unknown decoder"):
        DCAE(lipschitz=2.0, decoder="conv").fit(np.zeros((4, 28, 28, 1), np.float32))


def test_the_thesis_build_locks_the_dense_factor_at_one():
    """deel-lip's Sequential built with an input shape: the convolutions get K's share, SpectralDense 1."""
    spec = arch.get_architecture("dcae", "mnist", True, "spectralconv")
    k = 100.0
    factor = k ** (1 / spec.lipschitz_layer_count)
    locked = decoders.build_like_thesis(spec, k)
    ours = arch.build(spec, lipschitz=k)
    dense_norm = {name: [c for _, kind, c in metrics.lipschitz_upper_bound(m).layers if kind == "SpectralDense"]
                  for name, m in (("locked", locked), ("ours", ours.get_layer("encoder")))}
    assert dense_norm["locked"] == pytest.approx([1.0], rel=TOLERANCE)
    assert dense_norm["ours"] == pytest.approx([factor], rel=TOLERANCE)


def test_operatorconv_dcae_trains_scores_and_reloads(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (32, 28, 28, 1)).astype(np.float32)
    detector = DCAE(lipschitz=2.0, decoder="operatorconv", epochs_scale=1e-3, batch_size=16, verbose=0).fit(x)
    scores = detector.decision_function(x)
    loaded = DCAE.load(detector.save(tmp_path / "dcae"))
    assert loaded.decoder == "operatorconv"
    np.testing.assert_allclose(loaded.decision_function(x), scores, rtol=1e-6)
    assert metrics.lipschitz_upper_bound(loaded.autoencoder_).value <= 2.0 * 0.25 * (1 + TOLERANCE)


def test_batch_norm_variant_adds_batch_norm_after_all_but_the_last_decoder_conv():
    spec = arch.get_architecture("dcae", "mnist", True, "spectralconv")
    with_bn = decoders.with_decoder_batch_norm(spec)
    decoder_kinds = [row.kind for row in with_bn.layers[with_bn.encoder_depth:]]
    assert decoder_kinds.count("BatchNorm") == decoder_kinds.count("SpectralConv2D") - 1
    assert with_bn.layers[:spec.encoder_depth] == spec.layers[:spec.encoder_depth]


def test_study_records_resume_and_refuse_another_profile(tmp_path, monkeypatch):
    calls = []

    def fake_run(variant, dataset, normal_class, profile, seed):
        variant = decoders.get_variant(variant)
        calls.append(variant.name)
        return dict(variant=vars(variant) | {}, profile=profile, auc=0.5)

    monkeypatch.setattr(decoders, "run_variant", fake_run)
    chosen = ["dense", "operatorconv"]
    first = decoders.run_study(tmp_path, variants=chosen, profile="smoke", progress=False)
    assert calls == chosen and [r["profile"] for r in first] == ["smoke", "smoke"]
    again = decoders.run_study(tmp_path, variants=chosen, profile="smoke", progress=False)
    assert calls == chosen and again == json.loads(json.dumps(first))
    with pytest.raises(ValueError, match="profile"):
        decoders.run_study(tmp_path, variants=chosen, profile="quick", progress=False)
    with pytest.raises(ValueError, match="unknown variant"):
        decoders.run_study(tmp_path, variants=["blur"], profile="smoke", progress=False)


def test_run_variant_measures_a_smoke_run():
    """End to end on real data at the smoke budget (needs MNIST; skipped without it)."""
    from adlip import data

    try:
        data.load_dataset("mnist")
    except ValueError:
        pytest.skip("MNIST is not available here")
    record = decoders.run_variant("operatorconv", profile="smoke")
    assert record["decoder_share"] == pytest.approx(1.0, rel=1e-2)
    assert record["autoencoder_upper_bound"] <= record["lipschitz"] * 0.25 * (1 + TOLERANCE)
    assert len(record["reconstructions"]) == decoders.SHOWN_IMAGES
    assert 0.0 <= record["auc"] <= 1.0 and record["budget"]["epochs"] >= 1
    json.dumps(record)


def test_study_records_name_the_command_when_records_are_missing(tmp_path):
    with pytest.raises(ValueError, match="python -m adlip study decoders --profile quick"):
        decoders.study_records("quick", tmp_path, run=False)


def test_cli_runs_the_study_and_rejects_unknown_variants(tmp_path, monkeypatch, capsys):
    from adlip import cli

    def fake_run(variant, dataset, normal_class, profile, seed):
        return dict(variant=vars(decoders.get_variant(variant)), profile=profile, auc=0.75, train_mse=0.01, decoder_share=1.0)

    monkeypatch.setattr(decoders, "run_variant", fake_run)
    assert cli.main(["decoder-study", "--profile", "smoke", "--out", str(tmp_path), "--variant", "blur"]) == 2
    assert "unknown variant" in capsys.readouterr().err
    assert cli.main(["decoder-study", "--profile", "smoke", "--out", str(tmp_path), "--variant", "dense"]) == 0
    assert "ROC-AUC 75.0%" in capsys.readouterr().out
    assert (tmp_path / "dense-mnist-c0-s0.json").is_file()
    assert cli.main(["decoder-study", "--profile", "smoke", "--out", str(tmp_path), "--normal-class", "12"]) == 2


def test_refresh_removes_the_power_iteration_lag_after_long_training():
    """Power iteration lags behind a kernel that keeps moving; refresh() puts the norm back at K."""
    layer = OperatorNormConv2D(8, 5, k_coef_lip=1.5, kernel_initializer=tf.keras.initializers.GlorotUniform(3))
    model = tf.keras.Sequential([layer])
    model.build((None, 16, 16, 4))
    x = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 4)).astype(np.float32)
    for step in range(30):
        train_one_step(model, x, seed=step)
    layer.refresh()
    measured = metrics.lipschitz_upper_bound(model).value
    assert 1.5 * (1 - 1e-5) <= measured <= 1.5 * (1 + 1e-6)


def test_a_variants_network_changes_are_parameters_that_clone_keeps():
    from sklearn.base import clone

    detector = decoders.make_detector("batchnorm")
    assert detector.decoder_batch_norm and not detector.thesis_build
    copy = clone(decoders.make_detector("pitfall"))
    assert copy.thesis_build and not copy.decoder_batch_norm
    assert copy.get_params() == decoders.make_detector("pitfall").get_params()
