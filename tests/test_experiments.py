"""adlip.experiments and the command line: run records, resumable sweeps, failures, usage errors.

Runs here use the Isolation Forest baseline under the smoke profile: the runner's behaviour is the
same for every detector, and a run takes a second.
"""
import json
import os
import subprocess
import sys

import pytest

from adlip import experiments, records, sweeps
from adlip.experiments import RunConfig
from adlip.profiles import PHASES

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


def test_the_bjorck_calibration_is_exp2s_lipschitz_anogan_with_bjorck():
    [calibration] = experiments.grid("bjorck", "full")
    [spectral] = [c for c in experiments.grid("exp2", "full", datasets=["mnist"])
                  if c.algorithm == "anogan" and c.lipschitz and c.normal_class == 0 and c.seed == 0]
    assert calibration.lipschitz == spectral.lipschitz and calibration.profile == "full"
    made, exp2_made = experiments.make_detector(calibration), experiments.make_detector(spectral)
    assert made.orthogonalization == "bjorck" and exp2_made.orthogonalization == "spectral"
    differing = {k for k, v in made.get_params().items() if exp2_made.get_params()[k] != v}
    assert differing == {"orthogonalization"}


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

    monkeypatch.setattr(sweeps, "run_one", flaky)
    summary = experiments.sweep(configs, tmp_path, workers=0, progress=False)
    assert len(summary.done) == 2 and len(summary.failed) == 1
    failed = experiments.load_records(experiments.record_path(tmp_path, configs[1]))[0]
    assert failed["status"] == "failed" and "simulated failure" in failed["error"]

    monkeypatch.setattr(sweeps, "run_one", real_run_one)
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
    monkeypatch.setattr(sweeps, "_run_in_subprocess", _crash_for(bad, sweeps._run_in_subprocess))
    summary = experiments.sweep([bad, good], tmp_path, workers=1, progress=False)
    assert summary.failed == [bad.run_id] and summary.done == [good.run_id]
    record = experiments.load_records(experiments.record_path(tmp_path, bad))[0]
    assert record["status"] == "failed" and "exited with code" in record["error"]


def _crash_for(victim, real):
    def launch(config, out_dir, threads, lock=None):
        if config == victim:
            return subprocess.Popen([sys.executable, "-c", "import os; os._exit(3)"])
        return real(config, out_dir, threads, lock)
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


# ------------------------------------------------- a chapter's own run, saved as a study record

def test_a_chapter_run_saved_as_a_study_record_keeps_numbers_and_provenance(tmp_path):
    import numpy as np

    from adlip.robustness import AttackCurve
    from adlip.studies.gnp import GNP, GNPRun

    curve = AttackCurve(norm="l2", epsilons=[0.0, 1.0], threshold=0.5, false_alarm_rate=[0.0, 0.5],
                        evasion_rate=[0.0, 0.25], success_rate=[0.0, 0.4], auc=[0.9, 0.6], accuracy=[0.9, 0.5],
                        n_normal=4, n_anomalous=4)
    spec = GNPRun("cifar10", normal_class=3, seed=1, profile="smoke")
    record = dict(results=dict(radii=np.array([0.0, 0.1]), median=np.float32(0.25), curve=curve, k=None),
                  budget={"epochs_scale": 0.001}, **experiments.provenance())
    path = GNP.save(record, spec, tmp_path)
    assert path == tmp_path / "gnp" / "smoke" / "gnp-cifar10-c3-s1.json"
    assert not GNP.missing("smoke", tmp_path, specs=[spec])
    [saved] = GNP.records("smoke", tmp_path, run=False, specs=[spec])
    assert saved["results"]["radii"] == [0.0, 0.1]
    assert saved["results"]["median"] == pytest.approx(0.25)
    assert saved["results"]["curve"]["success_rate"] == [0.0, 0.4]
    assert saved["results"]["k"] is None
    assert saved["budget"] == {"epochs_scale": 0.001}
    assert "adlip_version" in saved and "git_commit" in saved


def test_a_saved_record_is_none_for_another_run(tmp_path):
    from adlip.studies.gnp import GNP, GNPRun

    GNP.save({"a": 1}, GNPRun("mnist", 0, 0, "smoke"), tmp_path)
    assert GNP.saved(GNPRun("mnist", 0, 0, "smoke"), tmp_path) == {"a": 1}
    for other in (GNPRun("mnist", 0, 0, "quick"), GNPRun("cifar10", 0, 0, "smoke"), GNPRun("mnist", 0, 1, "smoke")):
        assert GNP.saved(other, tmp_path) is None


