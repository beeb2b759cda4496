"""Experiments: one run -> one record, and resumable sweeps over the thesis's grids.

A run trains one detector on one one-vs-rest task and measures it: ROC-AUC on the test set, the
thesis's random-pair Lipschitz lower bound and a gradient-ascent bound, timings. Its record (one JSON
line) carries the full configuration, the profile, the adlip version and the git commit. A sweep
is a list of runs; running it runs those whose record does not exist yet, each in its own process,
so an interrupted sweep loses only the runs in flight and one crashing run does not stop the others.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from adlip.checks import check_positive
from adlip import data, metrics
from adlip.detectors import registry
from adlip.records import (  # noqa: F401  (the records API, also reachable as adlip.experiments.*)
    REPO_ROOT, TEMPORARY_PREFIX, _jsonable, append_record, chapter_record_path, check_clean_code,
    check_records_file, git_commit, load_chapter_record, load_records, provenance, records_frame,
    remove_stale_temporaries, save_chapter_record, versions, write_record)
from adlip.profiles import PHASES, get_profile

# Views of adlip.detectors.registry, by group, in its order.
DEEP_ALGORITHMS = registry.names("thesis")
BASELINE_ALGORITHMS = registry.names("baseline")
COMPANION_ALGORITHMS = registry.names("companion")
ALGORITHMS = registry.names()
EXPERIMENTS = ("exp1", "exp2", "baselines", "companions")
# The profile's training-phase knob (``Profile.phase_scale``) each thesis detector trains under;
# Deep SVDD's pretraining DCAE takes the "pretrain" knob on top.
PHASE_OF = {"dcae": "dcae", "deepsvdd-oc": "deepsvdd", "deepsvdd-sb": "deepsvdd", "anogan": "gan"}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run. ``options`` are extra detector arguments (name, value) pairs."""

    algorithm: str
    dataset: str
    normal_class: int
    lipschitz: float | None = None
    seed: int = 0
    profile: str = "quick"
    epochs_scale: float | None = None
    experiment: str | None = None
    options: tuple = ()

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; choose one of {list(ALGORITHMS)}")
        data.check_dataset_name(self.dataset)
        n_classes = len(data.CLASS_NAMES[self.dataset])
        if not isinstance(self.normal_class, (int, np.integer)) or not 0 <= self.normal_class < n_classes:
            raise ValueError(f"normal_class must be an integer in 0..{n_classes - 1}, got {self.normal_class!r}")
        check_positive("lipschitz", self.lipschitz, allow_none=True,
                       what="a positive number (or None for the standard model)")
        registry.get_algorithm(self.algorithm).check_lipschitz(self.lipschitz)
        if self.epochs_scale is not None and not self.epochs_scale > 0:
            raise ValueError(f"epochs_scale must be positive, got {self.epochs_scale!r}")
        get_profile(self.profile)

    @property
    def run_id(self) -> str:
        """A readable, unique file name for this run."""
        variant = "std" if self.lipschitz is None else f"K{self.lipschitz:g}"
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.algorithm}-{self.dataset}-c{self.normal_class}-{variant}-s{self.seed}-{digest}"

    def to_dict(self) -> dict:
        values = asdict(self)
        values["options"] = dict(self.options)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        values = dict(values)
        values["options"] = tuple(sorted(dict(values.get("options") or {}).items()))
        return cls(**values)


def make_detector(config: RunConfig, verbose: int = 0, cache_dir=None):
    """The detector a run configuration asks for, with the profile's budgets applied.

    ``cache_dir`` lets Deep SVDD runs share their pretrained DCAE (keyed by its configuration).
    """
    profile = get_profile(config.profile, dataset=config.dataset)
    options = dict(config.options)
    if config.algorithm in BASELINE_ALGORITHMS:
        return registry.get_algorithm(config.algorithm).factory(dataset=config.dataset, seed=config.seed, **options)
    from adlip.detectors import make_detector as make_named_detector

    phase = PHASE_OF.get(config.algorithm)
    scale = config.epochs_scale or (profile.phase_scale(phase) if phase else profile.epochs_scale)
    common = dict(dataset=config.dataset, lipschitz=config.lipschitz, seed=config.seed, verbose=verbose,
                  epochs_scale=scale)
    if config.algorithm == "anogan":
        options.setdefault("latent_steps", profile.latent_steps)
        options.setdefault("train_score_size", profile.anogan_train_score_size)
        if config.lipschitz is not None:
            options.setdefault("orthogonalization", profile.gan_orthogonalization)
    elif config.algorithm.startswith("deepsvdd"):
        options.setdefault("pretrain_epochs_scale", config.epochs_scale or profile.phase_scale("pretrain"))
        if cache_dir is not None:
            options.setdefault("pretrain_cache_dir", str(Path(cache_dir) / "pretrained-dcae"))
    return make_named_detector(config.algorithm, **common, **options)


