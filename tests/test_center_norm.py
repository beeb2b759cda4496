"""The center-norm study: Deep SVDD's center rules, its per-epoch observer, and the study's records.

The observer must watch without touching (the same seed gives the same network with and without
it), the centers must be what the thesis and Ruff et al. define, and every bound the study records
for a Lipschitz network must stay below its K.
"""
import math
import os

import numpy as np
import pytest

from adlip.cli import _matching_specs
from adlip.detectors import DeepSVDD
from adlip.studies import catalog
from adlip.studies.center_norm import CENTER_NORM, CenterNormBudget, CenterNormRun, is_checkpoint, run_center_norm
from adlip.views import center_norm as view

FAST = dict(epochs_scale=1e-3, batch_size=32, verbose=0, seed=0, pretrain=False)
needs_data = pytest.mark.skipif(not os.environ.get("ADLIP_DATA_DIR"),
                                reason="set ADLIP_DATA_DIR to a folder with mnist.npz")


@pytest.mark.parametrize("lipschitz, center, signs", [
    (50.0, "auto", True), (None, "auto", False), (None, "sign", True), (50.0, "mean", False)])
def test_center_rules(mnist_like, lipschitz, center, signs):
    detector = DeepSVDD(lipschitz=lipschitz, center=center, **FAST).fit(mnist_like[0])
    assert detector.center_kind == ("sign" if signs else "mean")
    on_unit = np.all(np.abs(detector.center_) == 1.0)
    assert on_unit == signs
    if signs:
        assert np.isclose(np.linalg.norm(detector.center_), math.sqrt(detector.center_.size))


@pytest.mark.parametrize("params, message", [(dict(center="median"), "center must be one of")])
def test_bad_center_is_refused_before_training(mnist_like, monkeypatch, params, message):
    monkeypatch.setattr("adlip.detectors.base.seed_everything",
                        lambda *a, **k: pytest.fail("training started before the parameters were checked"))
    with pytest.raises(ValueError, match=message):
        DeepSVDD(**params, **FAST).fit(mnist_like[0])


def test_a_non_callable_epoch_callback_is_refused(mnist_like):
    detector = DeepSVDD(**FAST)
    detector.epoch_callback = "print"
    with pytest.raises(ValueError, match="epoch_callback must be None or a callable"):
        detector.fit(mnist_like[0])


def test_epoch_callback_sees_every_epoch_and_changes_nothing(mnist_like):
    train, normal, anomalous = mnist_like
    test = np.concatenate([normal, anomalous])
    params = dict(FAST, lipschitz=50.0, epochs_scale=0.01)
    plain = DeepSVDD(**params).fit(train)
    watched, calls = DeepSVDD(**params), []
    watched.epoch_callback = lambda network, center, epoch: calls.append(
        (epoch, float(np.linalg.norm(network(train, training=False).numpy() - center, axis=1).mean())))
    watched.fit(train)
    epochs = watched.resolved_schedule().total_epochs
    assert [epoch for epoch, _ in calls] == list(range(-1, epochs))
    np.testing.assert_array_equal(plain.decision_function(test), watched.decision_function(test))
    assert calls[-1][1] < calls[0][1], "the one-class objective should pull the training embeddings toward c"


def test_checkpoints_are_the_start_the_first_epochs_every_interval_and_the_end():
    chosen = [epoch + 1 for epoch in range(-1, 12) if is_checkpoint(epoch, every=5, last=11)]
    assert chosen == [0, 1, 2, 5, 10, 12]


def test_budget_states_the_epochs_and_the_pairs():
    caption = CenterNormBudget.resolve("full").caption()
    assert "250 Deep SVDD epochs" in caption and "350 epochs" in caption and "10,000,000" not in caption
    assert CenterNormBudget.resolve("quick").every == 1
    with pytest.raises(ValueError, match="unknown CenterNormBudget fields"):
        CenterNormBudget.resolve("quick", pairs=5)


def test_the_study_is_in_the_catalog_and_can_be_narrowed():
    assert catalog.get_study("center-norm") is CENTER_NORM
    grid = CENTER_NORM.grid("full")
    assert [spec.lipschitz for spec in grid] == [1.0, 10.0, 50.0, 100.0]
    assert [spec.run_id for spec in _matching_specs(grid, ["*-K1*-*"])] == [
        "center-norm-mnist-c0-K1-s0", "center-norm-mnist-c0-K10-s0", "center-norm-mnist-c0-K100-s0"]
    with pytest.raises(ValueError, match="matches none of the runs"):
        _matching_specs(grid, ["*-K3-*"])


