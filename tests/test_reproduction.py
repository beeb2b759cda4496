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