def load_split(config: RunConfig):
    profile = get_profile(config.profile, dataset=config.dataset)
    is_gan = config.algorithm == "anogan"
    return data.one_vs_rest(config.dataset, config.normal_class, scaling=registry.get_algorithm(config.algorithm).scaling,
                            train_size=profile.train_size,
                            test_size=profile.anogan_test_size if is_gan else profile.test_size, seed=1234)


def _epochs(detector) -> int:
    """Training epochs of the detector's own schedule (0 for the classical baselines)."""
    schedule = getattr(detector, "resolved_schedule", None)
    return int(schedule().total_epochs) if schedule else 0


def resolved_budget(detector) -> dict:
    """Every budget knob the detector was trained and scored with, in the thesis's units.

    Epochs per training phase (after the profile's scales), the soft-boundary warm-up and radius
    interval, AnoGAN's latent-search steps, scored training images and GAN layers: what a table's
    caption needs to state exactly what was run.
    """
    budget = {}
    schedule = getattr(detector, "resolved_schedule", None)
    if schedule is None:
        return budget
    epochs = int(schedule().total_epochs)
    family = getattr(detector, "family", None)
    if family == "deepsvdd":
        budget["deepsvdd_epochs"] = epochs
        budget["pretrain_epochs"] = (int(detector.pretrain_detector().resolved_schedule().total_epochs)
                                     if getattr(detector, "pretrain", False) else 0)
        if getattr(detector, "objective", None) == "soft-boundary":
            budget.update(warm_up_epochs=detector.warm_up_epochs,
                          radius_update_every=detector.radius_update_every)
    elif family == "anogan":
        budget.update(gan_epochs=epochs, latent_steps=detector.latent_steps,
                      train_score_size=detector.train_score_size)
        if detector.lipschitz is not None:
            budget["orthogonalization"] = detector.orthogonalization
    else:
        budget[f"{family or 'training'}_epochs"] = epochs
    return budget


def compute_threads() -> dict | None:
    """TensorFlow's intra- and inter-op thread counts in this process (0: TensorFlow's default, all
    cores); None when the run did not use TensorFlow.

    Numbers depend on the intra-op thread count (a reduction split over two threads rounds
    differently from one), so records carry it: a rerun with the same count gives the same bits.
    """
    if "tensorflow" not in sys.modules:
        return None
    import tensorflow as tf

    return dict(intra_op=tf.config.threading.get_intra_op_parallelism_threads(),
                inter_op=tf.config.threading.get_inter_op_parallelism_threads(), cpu_count=os.cpu_count())


def _summarise_history(history: dict) -> dict:
    """Per-epoch curves as plain lists of floats (small: one value per epoch)."""
    return {name: [float(v) for v in values] for name, values in (history or {}).items()}


def measure_lipschitz(detector, x_test, config: RunConfig) -> dict:
    """The thesis's random-pair bound and the gradient-ascent bound of the detector's network."""
    profile = get_profile(config.profile, dataset=config.dataset)
    network = getattr(detector, "lipschitz_network", None)
    if network is None:
        return dict(lip_lower_bound=None, lip_sigma=None, lip_round_maxima=None, lip_pairs=None,
                    lip_gradient_ascent=None, lip_seconds=0.0)
    inputs = detector.lipschitz_inputs(x_test, seed=config.seed)
    start = time.perf_counter()
    bound = metrics.lipschitz_lower_bound(network, inputs, seed=config.seed, **profile.lipschitz_budget())
    ascent = metrics.lipschitz_gradient_ascent(network, inputs, starts=profile.ascent_starts,
                                               steps=profile.ascent_steps, seed=config.seed)
    return dict(lip_lower_bound=bound.value, lip_sigma=bound.sigma, lip_round_maxima=bound.round_maxima,
                lip_pairs=bound.pairs, lip_gradient_ascent=ascent.value,
                lip_seconds=time.perf_counter() - start)


