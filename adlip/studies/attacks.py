"""The attacks-and-certificates study (chapter 16): every detector of the book, standard and Lipschitz,
attacked in both directions by PGD on its score, and certified where its score has a provable constant.

One run is one data set, normal class and seed at a profile's budget (:class:`AttackSpec`,
:class:`AttackBudget`); its record lives in ``results/attacks/<profile>/attacks-<dataset>-c<class>-s<seed>.json``.
The book executes the chapter on MNIST, which calls :func:`run_attacks` itself; a run on the other
data set is saved once (``python -m adlip study attacks --profile quick``, or the chapter executed with
``save_results``) and committed, and the chapter renders it with :mod:`adlip.views.attacks`.

A record is ``{chapter, profile, dataset, normal_class, seed, budget (the adlip profile's), results,
provenance}``; ``results`` holds the study's ``budget``, and per detector (keyed by its name in
:data:`LINEUP`) its ``detectors`` entry (network constant ``k``, score constant, clean ROC-AUC,
training time, range ``width``), its attack ``curves`` per norm and, for scores with a constant, its
``certificates``.
"""
from __future__ import annotations

import inspect
import tempfile
import time
from dataclasses import dataclass, fields, replace

import numpy as np

from adlip import robustness
from adlip.data import one_vs_rest
from adlip.detectors.registry import get_algorithm
from adlip.metrics import lipschitz_gradient_ascent, roc_auc
from adlip.profiles import get_profile
from adlip.records import _jsonable, provenance
from adlip.reference import thesis_chosen_constant
from adlip.studies.base import Study, StudyBudget, TaskRun
from adlip.studies.hkr import HKRBudget
from adlip.studies.wording import size

CHAPTER = "16_attacks_and_certificates"   # the chapter that renders the records (each record names it)
TABLE_RADII = (0.01, 0.1)                 # the certificate table's radii (range units)
SPLIT_SEED = 1234                         # the thesis's subsets of training and test images


def _radii(largest: float, count: int) -> tuple:
    """0, then ``count`` radii spaced geometrically from 1e-3 to ``largest`` (range units)."""
    return tuple(float(r) for r in np.r_[0, np.geomspace(1e-3, largest, count)])


def _numbers(values) -> str:
    return ", ".join(f"{value:g}" for value in values)


