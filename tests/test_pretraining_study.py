"""The pretraining study: the same Lipschitz Deep SVDD with and without pretraining, watched through
training, and the view chapter 8 renders from its records."""
import os

import numpy as np
import pytest

from adlip import reference
from adlip.cli import _matching_specs
from adlip.studies import catalog
from adlip.studies.pretraining import PROBES, PRETRAINING, PretrainingBudget, PretrainingRun, run_pretraining
from adlip.views import pretraining as view

needs_data = pytest.mark.skipif(not os.environ.get("ADLIP_DATA_DIR"),
                                reason="set ADLIP_DATA_DIR to a folder with mnist.npz")


def test_budget_states_the_epochs_the_initialisations_and_the_pairs():
    caption = PretrainingBudget.resolve("full").caption()
    assert "250 Deep SVDD epochs" in caption and "pretrained for 350 epochs or at random" in caption
    assert "every 5 epochs" in caption and "100,000 fixed pairs" in caption
    assert PretrainingBudget.resolve("quick").every == 1
    with pytest.raises(ValueError, match="unknown PretrainingBudget fields"):
        PretrainingBudget.resolve("quick", epochs=3)


def test_the_study_is_in_the_catalog_and_can_be_narrowed():
    assert catalog.get_study("pretraining") is PRETRAINING
    grid = PRETRAINING.grid("full")
    assert [spec.lipschitz for spec in grid] == [0.5, 1.0, 2.0]
    assert {spec.algorithm for spec in grid} == {"deepsvdd-sb"}
    assert [spec.run_id for spec in _matching_specs(grid, ["*-K1-*"])] == ["pretraining-deepsvdd-sb-mnist-c0-K1-s0"]


def test_each_variant_is_experiment_1s_run_with_only_the_pretraining_changed():
    from adlip import experiments

    spec = PretrainingRun("mnist", 0, 0, "full", lipschitz=1.0)
    [exp1] = [c for c in experiments.grid("exp1", "full", datasets=["mnist"])
              if c.algorithm == "deepsvdd-sb" and c.lipschitz == 1.0 and c.seed == 0]
    assert spec.config(True).to_dict() == dict(exp1.to_dict(), experiment=None)
    [unpretrained] = [c for c in experiments.grid("unpretrained", "full", datasets=["mnist"])
                      if c.algorithm == "deepsvdd-sb" and c.lipschitz == 1.0 and c.seed == 0]
    assert spec.config(False).to_dict() == dict(unpretrained.to_dict(), experiment=None)
    with pytest.raises(ValueError, match="pretraining study trains"):
        PretrainingRun("mnist", 0, 0, "full", lipschitz=1.0, algorithm="dcae")


@pytest.fixture(scope="module")
def smoke_record():
    return run_pretraining(PretrainingRun("mnist", 0, 0, "smoke", lipschitz=1.0))


@needs_data
def test_a_run_traces_both_variants_of_one_split(smoke_record):
    rows = {row["variant"]: row for row in smoke_record["rows"]}
    assert list(rows) == ["pretrained", "not pretrained"]
    assert rows["pretrained"]["pretrain"] is True and rows["not pretrained"]["pretrain"] is False
    for row in rows.values():
        epochs = [point["epoch"] for point in row["trace"]]
        assert epochs[0] == 0 and epochs[-1] == row["epochs"] and epochs == sorted(epochs)
        assert all(0.0 <= point["auc"] <= 1.0 for point in row["trace"])
        assert max(point["bound"] for point in row["trace"]) <= smoke_record["lipschitz"] * 1.001
        assert all(-1.0 <= point[f"{probe}_correlation"] <= 1.0 for point in row["trace"] for probe in PROBES)
    # the two start from different networks: the pretrained encoder against a random initialisation
    assert rows["pretrained"]["trace"][0]["norm"] != rows["not pretrained"]["trace"][0]["norm"]
    assert smoke_record["git_commit"] and smoke_record["study_budget"]["profile"] == "smoke"
    # on the data alone the mean-image projection ranks the normal class as the most anomalous
    assert smoke_record["probe_aucs"]["projection"] < 0.2 and set(smoke_record["probe_aucs"]) == set(PROBES)


