"""The latent-search study: variants scored on one trained AnoGAN, and its smoke grid end to end."""
import json
import os

import numpy as np
import pytest

from adlip.detectors.anogan import AnoGAN
from adlip import plots, reference
from adlip.metrics import roc_auc
from adlip.studies import catalog, latent_search
from adlip.studies.latent_search import VARIANTS, LatentSearchBudget, SearchVariant, score_variant
from conftest import disks

FIRST = dict(latent_learning_rate=0.01, feature_weight=0.1)   # the first sweep's search


@pytest.fixture(scope="module")
def fitted_and_test():
    detector = AnoGAN(epochs_scale=1e-3, batch_size=32, latent_steps=4, search_batch_size=16, verbose=0, seed=0,
                      train_score_size=8).fit(disks(64))
    noise = np.random.default_rng(3).uniform(-1, 1, (10, 28, 28, 1)).astype(np.float32)
    x = np.concatenate([disks(10, seed=1), noise])
    return detector, x, np.r_[np.zeros(10, int), np.ones(10, int)]


def test_the_default_variant_is_the_detectors_own_search(fitted_and_test):
    detector, x, y = fitted_and_test
    [default] = [variant for variant in VARIANTS if "adlip's default" in variant.label]
    assert (default.learning_rate, default.feature_weight) == (detector.latent_learning_rate, detector.feature_weight)
    row = score_variant(detector, x, y, default)
    assert row["auc"] == roc_auc(y, detector.decision_function(x))
    assert row["steps"] == detector.latent_steps


def test_a_variant_changes_the_search_and_leaves_the_detector_as_it_was(fitted_and_test):
    detector, x, y = fitted_and_test
    own = detector.decision_function(x)
    fast = score_variant(detector, x, y, SearchVariant(0.5, 0.1))
    residual = score_variant(detector, x, y, SearchVariant(0.01, 0.0))
    assert (detector.latent_learning_rate, detector.feature_weight) == (0.001, 0.1)
    np.testing.assert_array_equal(detector.decision_function(x), own)
    assert fast["auc"] != roc_auc(y, own) or fast["mean_normal_score"] != own[y == 0].mean()
    # lambda 0 scores by the residual alone
    assert residual["auc"] == residual["residual_auc"]


def test_no_search_scores_the_initial_latent_vectors(fitted_and_test):
    detector, x, y = fitted_and_test
    row = score_variant(detector, x, y, VARIANTS[-1])
    start = detector.search(x, steps=0)["score"]
    assert row["steps"] == 0 and row["auc"] == roc_auc(y, start)


@pytest.mark.parametrize("fields, message", [
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(feature_weight=1.5), "feature_weight"),
    (dict(steps=-1), "steps"),
])
def test_bad_variants_are_refused(fields, message):
    values = dict(learning_rate=0.01, feature_weight=0.1) | fields
    with pytest.raises(ValueError, match=message):
        SearchVariant(**values)


def test_grid_and_budget_per_profile():
    assert [spec.normal_class for spec in latent_search.grid("full")] == [0, 3, 5, 6]
    assert [spec.normal_class for spec in latent_search.grid("quick")] == [3]
    assert LatentSearchBudget.resolve("full").n_images == 500
    spec = latent_search.grid("full")[0]
    assert spec.config.experiment == "exp2" and spec.config.lipschitz is None and spec.config.profile == "full"
    assert "500 steps" in LatentSearchBudget.resolve("full").caption()
    assert catalog.get_study("latent-search") is latent_search.LATENT_SEARCH


def test_same_gan_compares_the_training_losses():
    history = {"discriminator_loss": [0.5, 0.4], "generator_loss": [2.0, 1.5], "seconds": [1.0, 1.0]}
    assert latent_search.same_gan({"history": history}, {"history": dict(history, seconds=[9.0, 9.0])})
    assert not latent_search.same_gan({"history": history},
                                      {"history": dict(history, generator_loss=[2.0, 1.6])})