@pytest.mark.parametrize("arguments, message", [
    (dict(profile="huge", dataset="mnist"), "unknown profile"),
    (dict(profile="smoke", dataset="svhn"), "svhn"),
    (dict(profile="smoke", dataset="mnist", normal_class=10), "class"),
    (dict(profile="smoke", dataset="mnist", seed=-1), "seed"),
])
def test_a_run_of_a_study_rejects_bad_parameters(arguments, message):
    from adlip.studies.gnp import GNPRun

    with pytest.raises(ValueError, match=message):
        GNPRun(**arguments)


def test_book_parameters_are_read_as_yaml_scalars():
    from adlip.book import parse_parameters

    assert parse_parameters(["dataset=cifar10", "save_results=true", "normal_class=3", "rate=0.5"]) == dict(
        dataset="cifar10", save_results=True, normal_class=3, rate=0.5)
    for bad in ("dataset", "=cifar10", "two words=1", "profile=quick"):
        with pytest.raises(ValueError):
            parse_parameters([bad])


# ------------------------------------------------------------------ budgets in the thesis's units

def test_each_training_phase_has_its_own_knob(monkeypatch):
    from dataclasses import replace

    from adlip import profiles

    phased = replace(profiles.PROFILES["quick"], dcae_epochs_scale=0.5, pretrain_epochs_scale=0.25,
                     deepsvdd_epochs_scale=1.0, gan_epochs_scale=0.1)
    monkeypatch.setitem(profiles.PROFILES, "quick", phased)
    dcae = experiments.make_detector(RunConfig("dcae", "mnist", 0, None, 0, "quick"))
    svdd = experiments.make_detector(RunConfig("deepsvdd-sb", "mnist", 0, 50.0, 0, "quick"))
    gan = experiments.make_detector(RunConfig("anogan", "mnist", 0, None, 0, "quick"))
    assert dcae.resolved_schedule().total_epochs == 175             # 0.5 * 250 + 0.5 * 100
    assert svdd.resolved_schedule().total_epochs == 250             # the thesis's Deep SVDD phase
    assert svdd.pretrain_detector().resolved_schedule().total_epochs == 88   # ceil(0.25 * 350)
    assert gan.resolved_schedule().total_epochs == 2                # 0.1 * 20
    budget = experiments.resolved_budget(svdd)
    assert budget == dict(deepsvdd_epochs=250, pretrain_epochs=88, warm_up_epochs=10, radius_update_every=5)
    assert experiments.resolved_budget(gan) == dict(gan_epochs=2, latent_steps=50, train_score_size=200)
    # --epochs-scale still scales every phase for a quick look
    quick_look = experiments.make_detector(RunConfig("deepsvdd-oc", "mnist", 0, None, 0, "quick", epochs_scale=0.01))
    assert experiments.resolved_budget(quick_look)["pretrain_epochs"] == 4
    assert quick_look.resolved_schedule().total_epochs == 3
    with pytest.raises(ValueError, match="training phase"):
        phased.phase_scale("decoder")


def test_full_profile_is_the_thesis_budget():
    full = experiments.get_profile("full", dataset="mnist")
    assert [full.phase_scale(phase) for phase in PHASES] == [1.0] * len(PHASES)
    assert (full.latent_steps, full.anogan_test_size, full.seeds, full.lip_rounds) == (500, 1000, (0, 1, 2), 10)
    # the bound's budget is a number of pairs, so that a run gives the same bound on any machine
    assert full.lip_pairs_per_round and full.lip_seconds_per_round is None
    svdd = experiments.make_detector(RunConfig("deepsvdd-oc", "mnist", 0, None, 0, "full"))
    assert experiments.resolved_budget(svdd) == dict(deepsvdd_epochs=250, pretrain_epochs=350)


def test_a_phase_knob_reruns_only_the_runs_it_concerns(tmp_path, monkeypatch):
    from dataclasses import replace

    from adlip import profiles

    config = smoke()
    experiments.sweep([config], tmp_path, workers=0, progress=False)
    record = experiments.load_records(tmp_path)[0]
    assert record["budget"] == {} and "threads" in record
    svdd = RunConfig("deepsvdd-oc", "mnist", 0, None, 0, "smoke")
    fake = dict(record, profile_budget=profiles.get_profile("smoke", dataset="mnist").to_dict())
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], gan_epochs_scale=0.5))
    assert experiments.same_budget(fake, svdd) and not experiments.same_budget(
        fake, RunConfig("anogan", "mnist", 0, None, 0, "smoke"))
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], pretrain_epochs_scale=0.5))
    assert not experiments.same_budget(fake, svdd)
    assert experiments.same_budget(fake, RunConfig("dcae", "mnist", 0, None, 0, "smoke"))


