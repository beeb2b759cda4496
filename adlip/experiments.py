"""The thesis's experiments as studies: which runs experiments 1 and 2, the baselines and the
companion comparison are made of, and the records a chapter renders.

One run (:mod:`adlip.runs`) trains and measures one detector on one one-vs-rest task; a sweep
(:mod:`adlip.sweeps`) runs a grid of them in worker processes and resumes where it stopped. This
module names the grids (``exp1``, ``exp2``, ``baselines``, ``companions``, ``fanogan``, ``bjorck``,
``unpretrained``), registers each as a :class:`~adlip.studies.base.Study`, and reads their records.
The run and sweep names stay reachable here (``adlip.experiments.run_one``, ``sweep``, ...), as the
README and the book use them.
"""
from __future__ import annotations

from pathlib import Path

from adlip import data
from adlip.records import (  # noqa: F401  (the records API, also reachable as adlip.experiments.*)
    REPO_ROOT, TEMPORARY_PREFIX, _jsonable, append_record, check_clean_code, check_records_file, git_commit,
    load_records, provenance, read_record_file, records_frame, remove_stale_temporaries, results_folder, versions,
    write_record)
from adlip.profiles import get_profile
from adlip.runs import (  # noqa: F401  (one run, also reachable as adlip.experiments.*)
    ALGORITHMS, BASELINE_ALGORITHMS, COMPANION_ALGORITHMS, DEEP_ALGORITHMS, FURTHER_PHASES, PHASE_OF, RunConfig,
    compute_threads, failed_record, fit_and_score, load_split, make_detector, measure_lipschitz,
    resolved_budget, run_one)
from adlip.studies.base import Study
from adlip.sweeps import (  # noqa: F401  (sweeps, also reachable as adlip.experiments.*)
    SweepError, SweepSummary, claim, is_finished, parallelism, record_path, run_config_main, same_budget, sweep)

EXPERIMENTS = ("exp1", "exp2", "baselines", "companions", "fanogan", "bjorck", "unpretrained")


# ----------------------------------------------------------------------------------------- grids

def exp1_grid(profile: str) -> list:
    """Experiment 1 (thesis 5.1): every K of the profile, normal class 0, the four algorithms.

    As in the thesis, AnoGAN runs once (the first seed), the others once per seed.
    """
    budget = get_profile(profile)
    return [RunConfig(algorithm, dataset, 0, float(k), seed, profile, experiment="exp1")
            for dataset in budget.datasets for k in budget.lipschitz_constants
            for algorithm in DEEP_ALGORITHMS
            for seed in (budget.seeds[:1] if algorithm == "anogan" else budget.seeds)]


def chosen_constant(dataset: str, algorithm: str) -> float:
    """The K used in experiment 2: the thesis's choice (section 5.1.1), for a like-for-like comparison."""
    from adlip.reference import thesis_chosen_constant

    return float(thesis_chosen_constant(dataset, algorithm))


def exp2_grid(profile: str) -> list:
    """Experiment 2 (thesis 5.2): every normal class, standard and Lipschitz at the chosen K, per seed."""
    budget = get_profile(profile)
    return [RunConfig(algorithm, dataset, normal_class, k, seed, profile, experiment="exp2")
            for dataset in budget.datasets for normal_class in budget.classes
            for algorithm in DEEP_ALGORITHMS
            for k in (None, chosen_constant(dataset, algorithm)) for seed in budget.seeds]


def baselines_grid(profile: str) -> list:
    """Isolation Forest, one-class SVM and Gaussian KDE on the same splits (Ruff et al.'s baselines)."""
    budget = get_profile(profile)
    return [RunConfig(algorithm, dataset, normal_class, None, seed, profile, experiment="baselines")
            for dataset in budget.datasets for normal_class in budget.classes
            for algorithm in BASELINE_ALGORITHMS for seed in budget.seeds]


# The companion detectors in the cross-method comparison, each at the constant its paper uses: the
# VAE's encoder at eq. 7's M for 10 latent dimensions (5), RobustRealNVP's couplings at k = 2, the
# regularized Deep SVDD (with bias terms and the noise regularizer) unconstrained, as in its paper.
# The one-class HKR classifier has its own records (``python -m adlip.studies.hkr``), since it
# needs its paper's per-budget architecture.
COMPANION_RUNS = (("vae", 5.0), ("realnvp", 2.0), ("regsvdd", None))


