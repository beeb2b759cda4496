"""Tests of adlip.tables on synthetic records.

Every record here is made up in the test (clearly fake numbers) to check aggregation,
layout, reference columns and rendering; none of them is a result.
"""
import statistics
import subprocess
import sys

import pytest

from adlip import reference as ref
from adlip import tables
from adlip.metrics import selection_score


def fake_record(experiment="exp2", dataset="mnist", algorithm="dcae", normal_class=0, lipschitz=None,
                seed=0, auc=0.9, bound=1.0, sigma=2.0, status="ok", profile="quick", epochs=28,
                n_train=5923, n_test=10000):
    """A made-up result record with the fields of adlip's result format."""
    return {"run_id": f"fake-{experiment}-{dataset}-{algorithm}-{normal_class}-{lipschitz}-{seed}",
            "experiment": experiment, "profile": profile, "algorithm": algorithm, "dataset": dataset,
            "normal_class": normal_class, "lipschitz": lipschitz, "seed": seed, "epochs": epochs,
            "auc": auc if status == "ok" else None, "lip_lower_bound": bound if status == "ok" else None,
            "lip_sigma": sigma if status == "ok" else None, "n_train": n_train, "n_test": n_test,
            "status": status, "error": None if status == "ok" else "fake failure"}


def column(table, name):
    return table.header.index(name)


def row_of(table, *leading):
    return next(row for row in table.rows if tuple(row[:len(leading)]) == leading)


def exp1_records(dataset="mnist", algorithm="dcae", aucs=None, bounds=None):
    aucs = aucs or {0.5: 0.80, 2.0: 0.90, 50.0: 0.95}
    bounds = bounds or {0.5: 0.05, 2.0: 0.10, 50.0: 1.00}
    return [fake_record("exp1", dataset, algorithm, 0, k, seed, aucs[k], bounds[k])
            for k in aucs for seed in range(2)]


def test_auc_is_mean_and_population_std_over_seeds_in_percent():
    records = [fake_record(seed=s, auc=a) for s, a in enumerate([0.90, 0.92, 0.97])]
    stats = tables.aggregate_auc(records)[("mnist", "dcae", None, 0)]
    assert stats.mean == pytest.approx(93.0)
    assert stats.std == pytest.approx(statistics.pstdev([90, 92, 97]))
    assert stats.n == 3


def test_single_run_has_no_std():
    stats = tables.aggregate_auc([fake_record(auc=0.5)])[("mnist", "dcae", None, 0)]
    assert stats == (50.0, None, 1)


def test_bound_is_max_over_seeds_with_that_runs_sigma():
    records = [fake_record(seed=0, bound=1.2, sigma=1.1), fake_record(seed=1, bound=1.5, sigma=2.6),
               fake_record(seed=2, bound=1.4, sigma=0.4)]
    assert tables.aggregate_bound(records)[("mnist", "dcae", None, 0)] == (1.5, 2.6, 3)


def test_failed_runs_are_excluded_and_counted():
    records = [fake_record(seed=0, auc=0.8), fake_record(seed=1, status="failed")]
    assert tables.aggregate_auc(records)[("mnist", "dcae", None, 0)].n == 1
    table = tables.exp2_auc_table(records, lipschitz=False)
    assert "1 failed run excluded" in table.caption
    assert row_of(table, "MNIST", "0")[column(table, "DCAE adlip")] == "80.0"


def test_lipschitz_runs_and_standard_runs_are_kept_apart():
    records = [fake_record(auc=0.9), fake_record(lipschitz=2, auc=0.7)]
    keys = set(tables.aggregate_auc(records))
    assert keys == {("mnist", "dcae", None, 0), ("mnist", "dcae", 2.0, 0)}


def test_exp1_auc_table_layout_and_reference_columns():
    table = tables.exp1_auc_table(exp1_records())
    assert table.header[:5] == ["Data set", "K", "DCAE adlip", "DCAE thesis", "DCAE Δ"]
    assert len(table.header) == 2 + 3 * len(ref.ALGORITHMS)
    assert [row[1] for row in table.rows] == ["0.5", "1", "2", "5", "10", "50", "100"]
    row = row_of(table, "MNIST", "2")
    assert row[column(table, "DCAE adlip")] == "90.0 ± 0.0"
    assert row[column(table, "DCAE thesis")] == "90.9 ± 0.1"
    assert row[column(table, "DCAE Δ")] == "-0.9"
    assert row[column(table, "AnoGAN thesis")] == "91.7"
    assert row[column(table, "AnoGAN adlip")] == tables.MISSING
    assert row[column(table, "AnoGAN Δ")] == tables.MISSING
    assert row_of(table, "MNIST", "1")[column(table, "DCAE adlip")] == tables.MISSING


