"""The attacks study (chapter 16): its budget, its records' files, one real smoke run, the lineup's
families, the committed record and the views that draw a record."""
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest

from adlip.detectors import registry
from adlip.robustness import NORMALISATION_MARGIN
from adlip.studies import catalog
from adlip.studies.attacks import (ATTACKS, LINEUP, AttackBudget, AttackSpec, entry_of, lineup, ordered,
                                   record_file, run_attacks, saved_record)

REPO = Path(__file__).resolve().parents[1]
SMOKE = AttackSpec("mnist", 0, 0, "smoke")
SMOKE_DETECTORS = ["Deep SVDD oc, standard", "Deep SVDD sb, standard", "Deep SVDD oc, Lipschitz",
                   "Deep SVDD sb, Lipschitz", "DCAE, standard", "DCAE, Lipschitz", "AnoGAN, standard",
                   "one-class HKR, Lipschitz"]


def test_budget_per_profile():
    smoke, quick, full = (AttackBudget.resolve(p) for p in ("smoke", "quick", "full"))
    assert (smoke.train_size, smoke.attacked, smoke.steps, smoke.l2) == (256, 24, 3, (0.0, 0.5, 2.0))
    assert not smoke.anogan_lipschitz and quick.anogan_lipschitz and full.anogan_lipschitz
    assert (quick.train_size, quick.attacked, quick.steps, len(quick.radii)) == (2000, 100, 10, 41)
    assert (full.train_size, full.anogan_train, full.attacked, full.steps) == (None, None, 500, 50)
    assert smoke.epochs_scale == 0.001 and quick.epochs_scale == 0.08 and full.latent_steps == 500
    assert quick.radii[0] == 0.0 and math.isclose(quick.radii[-1], 4.0)


def test_budget_never_trains_on_more_than_the_profile_gives_the_data_set():
    cifar = AttackBudget.resolve("quick", "cifar10")
    assert (cifar.train_size, cifar.anogan_train, cifar.epochs_scale, cifar.test_size) == (1000, 1000, 0.02, 2000)
    assert AttackBudget.resolve("full", "cifar10").train_size is None


def test_budget_refuses_an_unknown_profile_or_field():
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        AttackBudget.resolve("huge")
    with pytest.raises(ValueError, match=r"unknown AttackBudget fields \['stpes'\]"):
        AttackBudget.resolve("smoke", stpes=3)


def test_caption_states_the_budget():
    text = AttackBudget.resolve("quick", "cifar10").caption()
    for part in ("quick profile, cifar10", "1000 training images", "100 normal and 100 anomalous", "10 PGD steps",
                 "L2 budgets 0, 0.25, 0.5, 1, 2, 4", "AnoGAN (standard and Lipschitz", "60 test images"):
        assert part in text, part


def test_a_spec_names_its_record_file():
    assert record_file(AttackSpec("cifar10", 3, 1, "quick")) == "attacks-cifar10-c3-s1.json"
    assert ATTACKS.folder("quick") / record_file(SMOKE) == Path("results/attacks/quick/attacks-mnist-c0-s0.json")
    with pytest.raises(ValueError, match="normal_class"):
        AttackSpec("mnist", 10)
    with pytest.raises(ValueError, match="unknown profile"):
        AttackSpec("mnist", 0, 0, "huge")


def test_the_study_is_in_the_catalog():
    assert catalog.get_study("attacks") is ATTACKS
    assert [spec.dataset for spec in ATTACKS.grid("quick")] == ["mnist", "cifar10"]


def test_families_come_from_the_registry_not_from_names():
    for entry in LINEUP:
        algorithm = registry.get_algorithm(entry.algorithm)   # every family is a registered algorithm
        assert entry_of(entry.name) is entry
        assert entry.scaling == algorithm.scaling
    assert entry_of("Deep SVDD sb, Lipschitz").algorithm == "deepsvdd-sb"
    assert entry_of("one-class HKR, Lipschitz").scaling == "tanh" and entry_of("DCAE, standard").scaling == "gcn"
    assert entry_of("DCAE, standard").pretrained_by == "deepsvdd-oc"
    with pytest.raises(ValueError, match="no detector 'DCAE, robust'"):   # a name is looked up, never split
        entry_of("DCAE, robust")
    assert [e.name for e in lineup(AttackBudget.resolve("smoke"))] == SMOKE_DETECTORS
    assert ordered(reversed(SMOKE_DETECTORS)) == SMOKE_DETECTORS