@pytest.mark.skipif(not os.environ.get("ADLIP_DATA_DIR"), reason="needs MNIST (ADLIP_DATA_DIR)")
def test_smoke_grid_end_to_end(tmp_path):
    study = latent_search.LATENT_SEARCH
    records = study.records("smoke", results_dir=tmp_path, run=True)
    assert len(records) == 1
    record = records[0]
    assert [row["label"] for row in record["rows"]] == [variant.label for variant in VARIANTS]
    assert record["n_test"] == LatentSearchBudget.resolve("smoke").n_images
    assert 0 < record["n_anomalies"] < record["n_test"]
    assert all(0.0 <= row["auc"] <= 1.0 for row in record["rows"])
    assert record["git_commit"] and record["history"]["generator_loss"]
    assert len(record["labels"]) == record["n_test"] and sum(record["labels"]) == record["n_anomalies"]
    assert all(len(row["scores"]) == record["n_test"] for row in record["rows"])
    assert roc_auc(record["labels"], record["rows"][0]["scores"]) == record["rows"][0]["auc"]
    no_search = record["rows"][-1]
    assert no_search["travel_normal"] == no_search["travel_anomalous"] == 0.0
    assert record["rows"][0]["travel_normal"] > 0
    table = latent_search.variant_table(records)
    assert len(table) == len(VARIANTS) and table["change (points)"].iloc[0] == 0.0
    assert table["95% interval"].iloc[0] == "" and " to " in table["95% interval"].iloc[1]
    change, low, high = latent_search.change_interval(record, 1)
    assert low <= change <= high
    json.dumps(record)   # plain JSON


def _study_record(aucs, history):
    rows = [dict(label=variant.label, learning_rate=variant.learning_rate, feature_weight=variant.feature_weight,
                 steps=500 if variant.steps is None else variant.steps, auc=auc) for variant, auc in zip(VARIANTS, aucs)]
    return dict(dataset="mnist", profile="full", normal_class=3, seed=0, n_test=500, n_anomalies=450,
                rows=rows, history=history)


@pytest.mark.parametrize("best, verdict", [(0.70, "less than the gap"), (0.80, "can account for it")])
def test_search_statement_weighs_the_best_setting_against_the_gap(best, verdict):
    history = {"discriminator_loss": [0.5], "generator_loss": [2.0]}
    record = _study_record([0.66, best, 0.60, 0.65, 0.55], history)
    sweep = dict(algorithm="anogan", lipschitz=None, experiment="exp2", dataset="mnist", profile="full", detector_params=FIRST,
                 normal_class=3, seed=0, auc=0.679, n_test=1000, history=history)
    text = latent_search.search_statement([record], [sweep])
    assert "the first sweep's search (rate 0.01) gives 66.0" in text and "no search at all 55.0" in text
    assert "the same GAN as the sweep's" in text and "67.9 against the thesis's" in text
    assert verdict in text
    assert "bootstrap" not in text   # no per-image scores in this record
    other = latent_search.search_statement([record], [dict(sweep, history={"generator_loss": [9.0]})])
    assert "not bitwise the same" in other
    assert "the thesis" not in latent_search.search_statement([record], [])
    quick = latent_search.search_statement([dict(record, profile="quick")], [dict(sweep, profile="quick")])
    assert "no gap to the thesis is weighed" in quick and "-10.8" not in quick


def test_statement_gives_the_paired_interval_when_scores_are_kept():
    history = {"discriminator_loss": [0.5], "generator_loss": [2.0]}
    rng = np.random.default_rng(1)
    labels = [0] * 20 + [1] * 80
    y = np.asarray(labels)
    scores = [list(y * strength + rng.normal(size=100)) for strength in (0.5, 2.0, 0.4, 0.5, 0.1)]
    record = _study_record([roc_auc(y, s) for s in scores], history)
    record.update(labels=labels, n_test=100, n_anomalies=80)
    for row, values in zip(record["rows"], scores):
        row["scores"] = values
    sweep = dict(algorithm="anogan", lipschitz=None, experiment="exp2", dataset="mnist", profile="full", detector_params=FIRST,
                 normal_class=3, seed=0, auc=0.679, n_test=1000, history=history)
    text = latent_search.search_statement([record], [sweep])
    assert "95% paired bootstrap interval" in text
    assert "rate 0.001" in text