@dataclass(frozen=True)
class AttackBudget(StudyBudget):
    """What one attacks run costs under a profile, on one data set.

    From the adlip profile for the data set: ``epochs_scale``, ``test_size`` (test images for the
    clean ROC-AUC), AnoGAN's ``latent_steps`` and ``gan_orthogonalization``, and the gradient-ascent
    budget (``ascent_starts``, ``ascent_steps``) that measures each certified score's slope. The
    study's own: ``train_size`` training images (None: the normal class's whole training set; never
    more than the profile gives the data set: 1000 for CIFAR-10 at quick), ``attacked`` normal and as
    many anomalous test images attacked with ``steps`` PGD steps at the budgets ``l2`` and ``linf``
    (range units), the certified ``radii``. AnoGAN, whose every score is a latent search, gets a
    smaller share of everything: ``anogan_train`` training images (``anogan_train_scores`` of them
    scored for its threshold), ``anogan_test`` test images for its clean ROC-AUC, ``anogan_attacked``
    images per label, ``anogan_steps`` steps and the budgets ``anogan_l2``, ``anogan_linf``;
    ``anogan_lipschitz`` False leaves the Lipschitz AnoGAN out (at smoke its large dense generator
    alone takes longer than the whole smoke budget).
    """

    dataset: str
    epochs_scale: float
    test_size: int | None
    latent_steps: int
    gan_orthogonalization: str
    ascent_starts: int | None   # None: a record saved before the study measured slopes
    ascent_steps: int | None
    train_size: int | None
    attacked: int
    steps: int
    l2: tuple
    linf: tuple
    radii: tuple
    anogan_lipschitz: bool
    anogan_train: int | None
    anogan_train_scores: int
    anogan_test: int
    anogan_attacked: int
    anogan_steps: int
    anogan_l2: tuple
    anogan_linf: tuple

    # The quick profile's whole class does not fit the chapter's CPU budget: 2000 training images.
    PER_PROFILE = {
        "smoke": dict(train_size=256, attacked=24, steps=3, l2=(0.0, 0.5, 2.0), linf=(0.0, 0.02, 0.1),
                      radii=_radii(2, 8), anogan_lipschitz=False, anogan_train=256, anogan_train_scores=32,
                      anogan_test=50, anogan_attacked=4, anogan_steps=2, anogan_l2=(0.0, 2.0),
                      anogan_linf=(0.0, 0.1)),
        "quick": dict(train_size=2000, attacked=100, steps=10, l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                      linf=(0.0, 0.01, 0.02, 0.05, 0.1), radii=_radii(4, 40), anogan_lipschitz=True,
                      anogan_train=2000, anogan_train_scores=100, anogan_test=60, anogan_attacked=10,
                      anogan_steps=5, anogan_l2=(0.0, 1.0, 4.0), anogan_linf=(0.0, 0.02, 0.1)),
        "full": dict(train_size=None, attacked=500, steps=50, l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                     linf=(0.0, 0.01, 0.02, 0.05, 0.1), radii=_radii(4, 80), anogan_lipschitz=True,
                     anogan_train=None, anogan_train_scores=500, anogan_test=1000, anogan_attacked=100,
                     anogan_steps=20, anogan_l2=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                     anogan_linf=(0.0, 0.01, 0.02, 0.05, 0.1)),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        """The fields the adlip profile (already resolved for the data set) sets."""
        return dict(epochs_scale=profile.epochs_scale, test_size=profile.test_size,
                    latent_steps=profile.latent_steps, gan_orthogonalization=profile.gan_orthogonalization,
                    ascent_starts=profile.ascent_starts, ascent_steps=profile.ascent_steps)

    @classmethod
    def resolve(cls, profile="quick", dataset: str = "mnist", **overrides) -> "AttackBudget":
        """The budget of a run on ``dataset`` under ``profile``; training sizes never exceed the
        profile's for that data set (CIFAR-10 has a smaller one)."""
        own = get_profile(profile, dataset=dataset)
        budget = super().resolve(own, dataset=dataset, **overrides)
        if own.train_size is None:
            return budget
        return replace(budget, **{key: min(getattr(budget, key) or own.train_size, own.train_size)
                                  for key in ("train_size", "anogan_train")})

    @classmethod
    def of_record(cls, record: dict) -> "AttackBudget":
        """The budget a record was made with: its ``results.budget`` over its profile's budget (records
        saved before this study lack the profile's fields there)."""
        values = {**record["budget"], **record["results"]["budget"], "profile": record["profile"]}
        if "ascent_starts" not in record["results"]["budget"]:   # saved by the chapter, before slopes were measured
            values.update(ascent_starts=None, ascent_steps=None)
        return cls(**{f.name: tuple(values[f.name]) if isinstance(values[f.name], list) else values[f.name]
                      for f in fields(cls)})

    def caption(self) -> str:
        """The whole budget in words, for the chapter's tables."""
        slopes = ("" if self.ascent_starts is None else f"; certified scores' slopes measured by gradient "
                  f"ascent ({self.ascent_starts} pairs, {self.ascent_steps} steps)")
        training = (f"Budget ({self.profile} profile, {self.dataset}): {size(self.train_size)} training images of "
                    f"the normal class, epochs scaled by {self.epochs_scale:g}, {size(self.test_size)} test images "
                    f"for the clean ROC-AUC")
        attacks = (f"{self.attacked} normal and {self.attacked} anomalous test images attacked with {self.steps} "
                   f"PGD steps at L2 budgets {_numbers(self.l2)} and Linf budgets {_numbers(self.linf)} (range "
                   f"units); certified radii from 0 to {max(self.radii):g} ({len(self.radii)} of them){slopes}")
        gan = (f"AnoGAN ({'standard and Lipschitz' if self.anogan_lipschitz else 'standard only'}, "
               f"{self.gan_orthogonalization} normalisation): {size(self.anogan_train)} training images "
               f"({self.anogan_train_scores} scored for its threshold), {self.latent_steps} latent-search steps per "
               f"score, clean ROC-AUC on {self.anogan_test} test images, {self.anogan_attacked} images per label "
               f"attacked with {self.anogan_steps} steps at L2 budgets {_numbers(self.anogan_l2)} and Linf budgets "
               f"{_numbers(self.anogan_linf)}")
        hkr = ", ".join(f"{key} {value}" for key, value in HKRBudget.resolve(self.profile).detector_options().items())
        return f"{training}; {attacks}. {gan}. The one-class HKR with its chapter's detector options: {hkr}."


@dataclass(frozen=True)
class AttackSpec(TaskRun):
    """One run of the study: a data set, its normal class, a seed, and the profile of the budget."""

    PREFIX = "attacks"


def record_file(spec: AttackSpec) -> str:
    """``attacks-<dataset>-c<class>-s<seed>.json`` (the profile is the folder)."""
    return f"{spec.run_id}.json"


# -- the detectors: one registered algorithm and a variant each ----------------------------------

FAMILY_TITLES = {"deepsvdd-oc": "Deep SVDD oc", "deepsvdd-sb": "Deep SVDD sb", "dcae": "DCAE", "anogan": "AnoGAN",
                 "hkr": "one-class HKR"}   # registry name -> the chapter's heading of its family


@dataclass(frozen=True)
class Attacked:
    """One detector of the study: its family (a registered algorithm) and variant (standard or Lipschitz).

    ``pretrained_by`` names the algorithm whose pretraining made this detector: the standard DCAE is
    the one that pretrained the standard Deep SVDD (read back from its pretraining cache), not a
    detector trained a second time.
    """

    algorithm: str
    lipschitz: bool
    pretrained_by: str | None = None

    @property
    def family(self) -> str:
        return FAMILY_TITLES[self.algorithm]

    @property
    def variant(self) -> str:
        return "Lipschitz" if self.lipschitz else "standard"

    @property
    def name(self) -> str:
        return f"{self.family}, {self.variant}"

    @property
    def scaling(self) -> str:
        """The ``one_vs_rest`` scaling of its images (the detector class's, through the registry)."""
        return get_algorithm(self.algorithm).scaling

    @property
    def searched(self) -> bool:
        """Whether every score is a latent search (AnoGAN), which gets the budget's ``anogan_`` share."""
        return self.algorithm == "anogan"

    def network_constant(self, dataset: str):
        """K of its network: None (standard), the registry's for detectors built with one (the one-class
        HKR), else the thesis's choice for experiment 2 (section 5.1.1)."""
        if not self.lipschitz:
            return None
        fixed = get_algorithm(self.algorithm).lipschitz
        return fixed if isinstance(fixed, float) else float(thesis_chosen_constant(dataset, self.algorithm))


LINEUP = (Attacked("deepsvdd-oc", False), Attacked("deepsvdd-sb", False), Attacked("deepsvdd-oc", True),
          Attacked("deepsvdd-sb", True), Attacked("dcae", False, pretrained_by="deepsvdd-oc"), Attacked("dcae", True),
          Attacked("anogan", False), Attacked("anogan", True), Attacked("hkr", True))
_BY_NAME = {entry.name: entry for entry in LINEUP}


def lineup(budget: AttackBudget) -> tuple:
    """The detectors a run at ``budget`` fits, in the book's order."""
    return tuple(entry for entry in LINEUP if budget.anogan_lipschitz or not (entry.searched and entry.lipschitz))


def entry_of(name: str) -> Attacked:
    """The lineup entry a record's detector name stands for."""
    if name not in _BY_NAME:
        raise ValueError(f"no detector {name!r} in the attacks study; its detectors are {sorted(_BY_NAME)}")
    return _BY_NAME[name]


def ordered(names) -> list:
    """``names`` (a record's detectors) in the lineup's order (records are written with sorted keys)."""
    return sorted(names, key=lambda name: LINEUP.index(entry_of(name)))


# -- one run --------------------------------------------------------------------------------------

def _detector_options(entry: Attacked, budget: AttackBudget, spec: AttackSpec, cache: str) -> dict:
    """The keyword arguments that build ``entry``'s detector at ``budget``."""
    options = dict(dataset=spec.dataset, seed=spec.seed, verbose=0, epochs_scale=budget.epochs_scale)
    if entry.algorithm == "hkr":   # the budget of its own chapter (a dense 1-Lipschitz network at quick)
        return dict(options, **HKRBudget.resolve(budget.profile).detector_options())
    options["lipschitz"] = entry.network_constant(spec.dataset)
    if entry.searched:
        return dict(options, latent_steps=budget.latent_steps, train_score_size=budget.anogan_train_scores,
                    orthogonalization=budget.gan_orthogonalization)
    if "pretrain_cache_dir" in inspect.signature(get_algorithm(entry.algorithm).detector_class).parameters:
        return dict(options, pretrain_cache_dir=cache)   # Deep SVDDs of one variant share a pretrained DCAE
    return options


def training_images(entry: Attacked, budget: AttackBudget, splits: dict) -> np.ndarray:
    """The training images of ``entry``: its scaling's, AnoGAN's the first ``anogan_train``."""
    x = splits[entry.scaling].x_train
    return x[:budget.anogan_train] if entry.searched else x


def fit_detectors(spec: AttackSpec, budget: AttackBudget, splits: dict) -> tuple:
    """Fit the lineup in order; return ({name: fitted detector}, {name: training seconds})."""
    detectors, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="adlip-attacks-") as cache:
        for entry in lineup(budget):
            x = training_images(entry, budget, splits)
            if entry.pretrained_by is not None:   # its training time is in the pretrained detector's
                donor = detectors[Attacked(entry.pretrained_by, entry.lipschitz).name]
                detectors[entry.name] = donor.pretrained_dcae(x)   # a hit in the donor's pretraining cache
                continue
            started = time.perf_counter()
            detector = get_algorithm(entry.algorithm).factory(**_detector_options(entry, budget, spec, cache))
            detectors[entry.name] = detector.fit(x)
            seconds[entry.name] = time.perf_counter() - started
    return detectors, seconds


