"""The companion chapters' studies (12 to 15): their budgets, the HKR and RealNVP studies' records, and
the functions the chapters call (moved out of the chapters, with their behaviour kept)."""
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import adlip  # noqa: F401  (before TensorFlow)
from adlip.views import companion_plots, companion_tables
from adlip.profiles import get_profile
from adlip.studies import hkr, realnvp, regsvdd, vae

BUDGETS = (regsvdd.RegSVDDBudget, hkr.HKRBudget, vae.VAEBudget, realnvp.RealNVPBudget)
PROFILES = ("smoke", "quick", "full")
COMMITTED_HKR = Path(__file__).resolve().parent.parent / "results" / "hkr" / "quick"


def _have_mnist():
    folder = os.environ.get("ADLIP_DATA_DIR")
    return bool(folder) and os.path.isfile(os.path.join(folder, "mnist.npz"))


# -- budgets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget_type", BUDGETS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_budget_resolves_per_profile(budget_type, profile):
    budget = budget_type.resolve(profile)
    assert budget.profile == profile
    assert budget == budget_type.resolve(get_profile(profile))
    assert budget.caption().startswith(f"Budget ({profile} profile)")


@pytest.mark.parametrize("budget_type", BUDGETS, ids=lambda b: b.__name__)
def test_every_budget_refuses_an_unknown_profile(budget_type):
    with pytest.raises(ValueError, match="unknown profile"):
        budget_type.resolve("huge")
    with pytest.raises(ValueError, match=f"{budget_type.__name__} has no budget for profile 'custom'"):
        budget_type.resolve(replace(get_profile("smoke"), name="custom"))


def test_budgets_take_the_profiles_fields_and_overrides():
    quick = get_profile("quick")
    assert regsvdd.RegSVDDBudget.resolve("quick").epochs_scale == quick.epochs_scale
    assert vae.VAEBudget.resolve("quick").epochs_scale == quick.epochs_scale
    assert hkr.HKRBudget.resolve("quick").classes == quick.classes
    assert hkr.HKRBudget.resolve("quick").epochs_scale == 0.012   # the dense network's 12 epochs, not the profile's
    assert hkr.HKRBudget.resolve("full").epochs_scale == get_profile("full").epochs_scale
    assert realnvp.RealNVPBudget.resolve("smoke").test_size == get_profile("smoke").test_size
    assert vae.VAEBudget.resolve("smoke", n_train=10).n_train == 10


def test_captions_state_the_sizes():
    caption = regsvdd.RegSVDDBudget.resolve("quick").caption()
    assert "2000 training images" in caption and "classes 0, 1, 2" in caption and "1000 images of class 0" in caption
    caption = vae.VAEBudget.resolve("quick").caption()
    assert "4000 training images" in caption and "1000 test images" in caption and "32 posterior samples" in caption
    caption = hkr.HKRBudget.resolve("quick").caption()
    assert "784-128-128-128-128-1" in caption and "12 training epochs" in caption and "1024 points" in caption
    assert "2-64-64-64-64-1" in caption and "200 x 200" in caption
    assert "the paper's convolutional network" in hkr.HKRBudget.resolve("full").caption()
    caption = realnvp.RealNVPBudget.resolve("smoke").caption()
    assert "256 training points" in caption and "at most 256 normal training images" in caption
    assert "2 couplings, 16 hidden units, depth 2" in caption and "no CIFAR-10 class" in caption
    assert "6 couplings, 64 hidden units" in realnvp.RealNVPBudget.resolve("quick").caption()


def test_hkr_detector_options_are_the_old_mnist_budgets():
    # The dict chapter 16 still reads, as it was before HKRBudget (derived from it now).
    assert hkr.MNIST_BUDGETS == {
        "smoke": dict(architecture="dense", width=32, activation="fullsort", newton_steps=4),
        "quick": dict(architecture="dense", width=128, activation="fullsort", newton_steps=16, epochs_scale=0.012),
        "full": dict(),
    }
    for name in PROFILES:
        old = dict(dict(epochs_scale=get_profile(name).epochs_scale), **hkr.MNIST_BUDGETS[name])
        assert hkr.HKRBudget.resolve(name).detector_options() == old


# -- the HKR study ---------------------------------------------------------------------------------

def test_hkr_grid_and_record_files_keep_the_committed_names():
    grid = hkr.HKR.grid("quick")
    assert len(grid) == 20
    names = [hkr.HKR.record_file(spec) for spec in grid]
    assert names[0] == "hkr-mnist-c0-s0.jsonl" and names[-1] == "hkr-mnist-c9-s0-groupsort2.jsonl"