def test_exp1_table_marks_cells_with_fewer_seeds():
    records = exp1_records() + [fake_record("exp1", "mnist", "dcae", 0, 2.0, 2, 0.93)]
    table = tables.exp1_auc_table(records)
    assert row_of(table, "MNIST", "50")[column(table, "DCAE adlip")].endswith("(n=2)")
    assert "(n=" not in row_of(table, "MNIST", "2")[column(table, "DCAE adlip")]


def test_exp1_bound_table_shows_the_thesis_gap_as_missing():
    records = exp1_records(dataset="cifar10", algorithm="anogan")
    table = tables.exp1_bound_table(records)
    row = row_of(table, "CIFAR-10", "0.5")
    assert row[column(table, "AnoGAN adlip")] == "0.050 (2.000σ)"
    assert row[column(table, "AnoGAN thesis")] == tables.MISSING
    assert row[column(table, "AnoGAN Δ")] == tables.MISSING
    row = row_of(table, "CIFAR-10", "50")
    assert row[column(table, "AnoGAN thesis")] == "0.120 (0.515σ)"
    assert row[column(table, "AnoGAN Δ")] == "+0.880"


def test_extra_constants_get_rows_without_thesis_values():
    records = [fake_record("exp1", lipschitz=0.1, auc=0.6, bound=0.01)]
    row = row_of(tables.exp1_auc_table(records), "MNIST", "0.1")
    assert row[2:5] == ["60.0", tables.MISSING, tables.MISSING]


def test_selection_scores_use_mean_auc_and_max_bound():
    records = exp1_records(aucs={1.0: 0.80, 10.0: 0.95}, bounds={1.0: 0.1, 10.0: 1.0})
    records.append(fake_record("exp1", lipschitz=10.0, seed=5, auc=0.95, bound=2.0))
    best, scores = tables.selection_scores(records)[("mnist", "dcae")]
    assert (best, scores) == selection_score({1.0: 0.80, 10.0: 0.95}, {1.0: 0.1, 10.0: 2.0})
    assert scores[10.0] == pytest.approx(0.95 - 1 / 20)
    assert tables.chosen_constants(records) == {("mnist", "dcae"): 10.0}


def test_selection_table_marks_the_best_constant_on_both_sides():
    table = tables.selection_table(exp1_records())
    mnist_50 = row_of(table, "MNIST", "50")
    assert mnist_50[column(table, "DCAE adlip")] == f"{0.95 - 1 / 20:.3f} *"
    assert mnist_50[column(table, "DCAE thesis")].endswith("*")  # eq. 5.2 on the thesis's numbers
    assert row_of(table, "MNIST", "1")[column(table, "DCAE adlip")] == tables.MISSING


def test_chosen_constants_table_shows_the_thesis_choice_and_its_recomputation():
    table = tables.chosen_constants_table(exp1_records())
    row = row_of(table, "MNIST")
    assert row[column(table, "DCAE adlip")] == "50"
    assert row[column(table, "DCAE thesis")] == "2"
    assert row[column(table, "DCAE thesis eq. 5.2")] == "50"
    assert row[column(table, "AnoGAN adlip")] == tables.MISSING
    assert row[column(table, "AnoGAN thesis")] == "1"


def pretraining_records(experiment, aucs):
    """Made-up experiment 1 records of both Deep SVDDs, two seeds each, at the given ROC-AUCs per K."""
    return [fake_record(experiment, "mnist", algorithm, 0, k, seed, aucs[k] + 0.01 * seed, profile="full")
            for algorithm in tables.PRETRAINING_ALGORITHMS for k in aucs for seed in range(2)]