def test_soft_boundary_warm_up_counts_the_thesis_epochs(mnist_like):
    """Shortening the schedule does not shorten the 10-epoch warm-up or the 5-epoch radius interval."""
    from adlip.detectors import DeepSVDD

    train = mnist_like[0]
    detector = DeepSVDD(objective="soft-boundary", pretrain=False, epochs_scale=0.06, batch_size=32,
                        verbose=0).fit(train)
    radii = detector.history_["radius"]
    assert len(radii) == 15                                  # ceil(0.06 * 150) + ceil(0.06 * 100)
    assert all(r == 0 for r in radii[:9]) and radii[9] > 0   # R first set after epoch 10
    assert radii[10:14] == [radii[9]] * 4 and radii[14] != radii[9]   # then every 5 epochs
    assert detector.radius_ > 0


def test_sweep_can_be_narrowed_by_seed_and_constant(tmp_path):
    result = run_cli("sweep", "--experiment", "exp1", "--profile", "full", "--out", str(tmp_path),
                     "--dataset", "mnist", "--seed", "1", "--lipschitz", "10", "--lipschitz", "0.5", "--dry-run")
    assert result.returncode == 0, result.stderr
    run_ids = result.stdout.split()
    assert len(run_ids) == 6          # 3 non-GAN algorithms x 2 constants (AnoGAN runs seed 0 only)
    assert all("-s1-" in r and ("-K10-" in r or "-K0.5-" in r) for r in run_ids)
    standard = run_cli("sweep", "--experiment", "exp2", "--profile", "full", "--out", str(tmp_path),
                       "--dataset", "mnist", "--seed", "0", "--lipschitz", "std", "--dry-run")
    assert standard.returncode == 0 and len(standard.stdout.split()) == 40
    assert all("-std-" in r for r in standard.stdout.split())


def test_records_come_only_from_committed_code(monkeypatch):
    monkeypatch.setattr(records, "git_commit", lambda: "0123abc+dirty")
    with pytest.raises(ValueError, match="uncommitted changes"):
        records.check_clean_code()
    records.check_clean_code(allow_dirty=True)
    monkeypatch.setattr(records, "git_commit", lambda: "0123abc")
    records.check_clean_code()


