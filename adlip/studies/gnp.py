"""Gradient-norm-preserving layers in the thesis's Lipschitz networks (book chapter 18).

Each run trains the Lipschitz DCAE and the Lipschitz one-class Deep SVDD twice on one one-vs-rest
task, at experiment 2's constants: with the thesis's leaky ReLU and max pooling, and with GroupSort2
and L2-norm pooling. It measures ROC-AUC and three estimates of each network's Lipschitz constant
(the random test-pair bound, gradient ascent, the product of the layers' norms). One record per
(data set, normal class, seed) in ``results/gnp/<profile>/``: the book executes the chapter on MNIST
and renders the committed CIFAR-10 record beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

from adlip import data, metrics
from adlip.detectors import DCAE, DeepSVDD
from adlip.profiles import Profile, get_profile
from adlip.records import _jsonable, provenance
from adlip.reference import thesis_chosen_constant
from adlip.studies.base import Study, StudyBudget, TaskRun

# The two kinds of layers each network is trained with (detector arguments).
VARIANTS = {"leaky ReLU + max pooling": {},
            "GroupSort2 + L2-norm pooling": dict(activation="groupsort2", pooling="l2norm")}
FAMILIES = {"DCAE": (DCAE, "dcae"), "Deep SVDD (one-class)": (DeepSVDD, "deepsvdd-oc")}
ESTIMATORS = ("test pairs", "gradient ascent", "upper bound")


@dataclass(frozen=True)
class GNPBudget(StudyBudget):
    """The profile's subsets and epochs scale for the data set, and the time per Lipschitz estimator."""

    dataset: str = "mnist"
    train_size: int | None = None
    test_size: int | None = None
    epochs_scale: float = 1.0
    seconds: float = 5.0      # per Lipschitz estimator (``metrics.compare_lipschitz_estimators``)

    PER_PROFILE = {"smoke": dict(seconds=0.5), "quick": dict(seconds=5.0), "full": dict(seconds=5.0)}

    @classmethod
    def from_profile(cls, profile: Profile) -> dict:
        return dict(train_size=profile.train_size, test_size=profile.test_size, epochs_scale=profile.epochs_scale)

    @classmethod
    def for_dataset(cls, profile, dataset: str, **overrides) -> "GNPBudget":
        """The budget of a run on ``dataset`` (CIFAR-10 has smaller subsets under ``quick``)."""
        return cls.resolve(get_profile(profile, dataset=dataset), dataset=dataset, **overrides)


def budget_text(dataset: str, normal_class: int, seed: int, profile: str, n_train: int, n_test: int,
                epochs_scale: float, seconds: float) -> str:
    """The budget of one run in a sentence (what the chapter's tables state)."""
    return (f"Profile `{profile}`: {dataset} normal class {normal_class}, {n_train} training images, {n_test} "
            f"test images, epochs scaled by {epochs_scale:g} of the thesis's schedules, seed {seed}; "
            f"{seconds:g} s per Lipschitz estimator.")


@dataclass(frozen=True)
class GNPRun(TaskRun):
    """One run of the study: a data set's one-vs-rest task under a profile."""

    seconds: float | None = None   # None: the budget's

    PREFIX = "gnp"

    @property
    def budget(self) -> GNPBudget:
        extra = {} if self.seconds is None else dict(seconds=self.seconds)
        return GNPBudget.for_dataset(self.profile, self.dataset, **extra)


def measure(detector, split, seconds: float, seed: int) -> dict:
    """ROC-AUC and the three Lipschitz estimates of one fitted detector."""
    inputs = detector.lipschitz_inputs(split.x_test, seed=seed)
    domain = (float(split.x_test.min()), float(split.x_test.max()))
    estimates = metrics.compare_lipschitz_estimators(detector.lipschitz_network, inputs, seconds=seconds,
                                                     domain=domain, seed=seed)
    auc = metrics.roc_auc(split.y_test, detector.decision_function(split.x_test))
    return dict(auc=auc, **{name: estimates[name] for name in ESTIMATORS})


def run_gnp(spec: GNPRun) -> dict:
    """Train and measure the four networks of one run; its record keeps one row per network."""
    budget = spec.budget
    split = data.one_vs_rest(spec.dataset, spec.normal_class, train_size=budget.train_size,
                             test_size=budget.test_size, seed=1234)
    rows = []
    for family, (detector_class, algorithm) in FAMILIES.items():
        k = float(thesis_chosen_constant(spec.dataset, algorithm))
        for variant, layers in VARIANTS.items():
            detector = detector_class(dataset=spec.dataset, lipschitz=k, seed=spec.seed, verbose=0,
                                      epochs_scale=budget.epochs_scale, **layers).fit(split.x_train)
            rows.append(dict(family=family, layers=variant, k=k, **measure(detector, split, budget.seconds, spec.seed)))
    chapter_budget = dict(n_train=len(split.x_train), n_test=len(split.x_test), epochs_scale=budget.epochs_scale,
                          seconds=budget.seconds)
    return dict(chapter="18_gnp_networks", profile=spec.profile, dataset=spec.dataset,
                normal_class=int(spec.normal_class), seed=int(spec.seed),
                budget=_jsonable(get_profile(spec.profile, dataset=spec.dataset).to_dict()),
                results=_jsonable(dict(rows=rows, chapter_budget=chapter_budget)), **provenance())


def grid(profile: str) -> list:
    """The runs the book shows: class 0 of MNIST and of CIFAR-10, seed 0."""
    return [GNPRun(dataset, 0, 0, get_profile(profile).name) for dataset in ("mnist", "cifar10")]


GNP = Study(name="gnp", title="Gradient-norm-preserving layers in the thesis's Lipschitz networks",
            grid=grid, run=run_gnp, record_file=lambda spec: f"{spec.run_id}.json", budget=GNPBudget.resolve)