def fit_and_score(detector, split) -> tuple:
    """Fit on the split's training images and score its test images: ``(scores, train s, score s)``."""
    start = time.perf_counter()
    detector.fit(split.x_train)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = detector.decision_function(split.x_test)
    return scores, train_seconds, time.perf_counter() - start


def run_one(config: RunConfig, verbose: int = 0, cache_dir=None) -> dict:
    """Train, score and measure one configuration; return its record (see the module docstring)."""
    split = load_split(config)
    detector = make_detector(config, verbose=verbose, cache_dir=cache_dir)
    scores, train_seconds, score_seconds = fit_and_score(detector, split)
    record = dict(run_id=config.run_id, experiment=config.experiment, profile=config.profile,
                  algorithm=config.algorithm, dataset=config.dataset, normal_class=config.normal_class,
                  lipschitz=config.lipschitz, seed=config.seed,
                  epochs=_epochs(detector), budget=resolved_budget(detector), threads=compute_threads(),
                  auc=metrics.roc_auc(split.y_test, scores),
                  train_seconds=train_seconds, score_seconds=score_seconds,
                  n_train=int(split.info["n_train"]), n_test=int(split.info["n_test"]),
                  data_fingerprint=data.fingerprint(config.dataset))
    record.update(measure_lipschitz(detector, split.x_test, config))
    record.update(collapsed=getattr(detector, "collapsed_", None),
                  history=_summarise_history(getattr(detector, "history_", None)),
                  status="ok", error=None, config=config.to_dict(),
                  profile_budget=get_profile(config.profile, dataset=config.dataset).to_dict(),
                  detector_params=_jsonable(detector.get_params()), **provenance())
    return record


def failed_record(config: RunConfig, error: str) -> dict:
    return dict(run_id=config.run_id, experiment=config.experiment, profile=config.profile,
                algorithm=config.algorithm, dataset=config.dataset, normal_class=config.normal_class,
                lipschitz=config.lipschitz, seed=config.seed, status="failed", error=error,
                config=config.to_dict(), **provenance())


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


GRIDS = {"exp1": exp1_grid, "exp2": exp2_grid, "baselines": baselines_grid, "companions": companions_grid}


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


# ----------------------------------------------------------------------------------------- sweeps

@dataclass
class SweepSummary:
    done: list = field(default_factory=list)      # run ids finished in this call
    skipped: list = field(default_factory=list)   # run ids whose record already existed
    failed: list = field(default_factory=list)    # run ids that failed in this call
    elsewhere: list = field(default_factory=list) # run ids another sweep was running
    seconds: float = 0.0

    def __str__(self):
        text = (f"{len(self.done)} runs done, {len(self.failed)} failed, {len(self.skipped)} already there, "
                f"{self.seconds:.0f} s")
        return text + (f", {len(self.elsewhere)} left to another sweep running them" if self.elsewhere else "")


def record_path(out_dir, config: RunConfig) -> Path:
    return Path(out_dir) / f"{config.run_id}.jsonl"


# Profile fields that name the grid rather than the budget of one run: a change to them leaves
# finished runs valid.
_GRID_FIELDS = {"name", "seeds", "classes", "datasets", "lipschitz_constants", "dataset_budgets"}
_ANOGAN_FIELDS = {"anogan_test_size", "latent_steps", "anogan_train_score_size", "gan_orthogonalization"}


def same_budget(record: dict, config: RunConfig) -> bool:
    """Whether ``record`` was produced under the budget ``config``'s profile now gives its data set."""
    recorded = record.get("profile_budget") or {}
    current = json.loads(json.dumps(get_profile(config.profile, dataset=config.dataset).to_dict()))
    ignored = _GRID_FIELDS if config.algorithm == "anogan" else _GRID_FIELDS | _ANOGAN_FIELDS
    own_phases = {PHASE_OF.get(config.algorithm)} | ({"pretrain"} if config.algorithm.startswith("deepsvdd") else set())
    ignored = ignored | {f"{phase}_epochs_scale" for phase in PHASES if phase not in own_phases}
    return all(recorded[key] == value for key, value in current.items() if key not in ignored and key in recorded)


def is_finished(out_dir, config: RunConfig) -> bool:
    """A run is finished when its record exists, says ``ok`` and was produced under the profile's
    current budget for its data set (failed and out-of-budget runs are done again)."""
    path = record_path(out_dir, config)
    if not path.is_file():
        return False
    try:
        records = load_records(path, strict=True)
    except (OSError, ValueError):
        return False          # torn or unreadable: not done (the rerun replaces it)
    return bool(records) and all(r.get("status") == "ok" and r.get("run_id") == config.run_id
                                 and same_budget(r, config) for r in records)


