"""One run -> one record: the unit every thesis experiment, sweep and ``adlip run`` is made of.

A run trains one detector on one one-vs-rest task and measures it: ROC-AUC on the test set, the
thesis's random-pair Lipschitz lower bound and a gradient-ascent bound, the certified score's
constant and median certified radius where the detector has one, timings. Its record (one JSON
line) carries the full configuration, the resolved budget, the profile, the versions of adlip,
TensorFlow and deel-lip, and the git commit. :mod:`adlip.sweeps` runs many of them;
:mod:`adlip.experiments` says which.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from adlip.checks import check_positive
from adlip import data, metrics, robustness
from adlip.detectors import registry
from adlip.records import _jsonable, provenance
from adlip.profiles import get_profile
from adlip.resume import RunStages, code_identity

# Views of adlip.detectors.registry, by group, in its order.
DEEP_ALGORITHMS = registry.names("thesis")
BASELINE_ALGORITHMS = registry.names("baseline")
COMPANION_ALGORITHMS = registry.names("companion")
ALGORITHMS = registry.names()
# The profile's training-phase knob (``Profile.phase_scale``) each deep detector's main schedule trains
# under (``epochs_scale``), and the knobs of its further phases: Deep SVDD's pretraining DCAE,
# f-AnoGAN's encoder.
PHASE_OF = {"dcae": "dcae", "deepsvdd-oc": "deepsvdd", "deepsvdd-sb": "deepsvdd", "anogan": "gan", "fanogan": "gan"}
FURTHER_PHASES = {"deepsvdd-oc": ("pretrain",), "deepsvdd-sb": ("pretrain",), "fanogan": ("encoder",)}


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
    elif config.algorithm == "fanogan":
        options.setdefault("encoder_epochs_scale", config.epochs_scale or profile.phase_scale("encoder"))
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
    interval, AnoGAN's latent-search steps, scored training images and GAN layers, f-AnoGAN's
    encoder epochs and critic steps: what a table's caption needs to state exactly what was run.
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
    elif family == "fanogan":
        budget.update(gan_epochs=epochs, encoder_epochs=int(detector.resolved_encoder_schedule().total_epochs),
                      critic_steps=detector.critic_steps)
        if detector.lipschitz is not None:
            budget["orthogonalization"] = detector.orthogonalization
    else:
        budget[f"{family or 'training'}_epochs"] = epochs
    return budget


def set_threads(threads: int, *, if_started: str = "raise") -> None:
    """Run TensorFlow's ops on ``threads`` intra-op threads and one inter-op thread. Call it before
    the first op: TensorFlow fixes its thread pools then.

    ``if_started="keep"`` tolerates a process whose TensorFlow already runs with other counts (a
    long-lived Dask worker running its second task); records carry the counts actually used.
    """
    if if_started not in ("raise", "keep"):
        raise ValueError(f"if_started must be 'raise' or 'keep', got {if_started!r}")
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == int(threads):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:   # TensorFlow's pools are fixed once it has run an op
        if if_started == "raise":
            raise


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


def certificate_summary(detector, scores) -> dict:
    """The certified score's L2 constant and the median certified radius over the test images.

    Both None for detectors without a provable constant (standard networks, AnoGAN). The radius of
    an image is how far (L2, in the detector's input scaling) it can be moved without its decision
    at ``threshold_`` changing (:func:`adlip.robustness.certified_radius`).
    """
    constant = robustness.score_lipschitz_constant(detector)
    if constant is None:
        return dict(score_constant=None, certified_radius_median=None)
    level = robustness.certified_scores(detector, [detector.threshold_])[0]
    radius = robustness.certified_radius(robustness.certified_scores(detector, scores), level, constant)
    return dict(score_constant=float(constant), certified_radius_median=float(np.median(radius)))


def fit_and_score(detector, split) -> tuple:
    """Fit on the split's training images and score its test images: ``(scores, train s, score s)``."""
    start = time.perf_counter()
    detector.fit(split.x_train)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = detector.decision_function(split.x_test)
    return scores, train_seconds, time.perf_counter() - start


def run_one(config: RunConfig, verbose: int = 0, cache_dir=None) -> dict:
    """Train, score and measure one configuration; return its record (see the module docstring).

    With ``cache_dir``, each finished stage (the fitted detector, the test scores part by part, the
    Lipschitz measurements; AnoGAN's training state between epochs) is kept in ``cache_dir/runs/<run_id>`` until the record is made, so that
    running an interrupted configuration again resumes it (:mod:`adlip.resume`); the record lists
    the stages it reused under ``resumed``.
    """
    split = load_split(config)
    stages = run_stages(config, cache_dir)

    def fit():
        detector = make_detector(config, verbose=verbose, cache_dir=cache_dir)
        if stages.training_folder is not None and hasattr(type(detector), "checkpoint_dir"):
            detector.checkpoint_dir = str(stages.training_folder)   # training resumes midway too
        return detector.fit(split.x_train)

    detector, train_seconds = stages.fitted(fit)
    scores, score_seconds = stages.scores(detector, split.x_test)
    record = dict(run_id=config.run_id, experiment=config.experiment, profile=config.profile,
                  algorithm=config.algorithm, dataset=config.dataset, normal_class=config.normal_class,
                  lipschitz=config.lipschitz, seed=config.seed,
                  epochs=_epochs(detector), budget=resolved_budget(detector), threads=compute_threads(),
                  auc=metrics.roc_auc(split.y_test, scores),
                  train_seconds=train_seconds, score_seconds=score_seconds,
                  n_train=int(split.info["n_train"]), n_test=int(split.info["n_test"]),
                  data_fingerprint=data.fingerprint(config.dataset))
    record.update(stages.computed("lipschitz", lambda: measure_lipschitz(detector, split.x_test, config)))
    record.update(certificate_summary(detector, scores))
    record.update(collapsed=getattr(detector, "collapsed_", None),
                  history=_summarise_history(getattr(detector, "history_", None)),
                  status="ok", error=None, config=config.to_dict(), resumed=list(stages.resumed),
                  profile_budget=get_profile(config.profile, dataset=config.dataset).to_dict(),
                  detector_params=_jsonable(detector.get_params()), **provenance())
    stages.clear()
    return record


def run_stages(config: RunConfig, cache_dir=None) -> RunStages:
    """Where ``run_one`` keeps the finished stages of ``config`` (nowhere without ``cache_dir``).

    TensorFlow is imported first for the deep detectors, so that the thread counts the stages are
    keyed by are the ones the run will use.
    """
    if cache_dir is None:
        return RunStages(None, config.run_id, identity=None)
    if config.algorithm not in BASELINE_ALGORITHMS:
        import tensorflow  # noqa: F401
    return RunStages(Path(cache_dir) / "runs", config.run_id, identity=code_identity(compute_threads()))


def failed_record(config: RunConfig, error: str) -> dict:
    return dict(run_id=config.run_id, experiment=config.experiment, profile=config.profile,
                algorithm=config.algorithm, dataset=config.dataset, normal_class=config.normal_class,
                lipschitz=config.lipschitz, seed=config.seed, status="failed", error=error,
                config=config.to_dict(), **provenance())
