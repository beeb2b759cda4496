"""The robust Real NVP chapter's studies: the contaminated one-vs-rest runs on MNIST and CIFAR-10
(:data:`REALNVP`, one record per class, contamination kind and variant), and the two-moons toy
problem, trained in the chapter, for the three variants of Liu, Tan and Zhou (2022).

``python -m adlip study realnvp --profile quick`` writes the missing image records under
``results/realnvp/<profile>/``; :func:`contaminated_records` is what the chapter calls.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from adlip.data import contaminated_one_vs_rest, two_moons
from adlip.detectors.base import Schedule
from adlip.detectors.realnvp import RobustRealNVP, trimmed_negative_log_likelihood
from adlip.metrics import lipschitz_gradient_ascent, lipschitz_lower_bound, roc_auc
from adlip.profiles import get_profile
from adlip.reference.realnvp import PAPER_CIFAR10_AUC
from adlip.studies.base import Study, StudyBudget
from adlip.studies.wording import listed, plural, size

DEFAULT_LIPSCHITZ = inspect.signature(RobustRealNVP).parameters["lipschitz"].default   # K of RobustRealNVP
DEFAULT_ANOMALY_FRACTION = 0.1   # the paper's hidden anomalies in the image training sets
NETWORK_FIELDS = ("n_couplings", "hidden", "depth")
# The paper's three variants: whether each trims its batches and whether its coupling networks are K-Lipschitz.
VARIANTS = {
    "RealNVP": dict(trimmed=False, constrained=False),
    "TrimRealNVP": dict(trimmed=True, constrained=False),
    "RobustRealNVP": dict(trimmed=True, constrained=True),
}
IMAGE_RATE, IMAGE_BATCH, IMAGE_COMPONENTS = 1e-3, 256, 32
MOONS_RATE, MOONS_BATCH = 1e-3, 128


@dataclass(frozen=True)
class RealNVPBudget(StudyBudget):
    """What the chapter's runs cost at one profile.

    Two moons: epochs and training points. Images: epochs, the normal classes of MNIST and CIFAR-10,
    the kinds of contamination, a cap on the normal training images per class (None: all) and the
    profile's test set. The flow's size (None: the class's default; smoke shrinks it, since most of
    a tiny run is graph tracing).
    """

    test_size: int | None
    moons_epochs: int
    moons_points: int
    image_epochs: int
    mnist_classes: tuple
    cifar_classes: tuple
    kinds: tuple
    image_train_size: int | None
    n_couplings: int | None = None
    hidden: int | None = None
    depth: int | None = None

    PER_PROFILE: ClassVar[dict] = {
        "smoke": dict(moons_epochs=1, moons_points=256, image_epochs=1, mnist_classes=(0,), cifar_classes=(),
                      kinds=("uniform",), image_train_size=256, n_couplings=2, hidden=16, depth=2),
        "quick": dict(moons_epochs=30, moons_points=1000, image_epochs=10, mnist_classes=(0, 1), cifar_classes=(0,),
                      kinds=("uniform", "clustered"), image_train_size=2000),
        "full": dict(moons_epochs=100, moons_points=1000, image_epochs=100, mnist_classes=tuple(range(10)),
                     cifar_classes=tuple(range(10)), kinds=("uniform", "clustered"), image_train_size=None),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        return dict(test_size=profile.test_size)

    def network(self) -> dict:
        """The flow's size options that differ from RobustRealNVP's defaults."""
        return {name: getattr(self, name) for name in NETWORK_FIELDS if getattr(self, name) is not None}

    def classes(self, dataset: str) -> tuple:
        return {"mnist": self.mnist_classes, "cifar10": self.cifar_classes}[dataset]

    def caption(self) -> str:
        flow = RobustRealNVP(**self.network())
        cifar = f"CIFAR-10 classes {listed(self.cifar_classes)}" if self.cifar_classes else "no CIFAR-10 class"
        return (f"Budget ({self.profile} profile). Two moons: {self.moons_points} training points, "
                f"{plural(self.moons_epochs, 'epoch')} at learning rate {MOONS_RATE:g}, batch {MOONS_BATCH}. Images: "
                f"MNIST classes {listed(self.mnist_classes)} and {cifar}, {' and '.join(self.kinds)} contamination, "
                f"{size(self.image_train_size, 'at most ')} normal training images per class (plus the anomalies), "
                f"{size(self.test_size)} test images, PCA-{IMAGE_COMPONENTS} features, "
                f"{plural(self.image_epochs, 'epoch')} at learning rate {IMAGE_RATE:g}, batch {IMAGE_BATCH}. Flows: "
                f"{flow.n_couplings} couplings, {flow.hidden} hidden units, depth {flow.depth}; one seed.")


def make_detector(variant: str, epsilon: float, budget: RealNVPBudget, seed: int = 0,
                  lipschitz: float = DEFAULT_LIPSCHITZ, **settings) -> RobustRealNVP:
    """One of the paper's three variants at ``budget``'s size; ``epsilon`` is the trimmed fraction of the
    trimmed ones, ``lipschitz`` RobustRealNVP's K."""
    trimmed, constrained = VARIANTS[variant]["trimmed"], VARIANTS[variant]["constrained"]
    return RobustRealNVP(seed=seed, verbose=0, trim_fraction=epsilon if trimmed else 0.0,
                         lipschitz=lipschitz if constrained else None, **budget.network(), **settings)