def attacked_sample(split, per_label: int, seed: int) -> tuple:
    """``per_label`` normal and as many anomalous test images of ``split``, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.choice(np.flatnonzero(split.y_test == label), per_label, replace=False)
                           for label in (0, 1)])
    return split.x_test[rows], split.y_test[rows]


@dataclass(frozen=True)
class Setting:
    """What one detector is attacked on: images, labels, the images' box and its width (one range unit)."""

    x: np.ndarray
    y: np.ndarray
    box: tuple
    width: float


def setting(entry: Attacked, budget: AttackBudget, split, seed: int) -> Setting:
    """``entry``'s attacked sample of ``split`` (its scaling's), in a box the width of its range units.

    Pixels in [-1, 1] (``tanh``) span two range units; the thesis's ``gcn`` images span one, their box
    being the range of all training and test images.
    """
    x, y = attacked_sample(split, budget.anogan_attacked if entry.searched else budget.attacked, seed)
    if entry.scaling == "tanh":
        return Setting(x, y, (-1.0, 1.0), 2.0)
    box = (float(min(split.x_train.min(), split.x_test.min())), float(max(split.x_train.max(), split.x_test.max())))
    return Setting(x, y, box, 1.0)


def clean_auc(detector, entry: Attacked, budget: AttackBudget, split, seed: int) -> float:
    """ROC-AUC on the test set (AnoGAN: ``anogan_test`` images drawn with ``seed``; each score is a search)."""
    rows = np.random.default_rng(seed).permutation(len(split.x_test))[:budget.anogan_test if entry.searched else None]
    return roc_auc(split.y_test[rows], detector.decision_function(split.x_test[rows]))