def companions_grid(profile: str) -> list:
    """The companion papers' detectors on experiment 2's one-vs-rest tasks, for the comparison table."""
    budget = get_profile(profile)
    return [RunConfig(algorithm, dataset, normal_class, k, seed, profile, experiment="companions")
            for dataset in budget.datasets for normal_class in budget.classes
            for algorithm, k in COMPANION_RUNS for seed in budget.seeds]


# The GAN comparison on CIFAR-10 at profile `full` is the largest budget this CPU affords, not the
# thesis's (which never finished AnoGAN on CIFAR-10): every training image of the class, the thesis's
# networks and search, but a quarter of the GAN and encoder epochs (13 of the 50 that both detectors
# train on CIFAR-10), one seed, and AnoGAN on a few classes only. At `quick` (one GAN epoch on 1000
# images) every model scores at chance. A standard f-AnoGAN run took 805 s on two idle cores (class 0,
# ROC-AUC 68.3); from the quick records, a Lipschitz run costs about 3 times that and an AnoGAN run
# 30 to 55 minutes, most of it the 500-step search of 1000 test images.
CIFAR10_GAN_COMPARISON = dict(epochs_scale=0.25, anogan_classes=(0, 1, 2))


def fanogan_grid(profile: str) -> list:
    """f-AnoGAN on experiment 2's one-vs-rest tasks, standard and at the K chosen for AnoGAN (the same
    generator and the same constant, so that the two differ only in how they reach the latent space).

    At ``full``, CIFAR-10 runs at ``CIFAR10_GAN_COMPARISON``'s budget (seed 0), with AnoGAN at the same
    budget on its classes beside f-AnoGAN, so that the chapter compares the two like for like.
    """
    budget = get_profile(profile)
    configs = []
    for dataset in budget.datasets:
        k = chosen_constant(dataset, "anogan")
        if dataset == "cifar10" and budget.name == "full":
            scale = CIFAR10_GAN_COMPARISON["epochs_scale"]
            configs += [RunConfig(algorithm, dataset, normal_class, lipschitz, budget.seeds[0], profile,
                                  epochs_scale=scale, experiment="fanogan")
                        for normal_class in budget.classes for algorithm in ("fanogan", "anogan")
                        if algorithm == "fanogan" or normal_class in CIFAR10_GAN_COMPARISON["anogan_classes"]
                        for lipschitz in (None, k)]
            continue
        configs += [RunConfig("fanogan", dataset, normal_class, lipschitz, seed, profile, experiment="fanogan")
                    for normal_class in budget.classes for lipschitz in (None, k) for seed in budget.seeds]
    return configs


# The profiles normalise the Lipschitz GAN's kernels spectrally (the same K-Lipschitz guarantee, at a
# fraction of the cost of deel-lip's Björck orthonormalisation of the generator's 8192 x 4096 dense
# kernel); this calibration point is experiment 2's Lipschitz AnoGAN as the thesis built it, with
# Björck, on the one class below, so that its record sits beside the spectral run of the same class.
BJORCK_CALIBRATION = dict(dataset="mnist", normal_classes=(0,))


def bjorck_grid(profile: str) -> list:
    """Experiment 2's Lipschitz AnoGAN with Björck orthonormalisation, at the profile's budget (first
    seed), on ``BJORCK_CALIBRATION``'s classes. Training saves its state between epochs, so a run
    that takes longer than one sitting resumes where it stopped (``adlip.resume``)."""
    budget = get_profile(profile)
    dataset = BJORCK_CALIBRATION["dataset"]
    return [RunConfig("anogan", dataset, normal_class, chosen_constant(dataset, "anogan"), budget.seeds[0],
                      profile, experiment="bjorck", options=(("orthogonalization", "bjorck"),))
            for normal_class in BJORCK_CALIBRATION["normal_classes"]]


# At K <= 2 the thesis's Lipschitz soft-boundary Deep SVDD ranks MNIST's anomalies below chance in
# experiment 1 (about 30 ROC-AUC), where ours, pretrained as its section 4 says, is above chance.
# Leaving out the DCAE pretraining reproduced that column in single quick runs; this grid is experiment
# 1's two Deep SVDDs (every K, class 0, every seed) without it, to set beside the pretrained records.
UNPRETRAINED_ALGORITHMS = ("deepsvdd-sb", "deepsvdd-oc")