# -- contaminated images: the study ----------------------------------------------------------------

@dataclass(frozen=True)
class RealNVPRun:
    """One contaminated one-vs-rest run: a data set, a normal class, a kind of contamination, a variant."""

    profile: str
    dataset: str
    normal_class: int
    kind: str
    variant: str
    seed: int = 0
    lipschitz: float = DEFAULT_LIPSCHITZ
    anomaly_fraction: float = DEFAULT_ANOMALY_FRACTION

    @property
    def run_id(self) -> str:
        """``realnvp-<dataset>-c<k>-<kind>-<variant>-s<seed>``, with ``-K<K>`` and ``-a<fraction>`` when
        they differ from the defaults."""
        return (f"realnvp-{self.dataset}-c{self.normal_class}-{self.kind}-{self.variant.lower()}-s{self.seed}"
                + ("" if self.lipschitz == DEFAULT_LIPSCHITZ else f"-K{self.lipschitz:g}")
                + ("" if self.anomaly_fraction == DEFAULT_ANOMALY_FRACTION else f"-a{self.anomaly_fraction:g}"))


def contaminated_grid(profile: str, datasets=("mnist", "cifar10"), seed: int = 0, lipschitz: float = DEFAULT_LIPSCHITZ,
                      anomaly_fraction: float = DEFAULT_ANOMALY_FRACTION) -> list:
    """Every (data set, normal class, kind, variant) of ``profile``'s budget."""
    budget = RealNVPBudget.resolve(profile)
    return [RealNVPRun(budget.profile, dataset, normal_class, kind, variant, seed, lipschitz, anomaly_fraction)
            for dataset in datasets for normal_class in budget.classes(dataset)
            for kind in budget.kinds for variant in VARIANTS]


def run_contaminated(spec: RealNVPRun) -> dict:
    """Train one variant on a training set with hidden anomalies; its test ROC-AUC as a record."""
    from adlip.records import provenance

    budget = RealNVPBudget.resolve(spec.profile)
    schedule = Schedule(((budget.image_epochs, IMAGE_RATE),), batch_size=IMAGE_BATCH)
    split = contaminated_one_vs_rest(spec.dataset, spec.normal_class, spec.anomaly_fraction, spec.kind,
                                     seed=spec.seed, train_size=budget.image_train_size, test_size=budget.test_size)
    started = time.perf_counter()
    model = make_detector(spec.variant, spec.anomaly_fraction, budget, spec.seed, spec.lipschitz,
                          dataset=spec.dataset, n_components=IMAGE_COMPONENTS, schedule=schedule).fit(split.x_train)
    auc = roc_auc(split.y_test, model.decision_function(split.x_test))
    return dict(run_id=spec.run_id, experiment="realnvp", algorithm="realnvp", profile=budget.profile,
                dataset=spec.dataset, normal_class=spec.normal_class, kind=spec.kind, variant=spec.variant,
                seed=spec.seed, lipschitz=model.lipschitz, trim_fraction=model.trim_fraction,
                anomaly_fraction=spec.anomaly_fraction, auc=auc, seconds=time.perf_counter() - started,
                n_train=len(split.x_train), n_test=len(split.x_test), status="ok", error=None,
                budget=budget.to_dict(), **provenance())