def test_pretraining_table_puts_both_variants_beside_the_thesis():
    pretrained = pretraining_records("exp1", {0.5: 0.60, 1.0: 0.65})
    unpretrained = pretraining_records("unpretrained", {0.5: 0.30, 1.0: 0.31})
    dcae = fake_record("exp1", "mnist", "dcae", 0, 0.5, profile="full")
    table = tables.pretraining_table(pretrained + [dcae], unpretrained)
    row = row_of(table, "0.5")
    soft = tables.ALGORITHM_LABELS["deepsvdd-sb"]
    assert row[column(table, f"{soft} pretrained")] == "60.5 ± 0.5"
    assert row[column(table, f"{soft} not pretrained")] == "30.5 ± 0.5"
    thesis = ref.thesis_auc("exp1", "mnist", "deepsvdd-sb", True, 0.5)
    assert row[column(table, f"{soft} thesis")] == f"{thesis.mean:.1f} ± {thesis.std:.1f}"
    assert row_of(table, "2")[column(table, f"{soft} not pretrained")] == tables.MISSING
    assert "DCAE" not in " ".join(table.header)                     # only the two Deep SVDDs
    assert "profile full" in table.caption and "2 seeds" in table.caption


def test_pretraining_gaps_are_mean_absolute_differences_to_the_thesis_over_shared_constants():
    pretrained = pretraining_records("exp1", {0.5: 0.60, 1.0: 0.65, 2.0: 0.70})
    unpretrained = pretraining_records("unpretrained", {0.5: 0.30, 1.0: 0.31})
    gaps = tables.pretraining_gaps(pretrained, unpretrained)
    for algorithm in tables.PRETRAINING_ALGORITHMS:
        for variant, aucs in (("pretrained", (60.5, 65.5)), ("not pretrained", (30.5, 31.5))):
            thesis = [ref.thesis_auc("exp1", "mnist", algorithm, True, k).mean for k in (0.5, 1.0)]
            expected = statistics.fmean(abs(a - t) for a, t in zip(aucs, thesis))
            assert gaps[algorithm, variant] == (pytest.approx(expected), 2)
    assert tables.pretraining_gaps(pretrained, []) == {}


def test_exp2_auc_table_uses_class_names_and_adds_the_paper_for_standard_models():
    records = [fake_record(dataset="cifar10", algorithm="deepsvdd-oc", normal_class=8, auc=0.7, seed=s)
               for s in range(3)]
    standard = tables.exp2_auc_table(records, lipschitz=False)
    assert [row[1] for row in standard.rows] == ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                 "frog", "horse", "ship", "truck"]
    row = row_of(standard, "CIFAR-10", "ship")
    assert row[column(standard, "DeepSVDD OC adlip")] == "70.0 ± 0.0"
    assert row[column(standard, "DeepSVDD OC thesis")] == "71.6 ± 2.3"
    assert row[column(standard, "DeepSVDD OC Ruff et al.")] == "75.9"
    lipschitz = tables.exp2_auc_table(records, lipschitz=True)
    assert "DeepSVDD OC Ruff et al." not in lipschitz.header
    assert row_of(lipschitz, "CIFAR-10", "ship")[column(lipschitz, "DeepSVDD OC thesis")] == "75.2 ± 0.4"
    assert row_of(lipschitz, "CIFAR-10", "ship")[column(lipschitz, "DeepSVDD OC adlip")] == tables.MISSING


def test_exp2_lipschitz_tables_name_the_constants_used():
    records = [fake_record(lipschitz=2.0, auc=0.9), fake_record(algorithm="anogan", lipschitz=1, auc=0.8),
               fake_record(dataset="cifar10", lipschitz=10.0, auc=0.6)]
    table = tables.exp2_bound_table(records, lipschitz=True)
    assert "MNIST: adlip DCAE 2, AnoGAN 1; thesis DCAE 2, DeepSVDD SB 50" in table.notes[0]
    assert "CIFAR-10: adlip DCAE 10; thesis DCAE 10" in table.notes[0]
    assert row_of(table, "MNIST", "0")[column(table, "DCAE thesis")] == "0.127 (2.129σ)"


def test_several_constants_for_one_exp2_cell_are_rejected():
    records = [fake_record(lipschitz=2.0), fake_record(lipschitz=5.0)]
    with pytest.raises(ValueError, match="several Lipschitz constants"):
        tables.exp2_auc_table(records, lipschitz=True)