class SweepError(RuntimeError):
    """A sweep cannot go on (its folder became unwritable, the disk is full): the message says why."""


def _die_with_parent() -> None:
    """In a worker process (Linux): receive SIGTERM when the sweep process dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_in_subprocess(config: RunConfig, out_dir: Path, threads: int, lock=None) -> subprocess.Popen:
    """Start a worker process for one run; it shares ``lock`` (an open lock file) so that the run
    stays claimed for as long as either process lives."""
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1",
                       OMP_NUM_THREADS=str(threads))
    command = [sys.executable, "-m", "adlip", "run-config", json.dumps(config.to_dict()),
               "--record", str(record_path(out_dir, config)), "--cache-dir", str(Path(out_dir) / ".cache")]
    with open(Path(out_dir) / "logs" / f"{config.run_id}.log", "w") as log:
        return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                preexec_fn=_die_with_parent, pass_fds=(lock.fileno(),) if lock else ())


def claim(out_dir, config: RunConfig):
    """An open, exclusively locked file that claims ``config`` in ``out_dir``, or None if another
    sweep holds it. The lock goes when every process holding the file ends, however it ends."""
    import fcntl

    folder = Path(out_dir) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{config.run_id}.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def parallelism(workers=None, threads=None) -> tuple:
    """(worker processes, TensorFlow threads per worker) for a sweep on this machine.

    By default one single-threaded worker per core: measured on 2 cores
    (``benchmarks/bench_parallelism.py``), two one-thread processes train the Lipschitz MNIST DCAE at
    about twice the rate of one two-thread process and the standard one at about 1.2 times, since
    these small networks do not keep two threads busy. A single-threaded worker also gives the same
    bits whatever else the machine runs.
    """
    cores = os.cpu_count() or 1
    workers = cores if workers is None else int(workers)
    if workers < 0:
        raise ValueError(f"workers must be 0 (in this process) or more, got {workers}")
    threads = max(1, cores // max(workers, 1)) if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be 1 or more, got {threads}")
    return workers, threads


def sweep(configs, out_dir, workers: int = 1, progress: bool = True, threads: int | None = None) -> SweepSummary:
    """Run every configuration whose record is missing from ``out_dir``; return what happened.

    ``workers >= 1`` runs each configuration in its own Python process (at most ``workers`` at once,
    each with ``threads`` TensorFlow threads; default: the cores shared out), so a crash in one run
    is recorded as a failed record and the others go on. ``workers=0`` runs them in this process,
    one after another (for tests and debugging).

    Nothing is lost or done twice: a run is claimed by a lock file while it runs, so two sweeps on
    one folder share the work (a run claimed elsewhere is left to that sweep, ``summary.elsewhere``);
    stopping a sweep (Ctrl-C, SIGTERM, or SIGKILL of this process) stops its workers too; a folder
    that cannot be written any more ends the sweep with a ``SweepError`` that says so, keeping every
    record already written.
    """
    import signal

    from tqdm.auto import tqdm

    out_dir = Path(out_dir).absolute()   # workers start in the repository's folder, not the caller's
    try:
        (out_dir / "logs").mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out_dir)
    except OSError as error:
        raise SweepError(f"cannot write to {out_dir}: {error}") from None
    summary, start = SweepSummary(), time.perf_counter()
    todo = []
    for config in configs:
        if is_finished(out_dir, config):
            summary.skipped.append(config.run_id)
        else:
            todo.append(config)
    bar = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress)
    running: dict = {}

    def finish(config, ok):
        (summary.done if ok else summary.failed).append(config.run_id)
        bar.update(1)
        bar.set_postfix(failed=len(summary.failed))

    def next_claimed(queue):
        """The next configuration of ``queue`` still to do and not claimed elsewhere, with its lock."""
        while queue:
            config = queue.pop(0)
            if is_finished(out_dir, config):        # another sweep finished it meanwhile
                summary.skipped.append(config.run_id)
                bar.update(1)
                continue
            lock = claim(out_dir, config)
            if lock is None:
                summary.elsewhere.append(config.run_id)
                bar.update(1)
                continue
            return config, lock
        return None, None

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop) if _in_main_thread() else None
    queue = list(todo)
    try:
        if workers == 0:
            while queue:
                config, lock = next_claimed(queue)
                if config is None:
                    break
                with lock:
                    try:
                        record, ok = run_one(config, cache_dir=out_dir / ".cache"), True
                    except Exception:  # one failing run must not stop the sweep
                        record, ok = failed_record(config, traceback.format_exc()), False
                    write_record(record, record_path(out_dir, config))
                finish(config, ok)
        else:
            workers, threads = parallelism(workers, threads)
            while queue or running:
                while len(running) < workers:
                    config, lock = next_claimed(queue)
                    if config is None:
                        break
                    running[config.run_id] = (config, _run_in_subprocess(config, out_dir, threads, lock), lock)
                time.sleep(0.5)
                for run_id, (config, process, lock) in list(running.items()):
                    if process.poll() is None:
                        continue
                    del running[run_id]
                    ok = process.returncode == 0 and is_finished(out_dir, config)
                    if not ok and not is_finished(out_dir, config):
                        log = Path(out_dir) / "logs" / f"{run_id}.log"
                        write_record(failed_record(config, f"process exited with code {process.returncode}; "
                                                   f"see {log}"), record_path(out_dir, config))
                    lock.close()
                    finish(config, ok)
    except OSError as error:
        raise SweepError(f"the sweep in {out_dir} stopped: {error}. Every record written so far is kept; "
                         "make the folder writable (or free disk space) and run the same command again "
                         "to do the rest") from None
    finally:
        _stop_workers(running)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _stop_workers(running: dict) -> None:
    """Terminate the workers still running (an interrupted sweep), then release their claims."""
    for config, process, lock in running.values():
        if process.poll() is None:
            process.terminate()
    for config, process, lock in running.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        lock.close()


def run_config_main(config_json: str, record: str, cache_dir=None) -> int:
    """Entry point of a sweep's worker process: run one configuration, write its record."""
    config = RunConfig.from_dict(json.loads(config_json))
    threads = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    try:
        result = run_one(config, cache_dir=cache_dir)
    except Exception:
        traceback.print_exc()
        result = failed_record(config, traceback.format_exc())
    try:
        write_record(result, Path(record))
    except OSError as error:
        print(f"error: could not write the record {record}: {error}", file=sys.stderr)
        return 1
    return 0 if result["status"] == "ok" else 1