REALNVP = Study(
    name="realnvp", title="RobustRealNVP and its two ablations on contaminated MNIST and CIFAR-10 (chapter 15)",
    grid=contaminated_grid, run=run_contaminated, record_file=lambda spec: f"{spec.run_id}.jsonl",
    budget=RealNVPBudget.resolve, reference=lambda: PAPER_CIFAR10_AUC)


def contaminated_records(profile: str, dataset: str, seed: int = 0, lipschitz: float = DEFAULT_LIPSCHITZ,
                         anomaly_fraction: float = DEFAULT_ANOMALY_FRACTION, results_dir="results", run=None) -> list:
    """The records of one data set's runs (:meth:`~adlip.studies.base.Study.records` of :data:`REALNVP`)."""
    specs = contaminated_grid(profile, (dataset,), seed, lipschitz, anomaly_fraction)
    return REALNVP.records(profile, results_dir, run=run, specs=specs)


# -- two moons, trained in the chapter --------------------------------------------------------------

def fit_moons(budget: RealNVPBudget, seed: int = 0, lipschitz: float = DEFAULT_LIPSCHITZ) -> tuple:
    """The contaminated two moons (5% anomalies of each kind), fresh test sets with 10%, and every variant
    fitted on each: (moons, test sets, {(kind, variant): model}, {(kind, variant): seconds})."""
    settings = dict(dataset="tabular", schedule=Schedule(((budget.moons_epochs, MOONS_RATE),), batch_size=MOONS_BATCH))
    moons = {kind: two_moons(budget.moons_points, 0.05, kind, seed=seed) for kind in ("uniform", "clustered")}
    tests = {kind: two_moons(2000, 0.1, kind, seed=seed + 1) for kind in moons}
    models, seconds = {}, {}
    for kind, (x, _) in moons.items():
        for variant in VARIANTS:
            started = time.perf_counter()
            models[kind, variant] = make_detector(variant, 0.05, budget, seed, lipschitz, **settings).fit(x)
            seconds[kind, variant] = time.perf_counter() - started
    return moons, tests, models, seconds


def moons_log_densities(models: dict, kind: str) -> tuple:
    """Each variant's log-density on a 200 x 200 grid around the moons: (xs, ys, {variant: values})."""
    xs, ys = np.meshgrid(np.linspace(-1.6, 2.6, 200), np.linspace(-1.1, 1.6, 200))
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    return xs, ys, {variant: models[kind, variant].score_samples(grid).reshape(xs.shape) for variant in VARIANTS}


def moons_scores(moons: dict, tests: dict, models: dict, seconds: dict) -> list:
    """Per (kind, variant): the test ROC-AUC, the training ROC-AUC and the training seconds."""
    rows = []
    for (kind, variant), model in models.items():
        x_test, y_test = tests[kind]
        rows.append(dict(kind=kind, variant=variant, test_auc=roc_auc(y_test, model.decision_function(x_test)),
                         train_auc=roc_auc(moons[kind][1], model.decision_scores_), seconds=seconds[kind, variant]))
    return rows


def coupling_bounds(model: RobustRealNVP, x: np.ndarray, profile: str, seed: int = 0) -> list:
    """Per coupling network of ``model``: both lower bounds on the inputs it receives for ``x``, and the
    product of its layers' spectral norms (the certified upper bound)."""
    budget = get_profile(profile)
    rows = []
    for network, inputs in zip(model.coupling_networks_, model.conditioner_inputs(x)):
        pairs = lipschitz_lower_bound(network, inputs, rounds=budget.lip_rounds, pairs_per_round=20_000, seed=seed)
        ascent = lipschitz_gradient_ascent(network, inputs, starts=budget.ascent_starts,
                                           steps=budget.ascent_steps, seed=seed)
        upper = np.prod([np.linalg.svd(w, compute_uv=False)[0] for w in network.get_weights() if w.ndim == 2])
        rows.append(dict(pairs=pairs.value, ascent=ascent.value, upper=upper))
    return rows


def trimmed_gradient(fraction: float = 0.2, n: int = 10) -> tuple:
    """``n`` made-up log-densities from -5 to 0 and the gradient of the trimmed loss with respect to them."""
    import tensorflow as tf

    log_density = tf.Variable(np.linspace(-5.0, 0.0, n, dtype=np.float32))
    with tf.GradientTape() as tape:
        trimmed = trimmed_negative_log_likelihood(log_density, fraction)
    return log_density.numpy(), tape.gradient(trimmed, log_density).numpy()
