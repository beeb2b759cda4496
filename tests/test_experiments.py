"""adlip.experiments and the command line: run records, resumable sweeps, failures, usage errors.

Runs here use the Isolation Forest baseline under the smoke profile: the runner's behaviour is the
same for every detector, and a run takes a second.
"""
import json
import os
import subprocess
import sys

import pytest

from adlip import experiments
from adlip.experiments import RunConfig

REAL_DATA = os.environ.get("ADLIP_DATA_DIR")
pytestmark = pytest.mark.skipif(
    not (REAL_DATA and os.path.isfile(os.path.join(REAL_DATA, "mnist.npz"))),
    reason="set ADLIP_DATA_DIR to a folder with mnist.npz to run experiments")

REQUIRED_FIELDS = {"algorithm", "dataset", "normal_class", "lipschitz", "seed", "epochs", "auc",
                   "lip_lower_bound", "lip_sigma", "train_seconds", "score_seconds", "config",
                   "adlip_version", "git_commit", "status", "profile", "run_id", "n_train", "n_test"}


def smoke(normal_class=0, seed=0, algorithm="iforest"):
    return RunConfig(algorithm, "mnist", normal_class, None, seed, "smoke", experiment="test")


@pytest.mark.parametrize("kwargs, complaint", [
    (dict(algorithm="svm"), "unknown algorithm"),
    (dict(dataset="svhn"), "unknown data set"),
    (dict(normal_class=10), "normal_class"),
    (dict(lipschitz=0.0), "positive"),
    (dict(lipschitz=-2.0), "positive"),
    (dict(lipschitz=float("nan")), "positive"),
    (dict(algorithm="kde", lipschitz=1.0), "no Lipschitz version"),
    (dict(algorithm="hkr"), "1-Lipschitz by construction"),
    (dict(algorithm="hkr", lipschitz=2.0), "1-Lipschitz by construction"),
    (dict(profile="huge"), "unknown profile"),
    (dict(epochs_scale=0), "epochs_scale"),
])
def test_bad_run_configurations_fail_at_once(kwargs, complaint):
    values = dict(algorithm="dcae", dataset="mnist", normal_class=0)
    values.update(kwargs)
    with pytest.raises(ValueError, match=complaint):
        RunConfig(**values)


def test_run_ids_are_stable_and_distinct():
    assert smoke().run_id == smoke().run_id
    assert len({smoke(c, s).run_id for c in range(3) for s in range(3)}) == 9
    config = RunConfig("dcae", "mnist", 3, 2.0, 1, "quick")
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.run_id.startswith("dcae-mnist-c3-K2-s1-")


def test_grids_cover_the_thesis_design():
    exp1 = experiments.grid("exp1", "quick")
    assert {c.lipschitz for c in exp1} == {0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0}
    assert {c.normal_class for c in exp1} == {0}
    exp2 = experiments.grid("exp2", "quick", datasets=["mnist"])
    assert {c.normal_class for c in exp2} == set(range(10))
    dcae_constants = {c.lipschitz for c in exp2 if c.algorithm == "dcae"}
    assert dcae_constants == {None, experiments.chosen_constant("mnist", "dcae")}
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.grid("exp3", "quick")


def test_run_one_record_has_everything():
    record = experiments.run_one(smoke())
    assert REQUIRED_FIELDS <= set(record)
    assert 0 <= record["auc"] <= 1 and record["status"] == "ok"
    assert record["config"]["algorithm"] == "iforest" and record["adlip_version"]
    json.dumps(record)


def test_same_seed_same_record():
    first, again = experiments.run_one(smoke(seed=3)), experiments.run_one(smoke(seed=3))
    assert first["auc"] == again["auc"]


def test_sweep_resumes_and_records_failures(tmp_path, monkeypatch):
    configs = [smoke(0), smoke(1), smoke(2)]
    real_run_one = experiments.run_one

    def flaky(config, **kwargs):
        if config.normal_class == 1:
            raise RuntimeError("simulated failure")
        return real_run_one(config, **kwargs)

    monkeypatch.setattr(experiments, "run_one", flaky)
    summary = experiments.sweep(configs, tmp_path, workers=0, progress=False)
    assert len(summary.done) == 2 and len(summary.failed) == 1
    failed = experiments.load_records(experiments.record_path(tmp_path, configs[1]))[0]
    assert failed["status"] == "failed" and "simulated failure" in failed["error"]

    monkeypatch.setattr(experiments, "run_one", real_run_one)
    again = experiments.sweep(configs, tmp_path, workers=0, progress=False)
    assert len(again.skipped) == 2 and again.done == [configs[1].run_id]
    records = experiments.load_records(tmp_path)
    assert len(records) == 3 and all(r["status"] == "ok" for r in records)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_sweep_in_worker_processes(tmp_path):
    summary = experiments.sweep([smoke(4)], tmp_path, workers=1, progress=False)
    assert summary.done == [smoke(4).run_id], (tmp_path / "logs" / f"{smoke(4).run_id}.log").read_text()
    assert experiments.load_records(tmp_path)[0]["normal_class"] == 4