def test_git_commit_is_adlips_own_or_none(tmp_path, monkeypatch):
    """From an installed copy (no repository of its own) the commit is None, even inside another repository."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "adlip").mkdir()
    monkeypatch.setattr(records, "REPO_ROOT", tmp_path / "adlip")
    assert records.git_commit() is None


def test_sweep_parallelism_defaults_to_one_thread_per_core():
    cores = os.cpu_count() or 1
    assert experiments.parallelism() == (cores, 1)
    assert experiments.parallelism(1) == (1, cores)
    assert experiments.parallelism(1, 1) == (1, 1)
    with pytest.raises(ValueError, match="threads"):
        experiments.parallelism(2, 0)


# ------------------------------------------------------------ records: nothing lost, nothing twice

@pytest.mark.parametrize("content", ["", "\n\n", '{"run_id": "x", "status": "ok"', "not json\n"])
def test_empty_blank_or_torn_record_files_are_not_finished(tmp_path, content):
    config = smoke()
    path = experiments.record_path(tmp_path, config)
    path.write_text(content)
    assert not experiments.is_finished(tmp_path, config)
    experiments.sweep([config], tmp_path, workers=0, progress=False)
    assert experiments.is_finished(tmp_path, config)
    assert len(experiments.load_records(path, strict=True)) == 1


def test_load_records_names_a_damaged_line_and_skips_it(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"a": 1}\n{"a": 2\n\n{"a": 3}\n')
    with pytest.warns(RuntimeWarning, match=r"runs\.jsonl, line 2: damaged record"):
        assert [r["a"] for r in experiments.load_records(path)] == [1, 3]
    with pytest.raises(ValueError, match="line 2"):
        experiments.load_records(path, strict=True)


def test_append_record_starts_a_new_line_after_a_torn_one(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"a": 1}\n{"a": 2')
    experiments.append_record({"a": 3}, path)
    lines = path.read_text().splitlines()
    assert lines == ['{"a": 1}', '{"a": 2', '{"a": 3}']


def test_write_record_leaves_no_temporary_file_when_it_fails(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(records.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        records.write_record({"a": 1}, tmp_path / "r.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_are_cleaned_up(tmp_path):
    stale, fresh = tmp_path / ".tmp-old.jsonl", tmp_path / ".tmp-new.jsonl"
    stale.write_text("{")
    fresh.write_text("{")
    os.utime(stale, (0, 0))
    assert experiments.remove_stale_temporaries(tmp_path) == [stale]
    assert fresh.exists()


def test_a_run_claimed_by_another_sweep_is_left_to_it(tmp_path):
    config = smoke(7)
    lock = experiments.claim(tmp_path, config)
    assert experiments.claim(tmp_path, config) is None
    summary = experiments.sweep([config], tmp_path, workers=0, progress=False)
    assert summary.elsewhere == [config.run_id] and not summary.done
    lock.close()
    assert experiments.sweep([config], tmp_path, workers=0, progress=False).done == [config.run_id]


def test_an_unwritable_folder_ends_the_sweep_with_a_clear_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweeps, "write_record", refuse)
    with pytest.raises(experiments.SweepError, match="No space left on device.*kept"):
        experiments.sweep([smoke(8)], tmp_path, workers=0, progress=False)


KILL_SWEEP = """
import sys
from adlip import experiments
from adlip.experiments import RunConfig
configs = [RunConfig("dcae", "mnist", c, None, 0, "quick") for c in (0, 1)]
experiments.sweep(configs, sys.argv[1], workers=2, progress=False)
"""


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_killing_a_sweep_stops_its_workers(tmp_path, signal_name):
    import signal
    import time

    sweep = subprocess.Popen([sys.executable, "-c", KILL_SWEEP, str(tmp_path)], stderr=subprocess.DEVNULL)
    locks = tmp_path / ".locks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(locks.glob("*.lock"))) < 2:
        time.sleep(0.2)
    time.sleep(1.0)
    workers = _children(sweep.pid)
    assert len(workers) == 2, "the sweep did not start its two workers"
    sweep.send_signal(getattr(signal, signal_name))
    sweep.wait(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    for config in [RunConfig("dcae", "mnist", c, None, 0, "quick") for c in (0, 1)]:
        lock = experiments.claim(tmp_path, config)       # the claims went with the processes
        assert lock is not None
        lock.close()


def _children(pid):
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as stream:
        return [int(child) for child in stream.read().split()]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("args, complaint", [
    (["--seed", "-1"], "0..4294967295"), (["--seed", str(2 ** 32)], "0..4294967295"),
    (["--option", "seed=3"], "own flag"), (["--option", "lipschitz=2"], "own flag"),
    (["--normal-class", "truck"], "class name"),
])
def test_cli_run_refuses_bad_arguments_in_one_line(args, complaint):
    base = {"--algorithm": "iforest", "--dataset": "mnist", "--normal-class": "0", "--profile": "smoke"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    argv += [a for a in args if a == "--option"] and []
    result = run_cli("run", *[x for pair in base.items() for x in pair])
    assert result.returncode == 2 and complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_run_accepts_a_cifar10_class_name():
    result = run_cli("sweep", "--experiment", "exp2", "--profile", "quick", "--out", "/tmp/unused-adlip",
                     "--dataset", "cifar10", "--normal-class", "airplane", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() and all("-c0-" in r for r in result.stdout.split())


@pytest.mark.parametrize("value", ["10", "-1", "truck"])
def test_cli_sweep_refuses_a_class_the_data_set_lacks(tmp_path, value):
    result = run_cli("sweep", "--experiment", "exp2", "--profile", "quick", "--out", str(tmp_path),
                     "--dataset", "mnist", "--normal-class", value, "--dry-run")
    assert result.returncode == 2 and "normal_class" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("make, complaint", [
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: _write(tmp / "notes.txt", "hello\n"), "not a JSON-lines"),
    (lambda tmp: _write(tmp / "a-file", "x") / "runs.jsonl", "not a writable folder"),
])
def test_cli_run_checks_its_out_file_before_training(tmp_path, make, complaint):
    """Each case would train for minutes (profile full) if the check came after the training."""
    result = run_cli("run", "--algorithm", "dcae", "--dataset", "mnist", "--normal-class", "0",
                     "--profile", "full", "--out", str(make(tmp_path)))
    assert result.returncode == 2 and complaint in result.stderr and "Traceback" not in result.stderr


def test_good_out_files_pass_the_check(tmp_path):
    for path in (tmp_path / "new" / "deeper" / "runs.jsonl", _write(tmp_path / "empty.jsonl", ""),
                 _write(tmp_path / "runs.jsonl", '{"a": 1}\n\n{"b": 2}\n')):
        assert experiments.check_records_file(path) == path


def test_out_file_in_an_unwritable_place_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root); the a-file case above covers it")
        with pytest.raises(ValueError, match="not a writable folder"):
            experiments.check_records_file(folder / "runs.jsonl")
    finally:
        folder.chmod(0o700)


def _write(path, text):
    path.write_text(text)
    return path


def test_records_carry_versions_and_a_data_fingerprint():
    record = experiments.run_one(smoke())
    assert set(record["versions"]) >= {"tensorflow", "tf-keras", "deel-lip"}
    assert record["versions"]["deel-lip"] == "1.5.0"
    assert len(record["data_fingerprint"]) == 16
    assert record["data_fingerprint"] == experiments.run_one(smoke(1))["data_fingerprint"]


@pytest.mark.parametrize("argv, complaint", [
    (["--only", "99_no_such_chapter", "--no-build"], "not a chapter"),
    (["--only", "16", "--no-build", "-p", "dataset=[cifar10,"], "not a YAML scalar"),
    (["--only", "16", "--no-build", "-p", "dataset={a: 1}"], "single number, boolean or text"),
])
def test_book_command_refuses_bad_chapters_and_values_in_one_line(argv, complaint):
    result = subprocess.run([sys.executable, "-m", "adlip.book", *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and complaint in result.stderr and "Traceback" not in result.stderr


def test_records_for_says_why_when_every_run_failed(tmp_path):
    config = RunConfig("dcae", "mnist", 0, seed=0, profile="smoke", experiment="exp2")
    folder = tmp_path / "exp2" / "smoke"
    folder.mkdir(parents=True)
    experiments.write_record(experiments.failed_record(config, "ValueError: could not load 'mnist'"),
                             folder / f"{config.run_id}.jsonl")
    with pytest.raises(ValueError, match="every exp2 run .* failed; the first said: ValueError: could not"):
        experiments.records_for("exp2", "smoke", tmp_path, run=False)


def test_a_relative_out_folder_is_the_callers_whatever_the_workers(tmp_path, monkeypatch):
    """Workers start in the repository's folder; the records must still land where the caller said."""
    monkeypatch.chdir(tmp_path)
    config = smoke(3)
    summary = experiments.sweep([config], "relative-out", workers=1, threads=1, progress=False)
    assert summary.done == [config.run_id] and not summary.failed
    assert (tmp_path / "relative-out" / f"{config.run_id}.jsonl").is_file()