@pytest.mark.skipif(not COMMITTED_HKR.is_dir(), reason="no committed HKR records at results/hkr/quick")
def test_hkr_study_reads_the_committed_quick_records():
    results_dir = COMMITTED_HKR.parent.parent
    records = hkr.HKR.records("quick", results_dir, run=False)
    assert len(records) == 20
    assert [(r["normal_class"], r["config"]["activation"]) for r in records[:2]] == [(0, "fullsort"), (1, "fullsort")]
    assert all(r["experiment"] == "hkr" and r["profile"] == "quick" for r in records)
    runs = hkr.mnist_runs("quick", results_dir=results_dir, run=False)
    assert list(runs) == ["FullSort", "GroupSort2"]
    assert [r["run_id"] for r in runs["GroupSort2"]] == [f"hkr-mnist-c{k}-s0-groupsort2" for k in range(10)]
    assert runs["FullSort"] == records[:10]
    assert hkr.mnist_records("quick", classes=[3], results_dir=results_dir, run=False) == [records[3]]


def _hkr_record(k, auc, f_negative, histogram):
    return dict(normal_class=k, auc=auc, history={"f_negative": [0.0, f_negative], "wasserstein": [1.0, 2.0]},
                f_histogram=histogram, certified_auroc=[[0.0, auc], [1.0, auc / 2]], lip_lower_bound=0.5,
                lip_gradient_ascent=0.9, train_seconds=10.0)


def test_hkr_record_readers():
    histogram = {"edges": [-2.0, -1.0, 0.0, 1.0, 2.0], "test anomalous": [1, 1, 1, 1]}
    run = [_hkr_record(0, 0.9, -1.0, histogram), _hkr_record(1, 0.7, -3.0, histogram)]
    assert hkr.share_above(run[0], "test anomalous") == 0.5
    assert hkr.share_above(run[0], "test anomalous", threshold=1.0) == 0.25
    assert hkr.last_epoch_mean(run, "f_negative") == -2.0
    radii, curves = hkr.mean_certified({"FullSort": run})
    np.testing.assert_allclose(radii, [0.0, 1.0])
    np.testing.assert_allclose(curves["FullSort"], [80.0, 40.0])
    table = companion_tables.mnist_table({"FullSort": run}).data
    assert table.splitlines()[2].startswith("| 0 | 90.00 | ")
    assert table.splitlines()[-1].startswith("| mean | 80.00 |")


def test_far_gradient_norms_of_a_distance_are_one():
    toy = {"one point": np.zeros((4, 2), dtype=np.float32)}
    side = np.linspace(-3, 3, 61)
    xs, ys = np.meshgrid(side, side)
    surfaces = dict(side=side, xs=xs, ys=ys, values={"one point": {"distance": -np.hypot(xs, ys), "flat": 0 * xs}})
    norms = hkr.far_gradient_norms(toy, surfaces)
    assert norms["one point"]["distance"] == pytest.approx(1.0, abs=0.01)
    assert norms["one point"]["flat"] == 0.0


def test_toy_sets_are_standardised():
    sets = hkr.toy_sets(64, 0)
    assert list(sets) == ["two moons", "two circles", "two blobs"]
    for x in sets.values():
        assert x.shape == (64, 2) and x.dtype == np.float32
        np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)


# -- the RealNVP study -----------------------------------------------------------------------------

def test_realnvp_grid_and_run_ids():
    grid = realnvp.contaminated_grid("quick")
    assert len(grid) == (2 + 1) * 2 * 3   # (MNIST 0, 1 and CIFAR-10 0) x 2 kinds x 3 variants
    assert grid[0].run_id == "realnvp-mnist-c0-uniform-realnvp-s0"
    assert realnvp.contaminated_grid("smoke", lipschitz=3.0, anomaly_fraction=0.2)[2].run_id == \
        "realnvp-mnist-c0-uniform-robustrealnvp-s0-K3-a0.2"
    assert realnvp.contaminated_grid("smoke", ("cifar10",)) == []


def test_variants_are_the_papers_three():
    budget = realnvp.RealNVPBudget.resolve("smoke")
    models = {name: realnvp.make_detector(name, 0.05, budget, lipschitz=3.0) for name in realnvp.VARIANTS}
    assert [(m.trim_fraction, m.lipschitz) for m in models.values()] == [(0.0, None), (0.05, None), (0.05, 3.0)]
    assert models["RealNVP"].n_couplings == 2 and models["RealNVP"].hidden == 16


def test_trimmed_gradient_is_zero_for_the_dropped_points():
    log_density, gradient = realnvp.trimmed_gradient(0.2)
    assert np.all(gradient[:2] == 0) and np.all(gradient[2:] < 0)
    np.testing.assert_allclose(gradient[2:], -1 / 8)


@pytest.mark.slow
@pytest.mark.skipif(not _have_mnist(), reason="needs mnist.npz in $ADLIP_DATA_DIR")
def test_realnvp_smoke_run_writes_then_reads_its_record(tmp_path):
    [spec] = [s for s in realnvp.contaminated_grid("smoke") if s.variant == "RobustRealNVP"]
    with pytest.raises(ValueError, match="python -m adlip study realnvp --profile smoke"):
        realnvp.REALNVP.records("smoke", tmp_path, run=False, specs=[spec])
    [written] = realnvp.REALNVP.records("smoke", tmp_path, run=True, specs=[spec])
    assert (tmp_path / "realnvp" / "smoke" / f"{spec.run_id}.jsonl").is_file()
    assert written["variant"] == "RobustRealNVP" and written["lipschitz"] == 2.0 and 0 <= written["auc"] <= 1
    [read] = realnvp.REALNVP.records("smoke", tmp_path, run=False, specs=[spec])
    assert read == written
    table = companion_tables.contaminated_table("mnist", [dict(read, variant=v) for v in realnvp.VARIANTS],
                                                realnvp.RealNVPBudget.resolve("smoke")).data
    assert table.splitlines()[2] == f"| 0 | uniform | {read['auc']:.3f} | {read['auc']:.3f} | {read['auc']:.3f} |"