def attack_curves(detector, entry: Attacked, budget: AttackBudget, where: Setting, seed: int) -> dict:
    """{norm: attack curve as a dict} over the budget's epsilons (in range units, scaled by the width)."""
    prefix = "anogan_" if entry.searched else ""
    return {norm: robustness.attack_curve(detector, where.x, where.y, np.asarray(getattr(budget, prefix + norm))
                                          * where.width, norm=norm, steps=getattr(budget, prefix + "steps"),
                                          domain=where.box, seed=seed).to_dict()
            for norm in robustness.NORMS}


def certificate_summary(detector, budget: AttackBudget, where: Setting, seed: int) -> dict:
    """Certificates of the attacked images: the constant used and a slope measured below it, the clean
    accuracy, the correctly classified images' radii (range units), certified accuracy and ROC-AUC."""
    certificate = robustness.certify(detector, where.x)
    correct = certificate.predictions == where.y
    radius = certificate.radius[correct] / where.width
    radii, table_radii = np.asarray(budget.radii) * where.width, np.asarray(TABLE_RADII) * where.width
    measured = lipschitz_gradient_ascent(robustness.score_function(detector, certified=True), where.x,
                                         starts=budget.ascent_starts, steps=budget.ascent_steps, seed=seed,
                                         domain=where.box)
    scores, threshold, constant = certificate.scores, certificate.threshold, certificate.lipschitz
    return dict(lipschitz=constant, measured_lipschitz=measured.value, accuracy_clean=correct.mean(),
                median_radius=np.median(radius), radius_90=np.quantile(radius, 0.9),
                accuracy=robustness.certified_accuracy(where.y, scores, threshold, constant, radii),
                auroc=robustness.certified_auroc_curve(where.y, scores, constant, radii),
                table_auroc=robustness.certified_auroc_curve(where.y, scores, constant, table_radii))