def committed_records(experiment: str, profile: str, results_dir="results", datasets=None) -> list:
    """The records in ``results_dir/<experiment>/<profile>/`` (none: an empty list), never running anything.

    For a chapter that shows another profile's records beside its own, such as the thesis-budget
    MNIST runs, whatever profile the book is executed with.
    """
    folder = Path(results_dir) / experiment / profile
    if not folder.is_dir():
        return []
    records = load_records(folder)
    return [r for r in records if datasets is None or r.get("dataset") in datasets]


def progress(records, experiment: str, profile: str, datasets=None) -> str:
    """How much of a grid its records cover, in one sentence ("23 of 80 runs of exp2 at full (MNIST)...")."""
    configs = grid(experiment, profile, datasets)
    done = {r.get("run_id") for r in records if r.get("status") == "ok"}
    finished = sum(c.run_id in done for c in configs)
    where = f" ({', '.join(datasets)})" if datasets else ""
    return f"{finished} of {len(configs)} runs of {experiment} at profile {profile}{where} are complete."


def records_for(experiment: str, profile: str, results_dir="results", run=None, workers: int = 0,
                datasets=None, progress: bool = False) -> list:
    """The records a chapter renders: ``results_dir/<experiment>/<profile>/``.

    ``run=None`` runs the missing part of the grid only under the ``smoke`` profile (so CI exercises
    the whole path in seconds) and otherwise reads the committed records; ``run=True`` always
    completes the grid first (a rerun of the book at another profile), ``run=False`` never does.
    """
    folder = Path(results_dir) / experiment / profile
    if run is None:
        run = profile == "smoke"
    if run:
        sweep(grid(experiment, profile, datasets), folder, workers=workers, progress=progress)
    if not folder.is_dir() or not any(folder.glob("*.jsonl")):
        raise ValueError(f"no {experiment} records for profile {profile!r} in {folder}: run "
                         f"`python -m adlip sweep --experiment {experiment} --profile {profile} --out {folder}` "
                         "or execute this notebook with run_missing=True")
    records = load_records(folder)
    if records and not any(r.get("status") == "ok" for r in records):
        raise ValueError(f"every {experiment} run in {folder} failed; the first said: "
                         f"{records[0].get('error', 'no error recorded')}")
    return records
