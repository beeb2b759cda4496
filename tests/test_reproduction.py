"""adlip.reproduction: ours against the thesis on exactly the classes that have records."""
import statistics

import pytest

from adlip import reference as ref
from adlip import reproduction

from test_tables import fake_record


def test_the_thesis_mean_is_taken_over_the_same_classes_as_ours():
    records = [fake_record(algorithm="dcae", normal_class=c, auc=0.9) for c in (0, 2)]
    (row,) = reproduction.reproduction_rows(records, "mnist")
    thesis = statistics.fmean(ref.thesis_auc("exp2", "mnist", "dcae", False, c).mean for c in (0, 2))
    assert row["classes"] == [0, 2] and row["ours"] == pytest.approx(90.0)
    assert row["thesis"] == pytest.approx(thesis) and row["difference"] == pytest.approx(90.0 - thesis)


def test_seeds_are_averaged_per_class_before_the_classes():
    records = [fake_record(normal_class=0, seed=0, auc=0.8), fake_record(normal_class=0, seed=1, auc=1.0),
               fake_record(normal_class=1, seed=0, auc=0.6)]
    (row,) = reproduction.reproduction_rows(records, "mnist")
    assert row["ours"] == pytest.approx(statistics.fmean([90.0, 60.0]))


def test_the_verdict_holds_each_model_to_its_goal():
    k = ref.thesis_chosen_constant("mnist", "dcae")
    thesis0 = ref.thesis_auc("exp2", "mnist", "dcae", True, 0).mean
    near = fake_record(normal_class=0, lipschitz=k, auc=(thesis0 - 2.5) / 100)
    table = reproduction.reproduction_table([near], "mnist")
    assert table.rows[0][1] == "Lipschitz" and table.rows[0][-1] == "within"
    far = fake_record(normal_class=0, auc=(ref.thesis_auc("exp2", "mnist", "dcae", False, 0).mean - 2.5) / 100)
    assert reproduction.reproduction_table([far], "mnist").rows[0][-1] == "outside"


def test_claims_compare_cost_and_ratio_on_the_classes_both_models_ran():
    k = ref.thesis_chosen_constant("mnist", "dcae")
    records = [fake_record(normal_class=c, auc=0.95, bound=1.0) for c in (0, 1)]
    records += [fake_record(normal_class=0, lipschitz=k, auc=0.90, bound=0.25)]   # class 1 has no Lipschitz run
    (row,) = reproduction.claims_rows(records, "mnist")
    assert row["classes"] == [0]
    assert row["ours"]["cost"] == pytest.approx(5.0) and row["ours"]["ratio"] == pytest.approx(4.0)
    thesis_cost = (ref.thesis_auc("exp2", "mnist", "dcae", False, 0).mean
                   - ref.thesis_auc("exp2", "mnist", "dcae", True, 0).mean)
    assert row["thesis"]["cost"] == pytest.approx(thesis_cost)
    assert reproduction.claims_table(records, "mnist").rows[0][2] == "+5.0"


def test_a_cell_is_off_only_beyond_twice_the_thesis_spread_and_a_point():
    thesis = ref.thesis_auc("exp2", "mnist", "dcae", False, 2)   # 89.1 +- 0.5: allowed 1.0
    allowed = max(2 * thesis.std, 1.0)
    near = fake_record(algorithm="dcae", normal_class=2, auc=(thesis.mean + allowed - 0.1) / 100)
    far = fake_record(algorithm="dcae", normal_class=2, auc=(thesis.mean - allowed - 0.1) / 100)
    assert reproduction.off_cells([near], "mnist") == []
    (cell,) = reproduction.off_cells([far], "mnist")
    assert (cell["normal_class"], cell["seeds"], cell["our_std"]) == (2, 1, None)
    assert cell["difference"] == pytest.approx(-allowed - 0.1) and cell["allowed"] == pytest.approx(allowed)
    text = reproduction.off_cells_statement([far], "mnist")
    assert text.startswith("1 of 1 per-class cells")
    assert "One seed so far" in text and "DCAE standard, class 2 -" in text
    assert reproduction.off_cells_statement([near], "mnist").startswith("0 of 1 per-class cells")