def unpretrained_grid(profile: str) -> list:
    """Experiment 1's Lipschitz Deep SVDDs (soft-boundary and one-class) trained from a random
    initialisation instead of a pretrained DCAE's encoder, at the profile's budget."""
    budget = get_profile(profile)
    return [RunConfig(algorithm, dataset, 0, float(k), seed, profile, experiment="unpretrained",
                      options=(("pretrain", False),))
            for dataset in budget.datasets for k in budget.lipschitz_constants
            for algorithm in UNPRETRAINED_ALGORITHMS for seed in budget.seeds]


GRIDS = {"exp1": exp1_grid, "exp2": exp2_grid, "baselines": baselines_grid, "companions": companions_grid,
         "fanogan": fanogan_grid, "bjorck": bjorck_grid, "unpretrained": unpretrained_grid}


def grid(experiment: str, profile: str, datasets=None) -> list:
    """The run configurations of a named experiment, optionally restricted to some data sets."""
    if experiment not in GRIDS:
        raise ValueError(f"unknown experiment {experiment!r}; choose one of {list(GRIDS)}")
    configs = GRIDS[experiment](profile)
    if datasets:
        for name in datasets:
            data.check_dataset_name(name)
        configs = [c for c in configs if c.dataset in datasets]
    return configs


# ---------------------------------------------------------------------------------------- studies

_TITLES = {
    "exp1": "Experiment 1: the Lipschitz constant K against ROC-AUC and smoothness (thesis 5.1)",
    "exp2": "Experiment 2: standard against Lipschitz detectors, one-vs-rest on every class (thesis 5.2)",
    "baselines": "Classical baselines on experiment 2's one-vs-rest tasks",
    "companions": "The companion papers' detectors on experiment 2's one-vs-rest tasks",
    "fanogan": "f-AnoGAN, standard and Lipschitz, on experiment 2's one-vs-rest tasks",
    "bjorck": "Experiment 2's Lipschitz AnoGAN with the thesis's Björck orthonormalisation (a calibration point)",
    "unpretrained": "Experiment 1's Lipschitz Deep SVDDs without the DCAE pretraining",
}


def _sweep_many(configs, folder, workers: int = 0, progress: bool = True):
    return sweep(configs, folder, workers=workers, progress=progress)


def experiment_study(experiment: str) -> Study:
    """The :class:`Study` of a named experiment: its grid, ``run_one``, and sweeps for many runs.

    It is ``partial``: a chapter shows a grid that a sweep is still filling in, with its progress.
    """
    if experiment not in GRIDS:
        raise ValueError(f"unknown experiment {experiment!r}; choose one of {list(GRIDS)}")
    return Study(name=experiment, title=_TITLES[experiment], grid=GRIDS[experiment], run=run_one,
                 record_file=lambda config: record_path(".", config).name, budget=get_profile,
                 run_many=_sweep_many, partial=True)


STUDIES = {name: experiment_study(name) for name in EXPERIMENTS}


def committed_records(experiment: str, profile: str, results_dir="results", datasets=None) -> list:
    """The records in ``results_dir/<experiment>/<profile>/`` (none: an empty list), never running anything.

    For a chapter that shows another profile's records beside its own, such as the thesis-budget
    MNIST runs, whatever profile the book is executed with.
    """
    folder = results_folder(results_dir, experiment, profile)
    if not folder.is_dir():
        return []
    records = load_records(folder)
    return [r for r in records if datasets is None or r.get("dataset") in datasets]