def test_variant_points_order_the_classes_and_carry_the_thesis():
    history = {"discriminator_loss": [0.5], "generator_loss": [2.0]}
    five = dict(_study_record([0.64, 0.75, 0.60, 0.62, 0.58], history), normal_class=5)
    three = _study_record([0.70, 0.81, 0.67, 0.73, 0.67], history)
    five["rows"] = five["rows"][:2]   # a record made before the other variants existed
    classes, aucs, references = latent_search.variant_points([five, three])
    assert classes == [3, 5]
    first, second = VARIANTS[0].label, VARIANTS[1].label
    assert aucs[first] == pytest.approx([70.0, 64.0]) and aucs[second] == pytest.approx([81.0, 75.0])
    assert aucs[VARIANTS[2].label] == [pytest.approx(67.0), None]
    thesis = reference.thesis_auc("exp2", "mnist", "anogan", False, 3)
    assert references[0] == (thesis.mean, thesis.std)
    import matplotlib

    matplotlib.use("Agg")
    figure = plots.search_variants(classes, aucs, references)
    axis = figure.axes[0]
    assert [tick.get_text() for tick in axis.get_xticklabels()] == ["3", "5"]
    assert len(axis.collections) >= len(VARIANTS)   # one marker set per variant, plus the thesis's bars


class Interrupted(Exception):
    pass


def test_an_interrupted_study_run_resumes_to_the_same_record(tmp_path, monkeypatch):
    """Stopped in its third search, the run keeps the GAN and two rows and does only the rest."""
    from adlip import runs

    monkeypatch.setattr(runs, "code_identity", lambda threads: {"git_commit": "c" * 40, "threads": threads})
    spec = latent_search.grid("smoke")[0]
    uninterrupted = latent_search.run_latent_search(spec)
    assert uninterrupted["resumed"] == []
    original = latent_search.score_variant

    def stop_at_third(detector, x, y, variant):
        if variant == VARIANTS[2]:
            raise Interrupted()
        return original(detector, x, y, variant)

    with monkeypatch.context() as patch:
        patch.setattr(latent_search, "score_variant", stop_at_third)
        with pytest.raises(Interrupted):
            latent_search.run_latent_search(spec, cache_dir=tmp_path)
    resumed = latent_search.run_latent_search(spec, cache_dir=tmp_path)
    assert resumed["resumed"] == ["fit"] + [f"variant {variant.label}" for variant in VARIANTS[:2]]
    untimed = [[{k: v for k, v in row.items() if k != "seconds"} for row in record["rows"]]
               for record in (resumed, uninterrupted)]
    assert untimed[0] == untimed[1]
    assert {k: v for k, v in resumed["history"].items() if k != "seconds"} == \
        {k: v for k, v in uninterrupted["history"].items() if k != "seconds"}
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "the stages outlive the record"
    assert latent_search.LATENT_SEARCH.resumable


def test_across_classes_names_the_best_search_and_weighs_it_against_the_gaps():
    history = {"discriminator_loss": [0.5], "generator_loss": [2.0]}
    three = _study_record([0.70, 0.81, 0.67, 0.73, 0.67], history)
    zero = dict(_study_record([0.93, 0.90, 0.92, 0.93, 0.80], history), normal_class=0)
    sweeps = [dict(algorithm="anogan", lipschitz=None, experiment="exp2", dataset="mnist", profile="full", detector_params=FIRST,
                   normal_class=c, seed=0, auc=auc, n_test=1000, history=history) for c, auc in ((3, 0.679), (0, 0.914))]
    text = latent_search.across_classes_statement([three, zero], sweeps)
    assert text.startswith("Across classes 0, 3,") and VARIANTS[1].label in text
    assert "(per class 0: -3.0, 3: +11.0)" in text and "+4.0 points" in text
    gap_three = 67.9 - reference.thesis_auc("exp2", "mnist", "anogan", False, 3).mean
    assert f"3: {gap_three:+.1f}" in text and "(3)" in text
    assert "would move class 0 more than a point further" in text
    assert latent_search.across_classes_statement([three], sweeps) == ""
    assert "gaps" not in latent_search.across_classes_statement([three, zero], [])   # no sweep: no gaps
    assert text in latent_search.search_statement([three, zero], sweeps)