def test_contaminated_tables_without_records_say_so():
    budget = realnvp.RealNVPBudget.resolve("smoke")
    assert companion_tables.contaminated_table("cifar10", [], budget).data == \
        "profile 'smoke' runs no CIFAR-10 classes"
    records = [dict(normal_class=0, kind="uniform", variant=v, auc=a) for v, a in zip(realnvp.VARIANTS, (0.5, 0.6, 0.7))]
    means = companion_tables.contaminated_means({"mnist": records, "cifar10": []}, budget, {}).data
    assert means.splitlines()[2] == "| mnist | uniform | 1 | 0.500 | 0.600 | 0.700 | - | - |"


# -- the regularized Deep SVDD and VAE helpers, and the figures ------------------------------------

def _curves():
    return {"standard": {"D. SVDD w/ bias": dict(variance=[1.0, 0.5, 0.1], weight=[1.0, 2.0]),
                         "D. SVDD w/ bias & noise reg.": dict(variance=[1.0, 0.8, 0.4], weight=[0.5, 0.6])}}


def test_regsvdd_summaries():
    curves, aucs = _curves(), {("standard", "D. SVDD w/ bias"): 0.8, ("standard", "D. SVDD w/ bias & noise reg."): 0.9}
    summary = companion_tables.variance_summary(curves, aucs).data
    assert summary.splitlines()[2] == "| standard | D. SVDD w/ bias | 1 | 0.1 | 0.1 | 0.1 | 80.0 |"
    verdict = companion_tables.collapse_verdict(curves, aucs).data
    assert "final variance 4 times that of D. SVDD w/ bias (40 % of its initial value, against 10 %)" in verdict
    results = [dict(lipschitz=k, model=m, auc=a) for k in (None, 50.0) for m, a in (("a", 0.5), ("b", 0.7))]
    verdict = companion_tables.auc_verdict(results, 50.0).data
    assert "* standard: best mean AUC 70.0 (b); the 2 models span 20.0 points." in verdict
    assert "* Lipschitz (K = 50): best mean AUC 70.0 (b)" in verdict
    assert companion_tables.bound_table({"random pairs": 0.25}, 50.0).data.splitlines()[2] == "| random pairs | 0.250 | 50 |"


def test_regsvdd_equation_values():
    values = regsvdd.equation_values(0)
    assert values["random_label_loss"] == pytest.approx(np.log(2), abs=1e-6)
    assert values["weight"] == pytest.approx(0.5 * 0.1 * 2.0 / 0.5)
    assert values["hinge"] == pytest.approx(max(0.0, 1.5 - values["variance"]))


def test_vae_verdicts_and_tables():
    rows = [{"decoder_lipschitz": c, "outlier": "noise", "score": "hole", "auroc": a} for c, a in ((1.0, 0.6), (10.0, 0.9))]
    verdict = companion_tables.ablation_verdict(rows, (1.0, 10.0)).data
    assert "* noise: hole indicator AUROC 90.0 at decoder constant 10, 60.0 at 1." in verdict
    assert "falls with the decoder's constant for 1 of 1 outlier sets (noise)" in verdict
    assert companion_tables.dark_pixels_table({"MNIST": 0.81}).data.splitlines()[2] == "| MNIST | 81 % |"
    assert set(vae.MODEL_NAMES) == set(vae.MODELS)


def test_figures_have_a_panel_per_group():
    import matplotlib

    matplotlib.use("Agg")
    assert len(companion_plots.variance_figure(_curves()).axes) == 1
    assert len(companion_plots.weight_figure(_curves()).axes[0].lines) == 1   # only the regularized model
    rows = [{"decoder_lipschitz": c, "outlier": "noise", "score": s, "auroc": 0.5}
            for c in (1.0, 10.0) for s in ("hole", "importance")]
    assert len(companion_plots.ablation_figure(rows, (1.0, 10.0)).axes) == 2
    histogram = {"edges": [0.0, 1.0, 2.0], "train": [1, 2], "test normal": [2, 1], "test anomalous": [1, 1]}
    records = [_hkr_record(0, 0.9, -1.0, histogram), _hkr_record(1, 0.7, -1.0, histogram)]
    assert len(companion_plots.f_histograms(records).axes) == 2   # the first class and the weakest
    radii, curves = hkr.mean_certified({"FullSort": records})
    assert len(companion_plots.certified_curves({"FullSort": records}, radii, curves).axes[0].lines) == 3