def test_the_committed_cifar10_record_is_read_and_drawn():
    record = saved_record(AttackSpec("cifar10", 0, 0, "quick"), REPO / "results")
    assert record is not None and record["dataset"] == "cifar10"
    recorded = AttackBudget.of_record(record)
    expected = replace(AttackBudget.resolve("quick", "cifar10"), ascent_starts=None, ascent_steps=None)
    # The radii come from np.geomspace, whose last bit depends on the CPU's vector instructions:
    # a record made on another machine may differ from today's in the final digit, nowhere else.
    assert recorded.radii == pytest.approx(expected.radii, rel=1e-12, abs=0)
    assert replace(recorded, radii=expected.radii) == expected
    assert saved_record(AttackSpec("cifar10", 0, 1, "quick"), REPO / "results") is None
    _draw_everything(record)


def _draw_everything(record):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adlip.views import attacks as views

    budget_text = views.caption(record)
    tables = [views.detector_table(record), views.curve_table(record, "l2"), views.curve_table(record, "linf"),
              views.direction_table(record), views.certificate_table(record), views.summary_table(record)]
    for table in tables:
        assert table.caption == budget_text and "Budget (" in table.to_markdown()
        assert [row[0] for row in table.rows] == ordered(row[0] for row in table.rows)
    assert [row[0] for row in tables[0].rows] == ordered(record["results"]["detectors"])
    for figure in (views.plot_curves(record, "l2"), views.plot_curves(record, "linf"), views.plot_certificates(record)):
        plt.close(figure)
    assert "**DCAE**" in views.comparison(record).data
    assert "Saved by adlip" in views.saved_run_note(record).data


@pytest.fixture(scope="module")
def smoke_record():
    """One real run at the smoke budget on MNIST (about a minute and a half on 2 busy cores)."""
    if not os.environ.get("ADLIP_DATA_DIR"):
        pytest.skip("set ADLIP_DATA_DIR to a folder with mnist.npz")
    return run_attacks(SMOKE)


def _finite(value) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def test_a_smoke_run_measures_every_detector(smoke_record):
    results = smoke_record["results"]
    assert (smoke_record["dataset"], smoke_record["profile"], smoke_record["normal_class"]) == ("mnist", "smoke", 0)
    assert ordered(results["detectors"]) == SMOKE_DETECTORS and list(results["curves"]) == SMOKE_DETECTORS
    assert sorted(results["certificates"]) == sorted(n for n in SMOKE_DETECTORS if "Lipschitz" in n)
    assert _finite(results["curves"]) and _finite(results["certificates"]) and results["seconds"] > 0
    for name, detector in results["detectors"].items():
        entry = entry_of(name)
        assert (detector["algorithm"], detector["variant"]) == (entry.algorithm, entry.variant)
        assert (detector["k"] is None) == (not entry.lipschitz) and 0 <= detector["clean_auc"] <= 1
        assert detector["width"] == (2.0 if entry.scaling == "tanh" else 1.0)
        assert len(results["curves"][name]["l2"]["epsilons"]) == len(results["budget"]["anogan_l2" if entry.searched
                                                                                       else "l2"])
    assert results["detectors"]["DCAE, standard"]["train_seconds"] is None   # it is Deep SVDD's pretrained DCAE


def test_each_certificate_uses_a_constant_its_measured_slope_stays_under(smoke_record):
    results = smoke_record["results"]
    for name, certificate in results["certificates"].items():
        k = results["detectors"][name]["k"]
        assert certificate["lipschitz"] == results["detectors"][name]["constant"]
        assert 0 < certificate["measured_lipschitz"] <= certificate["lipschitz"] <= (1 + k) * (1 + NORMALISATION_MARGIN)
        assert certificate["measured_lipschitz"] <= k * (1 + NORMALISATION_MARGIN), name


def test_the_study_writes_a_smoke_record_then_reads_it_back(smoke_record, tmp_path):
    study = replace(ATTACKS, run=lambda spec: dict(smoke_record))   # the run above, not a second one
    [written] = study.records("smoke", tmp_path, specs=[SMOKE])
    path = tmp_path / "attacks" / "smoke" / "attacks-mnist-c0-s0.json"
    assert path.is_file() and json.loads(path.read_text()) == written
    assert {k: v for k, v in written.items() if k != "seconds"} == smoke_record
    assert study.records("smoke", tmp_path, run=False, specs=[SMOKE]) == [written]
    _draw_everything(written)