def test_the_cifar10_gan_comparison_at_full_has_its_own_budget():
    cifar = experiments.grid("fanogan", "full", datasets=["cifar10"])
    budget = experiments.CIFAR10_GAN_COMPARISON
    assert {c.epochs_scale for c in cifar} == {budget["epochs_scale"]} and {c.seed for c in cifar} == {0}
    assert sum(c.algorithm == "fanogan" for c in cifar) == 20
    assert sorted({c.normal_class for c in cifar if c.algorithm == "anogan"}) == list(budget["anogan_classes"])
    assert {c.lipschitz for c in cifar} == {None, experiments.chosen_constant("cifar10", "anogan")}
    mnist = experiments.grid("fanogan", "full", datasets=["mnist"])
    assert {c.epochs_scale for c in mnist} == {None} and {c.algorithm for c in mnist} == {"fanogan"}
    assert {c.seed for c in mnist} == {0, 1, 2}
    assert all(c.epochs_scale is None for c in experiments.grid("fanogan", "quick"))


def test_gan_records_take_the_comparison_anogan_where_the_grid_has_it(tmp_path):
    for folder, algorithm, dataset in [("exp2", "anogan", "cifar10"), ("exp2", "anogan", "mnist"),
                                       ("fanogan", "anogan", "cifar10"), ("fanogan", "fanogan", "cifar10")]:
        run_id = f"{folder}-{algorithm}-{dataset}"
        experiments.write_record(dict(run_id=run_id, algorithm=algorithm, dataset=dataset, status="ok"),
                                 tmp_path / folder / "full" / f"{run_id}.jsonl")
    found = {r["run_id"] for r in experiments.gan_records("full", tmp_path, run=False)}
    assert found == {"exp2-anogan-mnist", "fanogan-anogan-cifar10", "fanogan-fanogan-cifar10"}