@pytest.fixture(scope="module")
def smoke_record():
    return run_center_norm(CenterNormRun("mnist", 0, 0, "smoke", lipschitz=50.0))


@needs_data
def test_a_run_traces_both_centers_from_one_pretrained_network(smoke_record):
    rows = {row["center"]: row for row in smoke_record["rows"]}
    assert set(rows) == {"sign", "mean"}
    sign, mean = rows["sign"], rows["mean"]
    assert sign["trace"][0]["epoch"] == 0 and sign["trace"][-1]["epoch"] == sign["epochs"]
    assert sign["trace"][0]["bound"] == mean["trace"][0]["bound"]   # the same network before training
    assert sign["trace"][0]["norm"] == mean["trace"][0]["norm"]
    assert np.isclose(sign["center_norm"], math.sqrt(32))
    assert mean["center_norm"] != pytest.approx(math.sqrt(32))
    for row in rows.values():
        assert all(0.0 <= point["auc"] <= 1.0 for point in row["trace"])
        bounds = [point["bound"] for point in row["trace"]] + [row["lip_lower_bound"], row["lip_gradient_ascent"]]
        assert max(bounds) <= smoke_record["lipschitz"] * 1.001, bounds   # the constraint, measured


@needs_data
def test_the_view_renders_a_record(smoke_record):
    table = view.summary_table([smoke_record]).data
    assert table.count("\n") == 3 and "signs (thesis)" in table and "mean (Ruff et al.)" in table
    numbers = view.findings([smoke_record])
    assert numbers["sign"]["constants"] == [50.0] and len(numbers["mean"]["bound_shrink"]) == 1
    text = view.statements([smoke_record]).data
    assert "Final bound" in text and "no verdict yet" in text and "ROC-AUC with the sign center" in text
    figure = view.traces_figure([smoke_record])
    assert len(figure.axes) == len(view.PANELS)
    with pytest.raises(ValueError, match="no center-norm records"):
        view.summary_table([])


def _record(k, sign_bound, mean_bound, sign_auc=0.6, mean_auc=0.9):
    """A record of one K with a two-checkpoint trace per center (the view's input, made by hand)."""
    def row(center, bound, auc):
        trace = [dict(epoch=0, bound=2 * bound, distance_normal=4.0, distance_anomalous=5.0, norm=6.0, auc=auc),
                 dict(epoch=5, bound=bound, distance_normal=2.0, distance_anomalous=3.0, norm=3.0, auc=auc)]
        return dict(center=center, auc=auc, center_norm=1.0, lip_lower_bound=bound, lip_gradient_ascent=2 * bound,
                    trace=trace)
    return dict(lipschitz=k, rows=[row("sign", sign_bound, sign_auc), row("mean", mean_bound, mean_auc)])


@pytest.mark.parametrize("sign_bounds, mean_bounds, expected", [
    ((1.0, 1.1), (1.0, 5.0), "the center, not the constraint, flattens it"),
    ((1.0, 5.0), (2.0, 10.0), "lowers the bound by a factor of 2"),
    ((1.0, 1.1), (1.0, 1.2), "the sign center alone does not explain the plateau"),
])
def test_the_verdict_follows_how_the_final_bound_grows_with_k(sign_bounds, mean_bounds, expected):
    records = [_record(k, s, m) for k, s, m in zip((10.0, 50.0), sign_bounds, mean_bounds)]
    assert expected in view.verdict(records)
    assert "the mean center detects better at 2 of 2 constants" in view.auc_statement(records)


def test_growth_exponent_and_the_thesis_reference():
    assert view.growth_exponent([10.0, 100.0], [1.0, 10.0]) == pytest.approx(1.0)
    assert view.growth_exponent([1.0, 10.0], [1.0, 10.0]) is None   # one K >= 10 only
    thesis = view.thesis_bounds([1.0, 10.0, 3.0])
    assert set(thesis) == {1.0, 10.0} and all(value > 0 for value in thesis.values())