def test_search_names_come_from_the_settings_so_old_and_new_records_group():
    old_row = dict(label="adlip: rate 0.01, lambda 0.1", learning_rate=0.01, feature_weight=0.1, steps=500)
    assert latent_search.row_name(old_row) == VARIANTS[0].label == "rate 0.01 (the first sweep's)"
    assert VARIANTS[1].label == "rate 0.001 (Keras's default; adlip's default)"
    assert latent_search.search_name(0.01, 0.0, 500) == "rate 0.01, lambda 0 (residual only)"
    assert latent_search.search_name(0.01, 0.1, 0) == VARIANTS[-1].label
    assert len({variant.label for variant in VARIANTS}) == len(VARIANTS)


def test_the_statement_weighs_the_first_sweeps_record_not_the_rerun():
    history = {"discriminator_loss": [0.5], "generator_loss": [2.0]}
    record = _study_record([0.66, 0.80, 0.60, 0.65, 0.55], history)
    first = dict(algorithm="anogan", lipschitz=None, experiment="exp2", dataset="mnist", profile="full",
                 normal_class=3, seed=0, auc=0.679, n_test=1000, history=history, detector_params=FIRST)
    rerun = dict(first, auc=0.801, detector_params=dict(FIRST, latent_learning_rate=0.001))
    assert "67.9 against the thesis's" in latent_search.search_statement([record], [rerun, first])
    assert "against the thesis's" not in latent_search.search_statement([record], [rerun])


def _anogan(normal_class, k, auc, rate, losses=(2.0, 1.5)):
    return dict(algorithm="anogan", experiment="exp2", dataset="mnist", profile="full", normal_class=normal_class,
                lipschitz=k, seed=0, auc=auc, detector_params=dict(FIRST, latent_learning_rate=rate),
                history={"discriminator_loss": [0.5, 0.4], "generator_loss": list(losses)})


def test_rerun_table_puts_each_first_sweep_cell_beside_its_rerun():
    first = [_anogan(3, None, 0.679, 0.01), _anogan(0, None, 0.914, 0.01), _anogan(0, 1.0, 0.927, 0.01)]
    rerun = [_anogan(3, None, 0.812, 0.001), _anogan(0, 1.0, 0.95, 0.01)]   # the K=1 one is not a rerun
    table = latent_search.rerun_table(first, rerun)
    assert list(table["class"]) == [0, 3, 0] and list(table["kind"]) == ["standard", "standard", "Lipschitz K=1"]
    assert table["rerun, rate 0.001 (%)"].isna().tolist() == [True, False, True]
    assert table["change (points)"].iloc[1] == pytest.approx(13.3)
    thesis = reference.thesis_auc("exp2", "mnist", "anogan", False, 3)
    assert table["thesis (%)"].iloc[1] == thesis.mean
    text = latent_search.rerun_statement(table)
    assert "standard, 1 class (3): +13.3 points" in text
    assert f"from {67.9 - thesis.mean:+.1f} to {81.2 - thesis.mean:+.1f}" in text
    assert f"mean distance from {abs(67.9 - thesis.mean):.1f} to {abs(81.2 - thesis.mean):.1f}" in text
    between = 67.9 <= thesis.mean <= 81.2
    assert f"searches' ROC-AUCs on {int(between)} of them" + (" (3)" if between else "") in text
    above = latent_search.rerun_statement(latent_search.rerun_table(
        [_anogan(3, None, thesis.mean / 100 + 0.05, 0.01)], [_anogan(3, None, thesis.mean / 100 + 0.02, 0.001)]))
    assert "on 0 of them" in above and "from +5.0 to +2.0 (the mean distance from 5.0 to 2.0)" in above
    assert "collapsed" not in text and table["GAN collapsed"].tolist() == ["", "", ""]
    collapsed = [dict(_anogan(0, 1.0, 0.927, 0.01), collapsed=True), dict(_anogan(3, None, 0.679, 0.01), collapsed=False)]
    flagged = latent_search.rerun_table(collapsed, [dict(_anogan(0, 1.0, 0.93, 0.001), collapsed=True)])
    assert flagged["GAN collapsed"].tolist() == ["no", "yes"]
    assert "its generator collapsed to a few images in 1 of them" in latent_search.rerun_statement(flagged)
    assert "2 of the first sweep's 3 cells are still to rerun" in text
    assert table["same GAN"].tolist() == ["", "yes", ""] and "slightly different GAN" not in text
    other = latent_search.rerun_table(first, [_anogan(3, None, 0.812, 0.001, losses=(2.0, 1.6))])
    assert other["same GAN"].iloc[1] == "no"
    assert "slightly different GAN for standard class 3" in latent_search.rerun_statement(other)
    assert "No AnoGAN cell" in latent_search.rerun_statement(latent_search.rerun_table(first, []))