def test_crashing_worker_is_recorded_and_others_go_on(tmp_path, monkeypatch):
    """A run whose process dies outright (here: a data folder that disappears) still gets a record."""
    good, bad = smoke(5), smoke(6)
    monkeypatch.setattr(experiments, "_run_in_subprocess", _crash_for(bad, experiments._run_in_subprocess))
    summary = experiments.sweep([bad, good], tmp_path, workers=1, progress=False)
    assert summary.failed == [bad.run_id] and summary.done == [good.run_id]
    record = experiments.load_records(experiments.record_path(tmp_path, bad))[0]
    assert record["status"] == "failed" and "exited with code" in record["error"]


def _crash_for(victim, real):
    def launch(config, out_dir, threads):
        if config == victim:
            return subprocess.Popen([sys.executable, "-c", "import os; os._exit(3)"])
        return real(config, out_dir, threads)
    return launch


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "adlip", *args], capture_output=True, text=True, timeout=300)


def test_cli_run_prints_and_appends_a_record(tmp_path):
    out = tmp_path / "records.jsonl"
    for _ in range(2):
        result = run_cli("run", "--algorithm", "iforest", "--dataset", "mnist", "--normal-class", "1",
                         "--profile", "smoke", "--out", str(out), "--quiet")
        assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert REQUIRED_FIELDS <= set(printed) and printed["normal_class"] == 1
    assert len(experiments.load_records(out)) == 2


@pytest.mark.parametrize("args, complaint", [
    (["--algorithm", "svm", "--dataset", "mnist", "--normal-class", "0"], "invalid choice"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--lipschitz", "0"], "positive"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--lipschitz", "x"], "number"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "12"], "normal_class"),
    (["--algorithm", "dcae", "--dataset", "svhn", "--normal-class", "0"], "invalid choice"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--option", "decoder"], "NAME=VALUE"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--lipschitz", "2",
      "--option", "decoder=blur"], "unknown decoder"),
    (["--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--option", "colour=1"], "colour"),
])
def test_cli_usage_errors(args, complaint):
    result = run_cli("run", *args)
    assert result.returncode == 2 and complaint in result.stderr


def test_cli_run_passes_detector_options(tmp_path):
    result = run_cli("run", "--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0", "--lipschitz", "2",
                     "--option", "decoder=operatorconv", "--profile", "smoke", "--quiet")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["config"]["options"] == {"decoder": "operatorconv"}
    assert record["detector_params"]["decoder"] == "operatorconv"


def test_cli_sweep_dry_run_lists_runs(tmp_path):
    result = run_cli("sweep", "--experiment", "baselines", "--profile", "smoke", "--out", str(tmp_path),
                     "--dry-run")
    assert result.returncode == 0
    assert "runs to do" in result.stderr and len(result.stdout.splitlines()) == 3


def test_cli_sweep_can_be_narrowed_to_normal_classes(tmp_path):
    result = run_cli("sweep", "--experiment", "exp2", "--profile", "quick", "--out", str(tmp_path),
                     "--dataset", "mnist", "--normal-class", "0", "--normal-class", "5", "--dry-run")
    assert result.returncode == 0
    run_ids = result.stdout.split()
    assert run_ids and all("-c0-" in r or "-c5-" in r for r in run_ids)
    assert any("-c5-" in r for r in run_ids)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm, lipschitz, scaling_range", [
    ("hkr", 1.0, (-1.0, 1.0)), ("vae", 2.0, (0.0, 1.0)), ("realnvp", 2.0, None), ("regsvdd", 2.0, None)])
def test_companion_detectors_run_through_the_runner(algorithm, lipschitz, scaling_range):
    config = RunConfig(algorithm, "mnist", 0, lipschitz, 0, "smoke", experiment="test")
    split = experiments.load_split(config)
    if scaling_range:
        assert scaling_range[0] <= split.x_train.min() and split.x_train.max() <= scaling_range[1]
    record = experiments.run_one(config)
    assert record["status"] == "ok" and 0 <= record["auc"] <= 1 and record["algorithm"] == algorithm
    assert record["lip_lower_bound"] <= lipschitz * (1 + 1e-3)
    assert record["lip_gradient_ascent"] <= lipschitz * (1 + 1e-3)


def test_companions_grid_uses_each_papers_constant():
    from adlip.detectors.vae import eq7_lipschitz
    configs = experiments.grid("companions", "quick", datasets=["mnist"])
    constants = {c.algorithm: c.lipschitz for c in configs}
    assert constants == {"vae": float(eq7_lipschitz(10)), "realnvp": 2.0, "regsvdd": None}
    assert {c.normal_class for c in configs} == set(range(10))


def test_a_data_sets_own_budget_is_applied_and_recorded(monkeypatch):
    from dataclasses import replace

    from adlip import profiles

    smoke_budget = profiles.PROFILES["smoke"]
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(
        smoke_budget, dataset_budgets={"mnist": dict(train_size=128, test_size=300)}))
    record = experiments.run_one(smoke())
    assert (record["n_train"], record["n_test"]) == (128, 300)
    assert record["profile_budget"]["train_size"] == 128
    assert record["profile_budget"]["dataset_budgets"] == {}