def gan_records(profile: str, results_dir="results", run=None, workers: int = 0, datasets=None) -> list:
    """AnoGAN's records of experiment 2 and f-AnoGAN's of its own grid: the GAN chapter's comparison.

    ``run=None`` makes the missing runs of both (AnoGAN's only, not the rest of experiment 2) under
    the ``smoke`` profile only; ``run=True`` always, ``run=False`` never. Grids not run yet give no
    records rather than an error, so the chapter can say what is missing.
    """
    if run is None:
        run = profile == "smoke"
    if run:
        anogan = [c for c in grid("exp2", profile, datasets) if c.algorithm == "anogan"]
        sweep(anogan, Path(results_dir) / "exp2" / profile, workers=workers, progress=False)
        sweep(grid("fanogan", profile, datasets), Path(results_dir) / "fanogan" / profile, workers=workers,
              progress=False)
    anogan_records = committed_records("exp2", profile, results_dir, datasets)
    comparison = committed_records("fanogan", profile, results_dir, datasets)
    # AnoGAN's runs of the comparison grid (CIFAR-10 at full) stand in for experiment 2's on their data set
    own = {r.get("dataset") for r in comparison if r.get("algorithm") == "anogan"}
    return ([r for r in anogan_records if r.get("algorithm") == "anogan" and r.get("dataset") not in own]
            + comparison)


def progress(records, experiment: str, profile: str, datasets=None, timed=()) -> str:
    """How much of a grid its records cover, per seed, and what the first unfinished seed still costs.

    For example "62 of 240 runs of exp2 at profile full (mnist) are complete (seed 0: 62 of 80;
    seed 1: 0 of 80; seed 2: 0 of 80). Seed 0's 18 missing runs need about 50 h of one core, ...".
    The cost is priced by :func:`adlip.estimates.expected_seconds` from the finished records, by
    those made on this processor where a kind has any; ``timed`` adds records of other grids that
    train the same kinds of run (experiment 1's AnoGAN is experiment 2's at other constants), to
    price by but not to count.
    """
    from adlip.estimates import expected_seconds
    from adlip.records import cpu

    configs = grid(experiment, profile, datasets)
    done = {r.get("run_id") for r in records if r.get("status") == "ok"}
    seeds = sorted({c.seed for c in configs})
    per_seed = {seed: [c for c in configs if c.seed == seed] for seed in seeds}
    finished = sum(c.run_id in done for c in configs)
    where = f" ({', '.join(datasets)})" if datasets else ""
    text = f"{finished} of {len(configs)} runs of {experiment} at profile {profile}{where} are complete"
    if len(seeds) > 1:
        text += " (" + "; ".join(f"seed {seed}: {sum(c.run_id in done for c in runs)} of {len(runs)}"
                                 for seed, runs in per_seed.items()) + ")"
    text += "."
    unfinished = next((seed for seed in seeds if any(c.run_id not in done for c in per_seed[seed])), None)
    if unfinished is None or not done:
        return text
    missing = [c for c in per_seed[unfinished] if c.run_id not in done]
    estimate = expected_seconds(missing, list(records) + list(timed), processor=cpu())
    if not estimate.priced:
        return text + f" Seed {unfinished} misses {len(missing)} runs, of kinds no finished record here has timed."
    text += (f" Seed {unfinished}'s {len(missing)} missing runs need about {estimate.seconds / 3600:.0f} h "
             "of one core at the median time of the finished runs of the same kind (this processor's "
             "own runs, where there are any)")
    return text + (f" ({estimate.unpriced} of them of a kind not yet timed, not counted)." if estimate.unpriced
                   else ".")


def records_for(experiment: str, profile: str, results_dir="results", run=None, workers: int = 0,
                datasets=None, progress: bool = False) -> list:
    """The records a chapter renders: ``results_dir/<experiment>/<profile>/``.

    ``run=None`` runs the missing part of the grid only under the ``smoke`` profile (so CI exercises
    the whole path in seconds) and otherwise reads the committed records; ``run=True`` always
    completes the grid first (a rerun of the book at another profile), ``run=False`` never does.
    """
    if run is None:
        run = profile == "smoke"
    if run:
        sweep(grid(experiment, profile, datasets), Path(results_dir) / experiment / profile, workers=workers,
              progress=progress)
    folder = results_folder(results_dir, experiment, profile)
    if not folder.is_dir() or not any(folder.glob("*.jsonl")):
        raise ValueError(f"no {experiment} records for profile {profile!r} in {folder}: run "
                         f"`python -m adlip sweep --experiment {experiment} --profile {profile} --out {folder}` "
                         "or execute this notebook with run_missing=True")
    records = load_records(folder)
    if records and not any(r.get("status") == "ok" for r in records):
        raise ValueError(f"every {experiment} run in {folder} failed; the first said: "
                         f"{records[0].get('error', 'no error recorded')}")
    return records