def test_mixed_profiles_need_an_explicit_choice():
    records = [fake_record(profile="quick", auc=0.9), fake_record(profile="smoke", auc=0.5)]
    with pytest.raises(ValueError, match="mix profiles"):
        tables.exp2_auc_table(records, lipschitz=False)
    table = tables.exp2_auc_table(records, lipschitz=False, profile="smoke")
    assert row_of(table, "MNIST", "0")[2] == "50.0"


def test_relative_change_and_ratio_reproduce_the_thesis_summaries():
    for dataset in ref.DATASETS:
        for algorithm in ref.ALGORITHMS:
            def published(name):
                return ref.thesis_summary(name, dataset, algorithm)
            change = tables.relative_change(published("mean_auc_standard"), published("mean_auc_lipschitz"))
            ratio = tables.robustness_ratio(published("max_bound_standard"), published("max_bound_lipschitz"))
            assert change == pytest.approx(published("relative_change"), abs=0.1)
            assert ratio == pytest.approx(published("robustness_ratio"), abs=0.006)
    with pytest.raises(ValueError, match="undefined"):
        tables.relative_change(90.0, 0.0)


def summary_records():
    records = []
    for normal_class, (standard, lipschitz) in enumerate([(0.90, 0.80), (0.96, 0.84)]):
        for seed in range(2):
            records.append(fake_record(normal_class=normal_class, seed=seed, auc=standard,
                                       bound=1.0 + normal_class))
            records.append(fake_record(normal_class=normal_class, seed=seed, lipschitz=2.0, auc=lipschitz,
                                       bound=0.1 * (1 + seed)))
    return records


def test_exp2_summaries_arithmetic():
    summaries = tables.exp2_summaries(summary_records())
    def value(name):
        return summaries[name, "mnist", "dcae"]
    assert value("mean_auc_standard") == (pytest.approx(93.0), 2)
    assert value("mean_auc_lipschitz").value == pytest.approx(82.0)
    assert value("relative_change").value == pytest.approx(100 * (93 - 82) / 82)
    assert value("max_bound_standard").value == 2.0
    assert value("max_bound_lipschitz").value == pytest.approx(0.2)
    assert value("robustness_ratio") == (pytest.approx(10.0), 2)
    assert ("mean_auc_standard", "mnist", "anogan") not in summaries


def test_exp2_summary_table_layout():
    table = tables.exp2_summary_table(summary_records())
    assert [row[1] for row in table.rows] == [tables.SUMMARY_LABELS[n] for n in ref.SUMMARIES]
    change = row_of(table, "MNIST", tables.SUMMARY_LABELS["relative_change"])
    assert change[column(table, "DCAE adlip")] == "+13.4 (2/10 classes)"
    assert change[column(table, "DCAE thesis")] == "+10.5"
    assert change[column(table, "DCAE Δ")] == "+2.9"
    ratio = row_of(table, "MNIST", tables.SUMMARY_LABELS["robustness_ratio"])
    assert ratio[column(table, "AnoGAN thesis")] == "57.08"
    assert ratio[column(table, "AnoGAN adlip")] == tables.MISSING


def test_budget_caption():
    records = [fake_record(seed=s) for s in range(3)]
    records += [fake_record(algorithm="anogan", seed=0, epochs=2, n_test=1000),
                fake_record(algorithm="deepsvdd-oc", seed=0, epochs=20, n_train=6000),
                fake_record(algorithm="deepsvdd-oc", seed=1, status="failed")]
    assert tables.budget_caption(records) == (
        "adlip: profile quick, epochs DCAE 28, DeepSVDD OC 20, AnoGAN 2, 3 seeds, "
        "5923–6000 train / 10000 test images (AnoGAN 1000); 1 failed run excluded.")
    assert tables.budget_caption([]) == "adlip: no runs yet."
    assert tables.budget_caption([fake_record(algorithm="iforest", epochs=None)]).startswith(
        "adlip: profile quick, 1 seed, 5923 train")


def test_budget_caption_has_a_clause_per_data_set():
    records = [fake_record(), fake_record(dataset="cifar10", epochs=7, n_train=1000, n_test=2000)]
    assert tables.budget_caption(records) == (
        "adlip, MNIST: profile quick, epochs DCAE 28, 1 seed, 5923 train / 10000 test images. "
        "CIFAR-10: profile quick, epochs DCAE 7, 1 seed, 1000 train / 2000 test images.")