def test_the_unpretrained_grid_is_exp1s_deep_svdds_without_pretraining():
    unpretrained = experiments.grid("unpretrained", "full", datasets=["mnist"])
    exp1 = [c for c in experiments.grid("exp1", "full", datasets=["mnist"])
            if c.algorithm in experiments.UNPRETRAINED_ALGORITHMS]
    assert len(unpretrained) == len(exp1) == 2 * 7 * 3
    by_task = {(c.algorithm, c.lipschitz, c.seed): c for c in exp1}
    for config in unpretrained:
        pretrained = by_task[(config.algorithm, config.lipschitz, config.seed)]
        made, pretrained_made = experiments.make_detector(config), experiments.make_detector(pretrained)
        assert made.pretrain is False and pretrained_made.pretrain is True
        differing = {k for k, v in made.get_params().items() if pretrained_made.get_params()[k] != v}
        assert differing == {"pretrain"}
        assert config.run_id != pretrained.run_id


def _finished(config, seconds: float) -> dict:
    """A finished record of ``config`` that took ``seconds`` in all (training, scoring, the bound)."""
    return dict(run_id=config.run_id, status="ok", profile=config.profile, dataset=config.dataset,
                algorithm=config.algorithm, lipschitz=config.lipschitz, train_seconds=seconds,
                score_seconds=0.0, lip_seconds=0.0, machine="x86_64", threads={"cpu_count": 2})


def test_progress_counts_each_seed_and_prices_the_first_unfinished_one():
    configs = experiments.grid("exp2", "full", ["mnist"])
    seed0 = [c for c in configs if c.seed == 0]
    anogan = [c for c in seed0 if c.algorithm == "anogan"]
    records = [_finished(c, 3600.0) for c in seed0 if c.algorithm != "anogan"] + [_finished(anogan[0], 7200.0)]
    text = experiments.progress(records, "exp2", "full", ["mnist"])
    assert text.startswith(f"{len(records)} of {len(configs)} runs of exp2 at profile full (mnist) are complete")
    assert f"seed 0: {len(records)} of {len(seed0)}; seed 1: 0 of {len(seed0)}" in text
    # the standard AnoGAN runs are priced at the one finished standard AnoGAN, the Lipschitz ones at nothing
    standard_missing = sum(1 for c in anogan[1:] if c.lipschitz is None)
    assert f"Seed 0's {len(anogan) - 1} missing runs need about {2 * standard_missing} h" in text
    assert f"({len(anogan) - 1 - standard_missing} of them of a kind not yet timed, not counted)" in text


def test_progress_of_a_complete_or_untimed_grid():
    configs = experiments.grid("baselines", "full", ["mnist"])
    done = experiments.progress([_finished(c, 1.0) for c in configs], "baselines", "full", ["mnist"])
    assert done.endswith("seed 2: 30 of 30).") and "need about" not in done
    assert experiments.progress([], "exp2", "full", ["mnist"]) == \
        "0 of 240 runs of exp2 at profile full (mnist) are complete (seed 0: 0 of 80; seed 1: 0 of 80; seed 2: 0 of 80)."
    untimed = experiments.progress([_finished(c, 1.0) for c in configs[:1]], "exp1", "full", ["mnist"])
    assert "Seed 0 misses" in untimed and "of kinds no finished record here has timed" in untimed


def test_progress_prices_by_another_grids_runs_of_the_same_kind_without_counting_them():
    exp1 = [c for c in experiments.grid("exp1", "full", ["mnist"]) if c.seed == 0]
    exp2_anogan = [c for c in experiments.grid("exp2", "full", ["mnist"]) if c.algorithm == "anogan" and c.seed == 0]
    done = [_finished(c, 3600.0) for c in exp1 if c.algorithm != "anogan"]
    timed = [_finished(c, 1800.0) for c in exp2_anogan if c.lipschitz is not None][:3]
    text = experiments.progress(done, "exp1", "full", ["mnist"], timed=timed)
    missing = len(exp1) - len(done)
    assert text.startswith(f"{len(done)} of ")
    assert f"Seed 0's {missing} missing runs need about {missing * 0.5:.0f} h" in text