def test_rank_correlation_is_spearmans_and_zero_for_a_constant():
    from adlip.studies.center_norm import rank_correlation

    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert rank_correlation(a, a ** 3) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(a, np.ones(4)) == 0.0


def test_the_probes_are_the_mean_image_projection_and_the_norm():
    from types import SimpleNamespace

    from adlip.studies.pretraining import probe_values

    split = SimpleNamespace(x_train=np.array([[[1.0, 0.0]], [[3.0, 2.0]]]), x_test=np.array([[[1.0, 1.0]],
                                                                                            [[0.0, 2.0]]]))
    probes = probe_values(split)
    assert set(probes) == set(PROBES)
    np.testing.assert_allclose(probes["projection"], [3.0, 2.0])
    np.testing.assert_allclose(probes["ink"], [np.sqrt(2.0), 2.0])


@needs_data
def test_the_view_renders_a_record(smoke_record):
    table = view.summary_table([smoke_record]).data
    assert table.count("\n") == 3 and "not pretrained" in table
    text = view.statements([smoke_record]).data
    assert "**K = 1.**" in text and "before training" in text and "The thesis:" in text
    assert "rank correlation with projection" in text and "final correlation: ink" in table
    assert len(view.traces_figure([smoke_record]).axes) == len(view.PANELS)
    assert len(view.probes_figure([smoke_record]).axes) == 1 + len(view.PROBE_PANELS)
    baseline = view.probe_baseline([smoke_record]).data
    assert f"{100 * smoke_record['probe_aucs']['projection']:.1f}%" in baseline
    # records made before the probes were traced still render, without their columns and sentences
    older = dict({k: v for k, v in smoke_record.items() if k != "probe_aucs"},
                 rows=[dict(row, trace=[{k: v for k, v in point.items() if not k.endswith("_correlation")}
                                        for point in row["trace"]]) for row in smoke_record["rows"]])
    assert "correlation" not in view.summary_table([older]).data + view.statements([older]).data
    assert view.probe_baseline([older]) is None
    with pytest.raises(ValueError, match="no pretraining records"):
        view.summary_table([])


def _record(k, aucs_pretrained, aucs_random):
    """A record of one K with a hand-made trace per variant (the view's input)."""
    def row(variant, aucs):
        trace = [dict(epoch=5 * i, auc=auc, distance_normal=1.0, norm=1.0, bound=0.1) for i, auc in enumerate(aucs)]
        return dict(variant=variant, auc=aucs[-1], epochs=5 * (len(aucs) - 1), trace=trace)
    return dict(lipschitz=k, algorithm="deepsvdd-sb", rows=[row("pretrained", aucs_pretrained),
                                                            row("not pretrained", aucs_random)])


def test_the_lowest_point_and_the_statements_follow_the_trace():
    record = _record(1.0, [0.55, 0.60, 0.65], [0.50, 0.30, 0.45])
    assert view.lowest_point(record["rows"][1]) == (5, pytest.approx(30.0))
    text = view.statements([record]).data
    thesis = reference.thesis_auc("exp1", "mnist", "deepsvdd-sb", True, 1.0).mean
    assert "not pretrained: 50.0% before training, lowest 30.0% after 5 epochs, 45.0% at the end " \
           "(2 of 3 checkpoints below chance)" in text
    assert f"The thesis: {thesis:.1f}%." in text
    assert view.thesis_auc("deepsvdd-sb", 3.0) is None
    rows = view.summary_table([record, _record(3.0, [0.5, 0.6], [0.5, 0.4])]).data.splitlines()[2:]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == ["1", "1", "3", "3"]
    assert rows[-1].endswith("| – |")
    np.testing.assert_allclose(view.trace(record["rows"][0], "auc"), [0.55, 0.60, 0.65])