def test_caption_names_only_the_data_sets_a_table_shows():
    records = [fake_record(experiment="exp2"),
               fake_record(experiment="exp2", dataset="cifar10", epochs=7, n_train=1000, n_test=2000)]
    assert tables.budget_caption(records, datasets=["mnist"]) == tables.budget_caption(records[:1])
    caption = tables.exp2_summary_table(records, datasets=["mnist"]).caption
    assert "CIFAR-10:" not in caption and "epochs DCAE 7" not in caption and "epochs DCAE 28" in caption


def test_caption_states_both_budgets():
    caption = tables.exp1_auc_table(exp1_records()).caption
    assert "adlip: profile quick" in caption and "2 seeds" in caption
    assert "thesis: epochs DCAE 350" in caption and "3 seeds (AnoGAN 1)" in caption
    assert "(AnoGAN 1000, drawn with seed 1234)" in caption


def test_tables_without_records_show_thesis_values_only():
    table = tables.exp2_auc_table([], lipschitz=True)
    assert len(table.rows) == 20
    assert all(row[2] == tables.MISSING for row in table.rows)
    assert row_of(table, "MNIST", "9")[column(table, "DCAE thesis")] == "72.5 ± 0.3"


def test_markdown_rendering():
    table = tables.Table("Fake", ["a", "b|c"], [["1", "x|y"], ["–", "2"]], caption="A caption.")
    assert tables.to_markdown(table) == (
        "**Fake**\n\n| a | b\\|c |\n| --- | --- |\n| 1 | x\\|y |\n| – | 2 |\n\nA caption.\n")
    assert table._repr_markdown_() == table.to_markdown()


def test_html_rendering_escapes_cells():
    html = tables.Table("Fake <1>", ["a"], [["x < y"]], caption="c & d").to_html()
    assert html.startswith("<table><caption>Fake &lt;1&gt;</caption>")
    assert "<td>x &lt; y</td>" in html and "<p>c &amp; d</p>" in html


def test_real_table_renders_with_one_line_per_row():
    table = tables.exp2_summary_table(summary_records())
    lines = table.to_markdown().splitlines()
    table_lines = [line for line in lines if line.startswith("|")]
    assert len(table_lines) == 2 + len(table.rows)
    assert all(line.count(" | ") == len(table.header) - 1 for line in table_lines[2:])


def test_tables_module_does_not_import_tensorflow():
    code = "import sys, adlip.tables; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _baseline_record(algorithm, normal_class, auc, seed=0, dataset="mnist"):
    return dict(experiment="baselines", profile="quick", algorithm=algorithm, dataset=dataset,
                normal_class=normal_class, lipschitz=None, seed=seed, auc=auc, status="ok",
                n_train=100, n_test=500, epochs=0, lip_lower_bound=None)


def test_baselines_table_per_class_and_mean():
    records = [_baseline_record("kde", c, 0.5 + c / 100) for c in range(10)]
    records += [_baseline_record("iforest", 0, 0.8), _baseline_record("iforest", 0, 0.9, seed=1)]
    table = tables.baselines_table(records)
    assert table.header[2:4] == ["Isolation Forest adlip", "KDE adlip"]
    first = table.rows[0]
    assert first[2] == "85.0 ± 5.0" and first[3] == "50.0"
    mean_row = table.rows[10]
    assert mean_row[1] == "mean" and mean_row[3] == "54.5" and mean_row[2] == "85.0 (1/10)"
    assert "Ruff" in table.header[-1]


def test_comparison_table_rows_per_variant_and_profile():
    records = [dict(_baseline_record("dcae", c, 0.9), experiment="exp2", lip_lower_bound=1.0) for c in range(2)]
    records += [dict(_baseline_record("dcae", c, 0.8), experiment="exp2", lipschitz=2.0, lip_lower_bound=0.1)
                for c in range(2)]
    records += [_baseline_record("kde", 0, 0.7)]
    table = tables.comparison_table(records, datasets=["mnist"])
    by_variant = {(row[0], row[1]): row for row in table.rows}
    assert by_variant["DCAE", "standard"][3:] == ["90.0 (2 classes)", "1.000"]
    assert by_variant["DCAE", "K = 2"][3:] == ["80.0 (2 classes)", "0.100"]
    assert by_variant["KDE", "standard"][3:] == ["70.0 (1 class)", "–"]


