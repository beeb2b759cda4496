"""Chapter 09's calibration point: Björck and spectral Lipschitz AnoGAN records side by side."""
import pytest

from adlip import reference
from adlip.views import orthogonalization as view


def record(orthogonalization=None, auc=0.9, normal_class=0, experiment="exp2", train_seconds=600.0, **extra):
    budget = {"gan_epochs": 20}
    if orthogonalization:
        budget["orthogonalization"] = orthogonalization
    values = dict(experiment=experiment, algorithm="anogan", dataset="mnist", normal_class=normal_class,
                  lipschitz=None if orthogonalization is None else 100.0, seed=0, profile="full", auc=auc,
                  lip_lower_bound=0.07, lip_gradient_ascent=0.09, train_seconds=train_seconds, collapsed=False,
                  budget=budget, status="ok")
    values.update(extra)
    return values


def test_each_bjorck_run_is_paired_with_exp2s_spectral_run_of_its_class():
    exp2 = [record("spectral", 0.85), record(None, 0.91), record("spectral", 0.7, normal_class=1)]
    bjorck = [record("bjorck", 0.8, experiment="bjorck", train_seconds=30000.0)]
    [(found, spectral)] = view.calibration_pairs(exp2, bjorck)
    assert found is bjorck[0] and spectral is exp2[0]
    text = view.calibration_statement(exp2, bjorck)
    assert "+5.0 points" in text and "50 times" in text


def test_the_table_shows_both_runs_with_the_thesis_as_reference():
    exp2 = [record("spectral", 0.85)]
    table = view.calibration_table(exp2, [record("bjorck", 0.8, experiment="bjorck")]).data
    thesis = reference.thesis_auc("exp2", "mnist", "anogan", True, 0)
    lines = table.splitlines()
    assert len(lines) == 4 and "Björck" in lines[2] and "spectral" in lines[3]
    assert f"{thesis.mean:.1f}" in lines[2] and "| 80.0 |" in lines[2] and "| 85.0 |" in lines[3]


def test_without_a_spectral_run_the_statement_says_so_and_failed_runs_are_left_out():
    bjorck = [record("bjorck", experiment="bjorck"), record("bjorck", experiment="bjorck", normal_class=1,
                                                             status="failed")]
    assert len(view.calibration_pairs([], bjorck)) == 1
    assert "no spectral run" in view.calibration_statement([], bjorck)
    with pytest.raises(ValueError, match="no finished"):
        view.calibration_table([], [])