def splits_of(spec: AttackSpec, budget: AttackBudget) -> dict:
    """{scaling: one-vs-rest split} for the scalings the lineup uses, with the same subsets."""
    return {scaling: one_vs_rest(spec.dataset, spec.normal_class, scaling=scaling, train_size=budget.train_size,
                                 test_size=budget.test_size, seed=SPLIT_SEED)
            for scaling in dict.fromkeys(entry.scaling for entry in lineup(budget))}


def measure(detectors: dict, train_seconds: dict, spec: AttackSpec, budget: AttackBudget, splits: dict) -> dict:
    """The ``detectors``, ``curves`` and ``certificates`` parts of a record's results, plus ``attack_seconds``."""
    results = dict(detectors={}, curves={}, certificates={}, attack_seconds=0.0)
    for name, detector in detectors.items():
        entry = entry_of(name)
        split = splits[entry.scaling]
        where = setting(entry, budget, split, spec.seed)
        constant = robustness.score_lipschitz_constant(detector)
        results["detectors"][name] = dict(
            algorithm=entry.algorithm, variant=entry.variant, k=detector.lipschitz, constant=constant,
            clean_auc=clean_auc(detector, entry, budget, split, spec.seed), train_seconds=train_seconds.get(name),
            width=where.width)
        started = time.perf_counter()
        results["curves"][name] = attack_curves(detector, entry, budget, where, spec.seed)
        results["attack_seconds"] += time.perf_counter() - started
        if constant is not None:
            results["certificates"][name] = certificate_summary(detector, budget, where, spec.seed)
    return results


def run_attacks(spec: AttackSpec) -> dict:
    """Fit every detector of the lineup, attack it and certify it: one record (JSON-ready)."""
    started = time.perf_counter()
    budget = AttackBudget.resolve(spec.profile, spec.dataset)
    splits = splits_of(spec, budget)
    detectors, train_seconds = fit_detectors(spec, budget, splits)
    sizes = dict(n_train=len(splits["gcn"].x_train), n_test=len(splits["gcn"].x_test))
    results = dict(budget=dict(budget.to_dict(), **sizes), **measure(detectors, train_seconds, spec, budget, splits))
    results["seconds"] = time.perf_counter() - started
    return _jsonable(dict(chapter=CHAPTER, profile=budget.profile, dataset=spec.dataset,
                          normal_class=spec.normal_class, seed=spec.seed,
                          budget=get_profile(spec.profile, dataset=spec.dataset).to_dict(), results=results,
                          **provenance()))


def saved_record(spec: AttackSpec, results_dir="results") -> dict | None:
    """The committed record of ``spec``, or None if there is none."""
    return ATTACKS.saved(spec, results_dir)


def grid(profile: str) -> list:
    """The runs the chapter shows: normal class 0, seed 0, on MNIST and on CIFAR-10."""
    return [AttackSpec(dataset, 0, 0, get_profile(profile).name) for dataset in ("mnist", "cifar10")]


ATTACKS = Study(name="attacks", title="attacks on every detector's score, and certificates (chapter 16)",
                grid=grid, run=run_attacks, record_file=record_file, budget=AttackBudget.resolve, partial=True)