def test_budget_caption_states_every_phase_and_the_bound_budget():
    budget = {"lip_rounds": 10, "lip_pairs_per_round": 10_000_000}
    records = [
        dict(fake_record(profile="full", epochs=350), profile_budget=budget, budget={"dcae_epochs": 350}),
        dict(fake_record(algorithm="deepsvdd-oc", profile="full", epochs=250), profile_budget=budget,
             budget={"deepsvdd_epochs": 250, "pretrain_epochs": 350}),
        dict(fake_record(algorithm="anogan", lipschitz=50.0, profile="full", epochs=20), profile_budget=budget,
             budget={"gan_epochs": 20, "latent_steps": 500, "orthogonalization": "spectral"}),
    ]
    caption = tables.budget_caption(records)
    assert "epochs DCAE 350, DeepSVDD OC 350+250, AnoGAN 20" in caption
    assert "Lipschitz GAN layers normalised by spectral" in caption
    assert "bound over 10 rounds of 10 million random pairs" in caption


def test_budget_caption_of_records_without_a_bound_states_no_bound_budget():
    budget = {"lip_rounds": 10, "lip_pairs_per_round": 10_000_000}
    records = [dict(fake_record(experiment="baselines", algorithm=a, profile="full", epochs=None, bound=None, seed=s),
                    profile_budget=budget) for a in ("iforest", "ocsvm", "kde") for s in range(3)]
    caption = tables.budget_caption(records)
    assert "3 seeds" in caption and "epochs" not in caption
    assert "bound" not in caption


def test_pretraining_figure_has_a_panel_per_algorithm_and_a_line_per_variant_thesis_and_chance():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adlip import plots

    variants = {"pretrained": pretraining_records("exp1", {0.5: 0.60, 1.0: 0.65}),
                "not pretrained": pretraining_records("unpretrained", {0.5: 0.30})}
    fig = plots.pretraining_against_k(variants, ref.thesis_auc, algorithms=tables.PRETRAINING_ALGORITHMS)
    assert [ax.get_title() for ax in fig.axes] == [tables.ALGORITHM_LABELS[a] for a in tables.PRETRAINING_ALGORITHMS]
    for ax in fig.axes:
        lines = {line.get_label(): line for line in ax.lines}
        assert set(lines) == {"pretrained (adlip)", "not pretrained (adlip)", "thesis", "chance"}
        assert list(lines["not pretrained (adlip)"].get_ydata()) == pytest.approx([30.5])
        assert list(lines["thesis"].get_xdata()) == [0.5, 1.0]
    plt.close(fig)


def test_budget_caption_spans_records_with_and_without_the_phase_budget():
    """Older records keep only the Deep SVDD epochs; newer ones the pretraining+Deep SVDD budget."""
    old = fake_record("exp1", algorithm="deepsvdd-sb", lipschitz=1.0, epochs=20)
    new = dict(fake_record("exp1", algorithm="deepsvdd-sb", lipschitz=2.0, epochs=20),
               budget={"pretrain_epochs": 28, "deepsvdd_epochs": 20})
    unpretrained = dict(fake_record("exp1", algorithm="deepsvdd-sb", lipschitz=5.0, epochs=20),
                        budget={"pretrain_epochs": 0, "deepsvdd_epochs": 20})
    assert "DeepSVDD SB 20–28+20" in tables.budget_caption([new, old])
    assert "DeepSVDD SB 0+20–28+20" in tables.budget_caption([new, unpretrained])
    assert "epochs DCAE 8–100" in tables.budget_caption([fake_record(epochs=100), fake_record(epochs=8)])


def test_budget_caption_states_the_latent_searchs_rate_and_shows_a_mix():
    def anogan(rate):
        return dict(fake_record(algorithm="anogan", epochs=20, n_test=1000),
                    detector_params={"latent_steps": 500, "latent_learning_rate": rate})

    assert "AnoGAN latent search 500 steps at Adam rate 0.001" in tables.budget_caption([anogan(0.001)])
    assert "at Adam rate 0.001–0.01" in tables.budget_caption([anogan(0.01), anogan(0.001)])