def test_quick_profile_gives_cifar10_a_cpu_budget():
    from adlip.profiles import get_profile

    mnist, cifar = get_profile("quick", dataset="mnist"), get_profile("quick", dataset="cifar10")
    assert mnist.train_size is None and mnist.epochs_scale == get_profile("quick").epochs_scale
    assert cifar.train_size == 1000 and cifar.epochs_scale < mnist.epochs_scale
    detector = experiments.make_detector(RunConfig("dcae", "cifar10", 0, None, 0, "quick"))
    assert detector.epochs_scale == cifar.epochs_scale
    assert get_profile("quick", dataset="cifar10", seeds=(0, 1)).seeds == (0, 1)
    with pytest.raises(ValueError, match="unknown data set"):
        get_profile("quick", dataset="svhn")


def test_sweep_reruns_records_of_another_budget(tmp_path, monkeypatch):
    from dataclasses import replace

    from adlip import profiles

    config = smoke()
    experiments.sweep([config], tmp_path, workers=0, progress=False)
    assert experiments.is_finished(tmp_path, config)
    smoke_budget = profiles.PROFILES["smoke"]
    # AnoGAN's budget does not concern an Isolation Forest run; its test set size does
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke_budget, latent_steps=7))
    assert experiments.is_finished(tmp_path, config)
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke_budget, test_size=300))
    assert not experiments.is_finished(tmp_path, config)
    again = experiments.sweep([config], tmp_path, workers=0, progress=False)
    assert again.done == [config.run_id]
    assert experiments.load_records(tmp_path)[0]["n_test"] == 300


# ------------------------------------------------------------------------------- chapter records

def test_chapter_record_round_trip_keeps_numbers_and_provenance(tmp_path):
    import numpy as np

    from adlip.robustness import AttackCurve

    curve = AttackCurve(norm="l2", epsilons=[0.0, 1.0], threshold=0.5, false_alarm_rate=[0.0, 0.5],
                        evasion_rate=[0.0, 0.25], success_rate=[0.0, 0.4], auc=[0.9, 0.6], accuracy=[0.9, 0.5],
                        n_normal=4, n_anomalous=4)
    results = dict(radii=np.array([0.0, 0.1]), median=np.float32(0.25), curve=curve, k=None,
                   rows={"zeta": 1, "alpha": 2})
    path = experiments.save_chapter_record("18_gnp_networks", results, "smoke", "cifar10", normal_class=3,
                                           seed=1, budget={"epochs_scale": 0.001}, results_dir=tmp_path)
    assert path == tmp_path / "chapters" / "smoke" / "18_gnp_networks-cifar10-c3-s1.json"
    record = experiments.load_chapter_record("18_gnp_networks", "smoke", "cifar10", 3, 1, results_dir=tmp_path)
    assert record["results"]["radii"] == [0.0, 0.1]
    assert record["results"]["median"] == pytest.approx(0.25)
    assert record["results"]["curve"]["success_rate"] == [0.0, 0.4]
    assert record["results"]["k"] is None
    assert list(record["results"]["rows"]) == ["zeta", "alpha"]   # the chapter's row order survives
    assert record["budget"] == {"epochs_scale": 0.001}
    assert (record["dataset"], record["normal_class"], record["seed"]) == ("cifar10", 3, 1)
    assert "adlip_version" in record and "git_commit" in record


def test_load_chapter_record_is_none_for_another_run(tmp_path):
    experiments.save_chapter_record("16_attacks", {"a": 1}, "smoke", "mnist", results_dir=tmp_path)
    assert experiments.load_chapter_record("16_attacks", "smoke", "mnist", results_dir=tmp_path) is not None
    assert experiments.load_chapter_record("16_attacks", "quick", "mnist", results_dir=tmp_path) is None
    assert experiments.load_chapter_record("16_attacks", "smoke", "cifar10", results_dir=tmp_path) is None
    assert experiments.load_chapter_record("16_attacks", "smoke", "mnist", seed=1, results_dir=tmp_path) is None


@pytest.mark.parametrize("arguments, message", [
    (dict(profile="huge", dataset="mnist"), "unknown profile"),
    (dict(profile="smoke", dataset="svhn"), "svhn"),
    (dict(profile="smoke", dataset="mnist", normal_class=10), "class"),
])
def test_save_chapter_record_rejects_bad_parameters(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        experiments.save_chapter_record("16_attacks", {}, results_dir=tmp_path, **arguments)
    assert not (tmp_path / "chapters").exists()


def test_book_parameters_are_read_as_yaml_scalars():
    from adlip.book import parse_parameters

    assert parse_parameters(["dataset=cifar10", "save_results=true", "normal_class=3", "rate=0.5"]) == dict(
        dataset="cifar10", save_results=True, normal_class=3, rate=0.5)
    for bad in ("dataset", "=cifar10", "two words=1", "profile=quick"):
        with pytest.raises(ValueError):
            parse_parameters([bad])