def test_our_own_seeds_say_whether_an_off_cell_is_within_their_spread():
    thesis = ref.thesis_auc("exp2", "mnist", "dcae", False, 3).mean   # 91.1 +- 0.5
    wide = [fake_record(algorithm="dcae", normal_class=3, seed=s, auc=(thesis - 5 + d) / 100)
            for s, d in enumerate((-6.0, 0.0, 6.0))]                   # mean -5, std 4.9: within 9.8
    narrow = [fake_record(algorithm="dcae", normal_class=4, seed=s, auc=(ref.thesis_auc(
        "exp2", "mnist", "dcae", False, 4).mean - 5 + d) / 100) for s, d in enumerate((-0.5, 0.0, 0.5))]
    text = reproduction.off_cells_statement(wide + narrow, "mnist")
    assert text.startswith("2 of 2 per-class cells")
    assert "DCAE standard, class 3" in text and "over 3 seeds" in text
    line3 = next(line for line in text.splitlines() if "class 3" in line)
    line4 = next(line for line in text.splitlines() if "class 4" in line)
    assert "; within 2 of our own" in line3 and "; beyond 2 of our own" in line4
    assert reproduction.off_cells_statement([], "mnist") == "No records to compare per class yet."


def test_a_test_subsets_sampling_error_widens_the_yardstick_and_the_whole_test_set_has_none():
    assert reproduction.subset_auc_std(70.0, 10_000) == 0.0 and reproduction.subset_auc_std(70.0, None) == 0.0
    at_1000 = reproduction.subset_auc_std(70.0, 1000)
    assert 2.0 < at_1000 < 2.5                       # 2.4 points of standard error, shrunk by sqrt(0.9)
    assert reproduction.subset_auc_std(70.0, 100) > 2.5 * at_1000
    assert reproduction.subset_auc_std(99.0, 1000) < at_1000 / 3


def test_anogan_cells_are_judged_with_both_sides_test_subsets():
    thesis = ref.thesis_auc("exp2", "mnist", "anogan", False, 3)       # 78.7 +- 2.4, scored on 1000 images
    seeds_only = 2 * thesis.std
    beyond_seeds = fake_record(algorithm="anogan", normal_class=3, n_test=1000,
                               auc=(thesis.mean - seeds_only - 1.0) / 100)
    assert reproduction.off_cells([beyond_seeds], "mnist") == []       # within once the subsets count
    far = dict(beyond_seeds, auc=(thesis.mean - 12.0) / 100)
    (cell,) = reproduction.off_cells([far], "mnist")
    both = (reproduction.subset_auc_std(thesis.mean - 12.0, 1000) ** 2
            + reproduction.subset_auc_std(thesis.mean, 1000) ** 2) ** 0.5
    assert cell["subset_std"] == pytest.approx(both)
    assert cell["allowed"] == pytest.approx(2 * (thesis.std ** 2 + both ** 2) ** 0.5)
    assert seeds_only + 1.0 < cell["allowed"] < 12.0
    text = reproduction.off_cells_statement([far], "mnist")
    assert "sampling error is added" in text and f"AnoGAN standard, class 3 -12.0 ({cell['allowed']:.1f})" in text


def test_anogans_goal_is_twice_the_spread_of_a_class_mean_and_narrows_with_more_classes():
    def records(classes, offset):
        return [fake_record(algorithm="anogan", normal_class=c, n_test=1000,
                            auc=(ref.thesis_auc("exp2", "mnist", "anogan", False, c).mean + offset) / 100)
                for c in classes]

    def rows(classes, offset):
        return reproduction.reproduction_rows(records(classes, offset), "mnist")[0]

    one, ten = rows([3], 0.0), rows(range(10), 0.0)
    thesis3 = ref.thesis_auc("exp2", "mnist", "anogan", False, 3)
    assert one["goal"] == pytest.approx(2 * reproduction.cell_spread("anogan", thesis3.mean, 1000, thesis3))
    assert ten["goal"] < one["goal"] / 2                   # ten independent classes: about a third
    assert reproduction._verdict(rows(range(10), -(ten["goal"] - 0.2))) == "within"
    assert reproduction._verdict(rows(range(10), -(ten["goal"] + 0.2))) == "outside"
    table = reproduction.reproduction_table(records([3], 0.0), "mnist")
    assert table.rows[0][-2] == f"±{one['goal']:.1f}" and "for AnoGAN twice the standard deviation" in table.caption