def test_rerun_points_draw_each_kind_in_its_own_panel():
    first = [_anogan(3, None, 0.679, 0.01), _anogan(0, None, 0.914, 0.01), _anogan(0, 1.0, 0.927, 0.01)]
    table = latent_search.rerun_table(first, [_anogan(3, None, 0.812, 0.001)])
    panels = latent_search.rerun_points(table)
    assert list(panels) == ["standard", "Lipschitz K=1"]
    classes, aucs, references = panels["standard"]
    assert classes == [0, 3]
    assert aucs == {"first sweep, rate 0.01": [91.4, 67.9], "rerun, rate 0.001": [None, 81.2]}
    thesis = reference.thesis_auc("exp2", "mnist", "anogan", False, 3)
    assert references[1] == (thesis.mean, thesis.std)
    assert panels["Lipschitz K=1"][1]["rerun, rate 0.001"] == [None]
    import matplotlib

    matplotlib.use("Agg")
    figure = plots.variant_panels(panels)
    assert [axis.get_title() for axis in figure.axes] == ["standard", "Lipschitz K=1"]
    markers = {c.get_label(): len(c.get_offsets()) for c in figure.axes[0].collections if c.get_label() in aucs}
    assert markers == {"first sweep, rate 0.01": 2, "rerun, rate 0.001": 1}
    legend = figure.axes[1].get_legend()
    assert {text.get_text() for text in legend.get_texts()} >= set(aucs)   # one legend names both searches
    matplotlib.pyplot.close(figure)


def test_first_sweep_records_come_from_the_archive(tmp_path):
    assert latent_search.first_sweep_records(tmp_path) == []
    folder = tmp_path / latent_search.FIRST_SWEEP_FOLDER / "exp2" / "full"
    folder.mkdir(parents=True)
    (folder / "one.jsonl").write_text(json.dumps(_anogan(3, None, 0.679, 0.01)) + "\n")
    assert [r["normal_class"] for r in latent_search.first_sweep_records(tmp_path)] == [3]


def test_the_detectors_default_search_is_the_one_the_committed_full_records_chose():
    """The default rests on evidence: over the study's committed thesis-budget records, the search
    with the largest mean gain is AnoGAN's default, and it gains on every class measured."""
    records = latent_search.LATENT_SEARCH.records("full", run=False)
    if len(records) < 2:
        pytest.skip("fewer than two committed latent-search records at full")
    name, changes = latent_search.best_search(records)
    assert "adlip's default" in name, name
    assert all(change > 0 for change in changes), changes
