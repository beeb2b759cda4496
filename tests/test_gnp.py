"""Gradient-norm-preserving Lipschitz networks: GroupSort / FullSort activations and L2-norm pooling.

They replace the thesis's leaky ReLU and max pooling in the Lipschitz DCAE and Deep SVDD; the
networks must stay K-Lipschitz (measured, and by the product of layer norms), train, score, and
survive save and load.
"""
import numpy as np
import pytest

from adlip import architectures as arch
from adlip import metrics
from adlip.detectors import DCAE, DeepSVDD, load

K = 2.0
TOLERANCE = 1e-3


def layer_kinds(model):
    return [type(layer).__name__ for layer in arch.iter_layers(model)]


@pytest.mark.parametrize("family", ["dcae", "deepsvdd"])
@pytest.mark.parametrize("activation", ["groupsort2", "fullsort"])
def test_gnp_layers_replace_leaky_relu_and_max_pooling_and_keep_k(family, activation):
    spec = arch.get_architecture(family, "mnist", True)
    model = arch.build(spec, lipschitz=K, seed=0, activation=activation, pooling="l2norm")
    kinds = layer_kinds(model)
    assert "LeakyReLU" not in kinds and "MaxPooling2D" not in kinds
    assert {"GroupSort2" if activation == "groupsort2" else "FullSort", "ScaledL2NormPooling2D"} <= set(kinds)
    assert len(arch.lipschitz_layers(model)) == spec.lipschitz_layer_count
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype(np.float32)
    ascent = metrics.lipschitz_gradient_ascent(model, x, starts=8, steps=20, seed=0).value
    upper = metrics.lipschitz_upper_bound(model).value
    assert ascent <= upper * (1 + TOLERANCE) and upper <= K * (1 + TOLERANCE), (ascent, upper)


@pytest.mark.parametrize("params, message", [
    (dict(lipschitz=K, activation="relu"), "unknown activation"),
    (dict(lipschitz=K, pooling="average"), "unknown pooling"),
    (dict(lipschitz=None, activation="groupsort2"), "Lipschitz networks only"),
])
def test_gnp_options_are_checked_before_training(params, message):
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        DCAE(verbose=0, **params).fit(x)
    with pytest.raises(ValueError, match=message):
        DeepSVDD(verbose=0, pretrain=False, **params).fit(x)


@pytest.mark.parametrize("detector_class", [DCAE, DeepSVDD])
def test_gnp_detectors_train_score_and_reload(detector_class, tmp_path):
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype(np.float32)
    detector = detector_class(lipschitz=K, activation="groupsort2", pooling="l2norm", epochs_scale=1e-3,
                              verbose=0, seed=0).fit(x)
    scores = detector.decision_function(x[:16])
    assert scores.shape == (16,) and np.isfinite(scores).all()
    detector.save(tmp_path / "gnp")
    again = load(tmp_path / "gnp")
    np.testing.assert_allclose(again.decision_function(x[:16]), scores, rtol=1e-5, atol=1e-6)
    assert again.get_params()["activation"] == "groupsort2"
