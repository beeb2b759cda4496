"""The one-class HKR chapter's studies: the MNIST table, one record per normal class and activation
(:data:`HKR`), and the two-dimensional toy data, trained in the chapter.

``python -m adlip study hkr --profile quick`` (or ``python -m adlip.studies.hkr --profile quick``)
writes the missing MNIST records under ``results/hkr/<profile>/``; :func:`mnist_runs` is what the
chapter calls.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from adlip.detectors.hkr import ACTIVATIONS, IMAGE_SCHEDULE, OneClassHKR
from adlip.experiments import fit_and_score
from adlip.metrics import certified_auroc
from adlip.profiles import get_profile
from adlip.reference.hkr import PAPER_MNIST_TABLE, PAPER_TOY_SETTINGS
from adlip.studies.base import Study, StudyBudget
from adlip.studies.wording import listed, plural, size

# The budget's fields that are OneClassHKR options for the MNIST table (None: the detector's default,
# which is the paper's Table 2 network).
DETECTOR_FIELDS = ("architecture", "width", "activation", "newton_steps")
ACTIVATION_NAMES = {"fullsort": "FullSort", "groupsort2": "GroupSort2"}


@dataclass(frozen=True)
class HKRBudget(StudyBudget):
    """What the chapter's runs cost at one profile: the MNIST table's detector and the toy study's knobs.

    MNIST: the profile gives the classes, the subset sizes, the epochs scale and the Lipschitz-bound
    budgets. "full" is the paper's setting (Table 2 network, 1000 epochs). Under "quick" the paper's
    network does not fit a CPU budget (one training step with its generation of negatives takes about
    a minute here), so the table uses a 1-Lipschitz dense network (784-128-128-128-128-1, FullSort as
    in Table 2) for 12 epochs, about 1.5 minutes of CPU per class. (GroupSort2 instead of FullSort
    cost 2 to 7 points of ROC-AUC on classes 5 and 8.)

    Toy data: points per data set, epochs (4 steps each at batch 256 for 1024 points), the width of
    the 2-w-w-w-w-1 network and the contour grid's resolution; "full" is the paper's (10 000 gradient
    steps, width 512, a 300 x 300 grid).
    """

    epochs_scale: float
    classes: tuple
    train_size: int | None
    test_size: int | None
    toy_points: int
    toy_epochs: int
    toy_width: int
    grid: int
    architecture: str | None = None
    width: int | None = None
    activation: str | None = None
    newton_steps: int | None = None

    PER_PROFILE: ClassVar[dict] = {
        "smoke": dict(architecture="dense", width=32, activation="fullsort", newton_steps=4,
                      toy_points=256, toy_epochs=3, toy_width=16, grid=60),
        "quick": dict(architecture="dense", width=128, activation="fullsort", newton_steps=16, epochs_scale=0.012,
                      toy_points=1024, toy_epochs=150, toy_width=64, grid=200),
        "full": dict(toy_points=1024, toy_epochs=2500, toy_width=512, grid=300),
    }

    @classmethod
    def from_profile(cls, profile) -> dict:
        return dict(epochs_scale=profile.epochs_scale, classes=tuple(profile.classes),
                    train_size=profile.train_size, test_size=profile.test_size)

    def detector_options(self) -> dict:
        """OneClassHKR's options for the MNIST table (the options a record's ``config`` holds)."""
        return dict(epochs_scale=self.epochs_scale,
                    **{name: getattr(self, name) for name in DETECTOR_FIELDS if getattr(self, name) is not None})

    @property
    def epochs(self) -> int:
        return IMAGE_SCHEDULE.scaled(self.epochs_scale).total_epochs

    def caption(self) -> str:
        options = OneClassHKR(**self.detector_options())
        if self.architecture is None:
            network = "the paper's convolutional network (its Table 2)"
        else:
            width = options.resolved_width()
            network = (f"a 1-Lipschitz {options.resolved_architecture()} 784-{'-'.join([str(width)] * 4)}-1 "
                       f"network with {ACTIVATION_NAMES[options.resolved_activation()]}")
        return (f"Budget ({self.profile} profile). MNIST one-vs-rest: normal classes {listed(self.classes)}, "
                f"{size(self.train_size)} training images of the normal class, {size(self.test_size)} test images; "
                f"{network}; {plural(self.epochs, 'training epoch')} (the first against uniform noise), batch "
                f"{IMAGE_SCHEDULE.batch_size}, Adam at {IMAGE_SCHEDULE.phases[0][1]:g}; Newton steps "
                f"T = {options.newton_steps}; one seed. Toy data: {self.toy_points} points per set, "
                f"{plural(self.toy_epochs, 'training epoch')}, a 2-{'-'.join([str(self.toy_width)] * 4)}-1 "
                f"GroupSort2 network, a {self.grid} x {self.grid} grid.")


# The detector options per profile as a plain dict, for the chapters that read them this way (chapter
# 16, until it takes HKRBudget.resolve(profile).detector_options()).
MNIST_BUDGETS = {name: {key: value for key, value in fields.items() if key in DETECTOR_FIELDS + ("epochs_scale",)}
                 for name, fields in HKRBudget.PER_PROFILE.items()}
CERTIFIED_RADII = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)   # L2 radii in [-1, 1] pixel units
SYNTHESIS = dict(n_samples=10, steps=64, seed=0)                   # the paper's Figure 2: T = 64, eta = 1
HISTOGRAM_BINS = 40
# The MNIST table's activations: the chapter's name -> the activation that replaces the budget's (None: keep it).
MNIST_ACTIVATIONS = {"FullSort": None, "GroupSort2": "groupsort2"}


def mnist_run_id(normal_class: int, seed: int, activation=None) -> str:
    """``hkr-mnist-c<k>-s<seed>``, with ``-<activation>`` when it replaces the budget's."""
    return f"hkr-mnist-c{normal_class}-s{seed}" + (f"-{activation}" if activation else "")


def _histograms(groups: dict) -> dict:
    """Counts of f per group on one shared set of bins (the paper's Figure 5)."""
    values = np.concatenate(list(groups.values()))
    edges = np.linspace(values.min(), values.max(), HISTOGRAM_BINS + 1)
    return {"edges": edges.tolist(), **{name: np.histogram(v, edges)[0].tolist() for name, v in groups.items()}}


def run_mnist_class(normal_class: int, profile: str = "quick", seed: int = 0, activation=None, data_dir=None,
                    verbose: int = 0) -> dict:
    """Train and measure one MNIST one-vs-rest task at ``profile``'s budget; return its result record.

    ``activation`` None keeps the budget's (:class:`HKRBudget`), otherwise replaces it.

    The record has the fields of ``adlip.experiments.run_one``'s records (``experiment`` "hkr",
    ``algorithm`` "hkr", ``lipschitz`` 1.0) plus ``certified_auroc`` (pairs ``[eps, AUROC]`` over
    :data:`CERTIFIED_RADII`), ``f_histogram`` (f on the training images, the normal and the
    anomalous test images) and ``generated`` (Algorithm 1 from uniform noise with T = 64 and
    eta = 1 towards ``f = 2 m``, as uint8 images).
    """
    from adlip import metrics
    from adlip.data import one_vs_rest
    from adlip.records import provenance

    budget = get_profile(profile)
    options = HKRBudget.resolve(budget).detector_options()
    if activation is not None:
        options["activation"] = activation
    split = one_vs_rest("mnist", normal_class, scaling="tanh", train_size=budget.train_size,
                        test_size=budget.test_size, seed=1234, data_dir=data_dir)
    detector = OneClassHKR(seed=seed, verbose=verbose, **options)
    scores, train_seconds, score_seconds = fit_and_score(detector, split)
    normal, anomalous = scores[split.y_test == 0], scores[split.y_test == 1]
    network, x_test = detector.lipschitz_network, detector.lipschitz_inputs(split.x_test)
    bound = metrics.lipschitz_lower_bound(network, x_test, seed=seed, **budget.lipschitz_budget())
    ascent = metrics.lipschitz_gradient_ascent(network, x_test, starts=budget.ascent_starts,
                                               steps=budget.ascent_steps, seed=seed)
    generated = detector.generate(SYNTHESIS["n_samples"], steps=SYNTHESIS["steps"], seed=SYNTHESIS["seed"])
    return dict(
        run_id=mnist_run_id(normal_class, seed, activation), experiment="hkr", profile=budget.name, algorithm="hkr",
        dataset="mnist", normal_class=int(normal_class), lipschitz=1.0, seed=seed,
        epochs=detector.epochs_trained_, auc=metrics.roc_auc(split.y_test, scores),
        certified_auroc=[[eps, certified_auroc(normal, anomalous, eps)] for eps in CERTIFIED_RADII],
        lip_lower_bound=bound.value, lip_sigma=bound.sigma, lip_gradient_ascent=ascent.value,
        train_seconds=train_seconds, score_seconds=score_seconds,
        n_train=int(split.info["n_train"]), n_test=int(split.info["n_test"]),
        margin=detector.margin_, warmup_epochs=detector.warmup_epochs_,
        history={k: [float(v) for v in values] for k, values in detector.history_.items()},
        f_histogram=_histograms({"train": -detector.decision_scores_, "test normal": -normal,
                                 "test anomalous": -anomalous}),
        generated=np.round((generated[..., 0] + 1) * 127.5).clip(0, 255).astype(int).tolist(),
        status="ok", error=None, config=dict(options, scaling="tanh", seed=seed),
        profile_budget=budget.to_dict(), **provenance())


@dataclass(frozen=True)
class HKRRun:
    """One record of the MNIST table: a normal class, a seed, and the activation if it replaces the budget's."""

    profile: str
    normal_class: int
    seed: int = 0
    activation: str | None = None

    @property
    def run_id(self) -> str:
        return mnist_run_id(self.normal_class, self.seed, self.activation)


def mnist_grid(profile: str, seed: int = 0, classes=None, activations=tuple(MNIST_ACTIVATIONS.values())) -> list:
    """The MNIST table's runs: every class (default the profile's) with every activation."""
    budget = HKRBudget.resolve(profile)
    classes = budget.classes if classes is None else tuple(classes)
    return [HKRRun(budget.profile, int(normal_class), seed, activation)
            for activation in activations for normal_class in classes]


HKR = Study(
    name="hkr", title="One-class HKR on MNIST, one record per normal class and activation (chapter 13)",
    grid=mnist_grid,
    run=lambda spec: run_mnist_class(spec.normal_class, spec.profile, spec.seed, spec.activation),
    record_file=lambda spec: f"{mnist_run_id(spec.normal_class, spec.seed, spec.activation)}.jsonl",
    budget=HKRBudget.resolve, reference=lambda: PAPER_MNIST_TABLE)


def mnist_records(profile: str = "quick", seed: int = 0, classes=None, results_dir="results", run=None,
                  activation=None) -> list:
    """The MNIST records of one activation, ``results_dir/hkr/<profile>/<mnist_run_id>.jsonl``.

    :meth:`~adlip.studies.base.Study.records` of :data:`HKR` for ``classes`` (None: the profile's):
    ``run=None`` trains the missing classes only under the ``smoke`` profile and otherwise reads the
    committed records, ``run=True`` trains whatever is missing, ``run=False`` never trains.
    ``activation`` replaces the budget's (records of their own).
    """
    specs = mnist_grid(profile, seed, classes, activations=(activation,))
    return HKR.records(profile, results_dir, run=run, specs=specs)


def mnist_runs(profile: str = "quick", seed: int = 0, results_dir="results", run=None) -> dict:
    """The chapter's MNIST table: {activation name: its records in class order} for :data:`MNIST_ACTIVATIONS`."""
    return {name: sorted(mnist_records(profile, seed, results_dir=results_dir, run=run, activation=activation),
                         key=lambda r: r["normal_class"])
            for name, activation in MNIST_ACTIVATIONS.items()}


# -- reading the MNIST records --------------------------------------------------------------------

def share_above(record: dict, group: str, threshold: float = 0.0) -> float:
    """The fraction of a histogram group whose bin lies above ``threshold`` (bins are narrow)."""
    histogram = record["f_histogram"]
    centres = np.convolve(histogram["edges"], [0.5, 0.5], mode="valid")
    counts = np.asarray(histogram[group], dtype=float)
    return counts[centres > threshold].sum() / counts.sum()


def last_epoch_mean(run: list, key: str) -> float:
    """The mean over records of a training-history value on the last epoch."""
    return np.mean([r["history"][key][-1] for r in run])


def synthesis_distances(records: list) -> dict:
    """How far Algorithm 1 moved the starting noise of :data:`SYNTHESIS`: its L2 norm, then the median
    and largest distance between a generated image and its start (the noise is rebuilt from the seed)."""
    import tensorflow as tf

    start = tf.random.Generator.from_seed(SYNTHESIS["seed"]).uniform(
        (SYNTHESIS["n_samples"], 28, 28, 1), -1.0, 1.0).numpy()[..., 0]
    moved = [np.linalg.norm((np.asarray(r["generated"]) / 127.5 - 1 - start).reshape(len(start), -1), axis=1)
             for r in records]
    return {"noise": np.linalg.norm(start.reshape(len(start), -1), axis=1).mean(),
            "median": np.median(moved), "largest": np.max(moved)}


def mean_certified(runs: dict) -> tuple:
    """The certified ROC-AUC radii and, per activation, its mean curve over the classes (percent)."""
    radii = np.asarray(next(iter(runs.values()))[0]["certified_auroc"])[:, 0]
    return radii, {name: 100 * np.mean([np.asarray(r["certified_auroc"])[:, 1] for r in run], axis=0)
                   for name, run in runs.items()}


# -- the two-dimensional toy data -----------------------------------------------------------------

def toy_sets(n: int, random_state: int) -> dict:
    """The paper's Figure 1 data: two moons, two circles and two blobs of ``n`` points, standardised."""
    from sklearn.datasets import make_blobs, make_circles, make_moons
    from sklearn.preprocessing import StandardScaler

    sets = {
        "two moons": make_moons(n, noise=0.05, random_state=random_state)[0],
        "two circles": make_circles(n, noise=0.05, factor=0.5, random_state=random_state)[0],
        "two blobs": make_blobs(n, centers=[[-2, -2], [2, 2]], cluster_std=0.5, random_state=random_state)[0],
    }
    return {name: StandardScaler().fit_transform(x).astype(np.float32) for name, x in sets.items()}


def fit_toy_models(toy: dict, budget: HKRBudget, seed: int = 0) -> tuple:
    """Fit OneClassHKR (the paper's toy settings at ``budget``), a one-class SVM and an Isolation Forest
    (the paper's baseline settings) on every toy set: ({set: {method: model}}, {set: seconds})."""
    from sklearn.ensemble import IsolationForest
    from sklearn.svm import OneClassSVM

    settings = dict(dataset="tabular", width=budget.toy_width, margin=PAPER_TOY_SETTINGS["margin"],
                    hkr_lambda=PAPER_TOY_SETTINGS["hkr_lambda"], newton_steps=PAPER_TOY_SETTINGS["newton_steps"],
                    schedule=dict(phases=[[budget.toy_epochs, 1e-3]], batch_size=256), seed=seed, verbose=0)
    models, seconds = {}, {}
    for name, x in toy.items():
        started = time.perf_counter()
        models[name] = {
            "one-class HKR": OneClassHKR(**settings).fit(x),
            "one-class SVM": OneClassSVM(kernel="rbf", nu=0.05, gamma=0.5).fit(x),
            "Isolation Forest": IsolationForest(contamination=0.05, random_state=seed).fit(x),
        }
        seconds[name] = time.perf_counter() - started
    return models, seconds


def normality(model, points) -> np.ndarray:
    """Higher inside the normal data: f for the HKR classifier, scikit-learn's decision_function otherwise."""
    if isinstance(model, OneClassHKR):
        return model.classifier_output(points)
    return model.decision_function(points)


def toy_surfaces(toy_models: dict, resolution: int, extent: float = 3.0) -> dict:
    """Every toy model's :func:`normality` on a ``resolution`` x ``resolution`` grid over [-extent, extent]^2:
    ``side`` (the grid's coordinates), ``xs`` and ``ys`` (its mesh) and ``values`` {set: {method: array}}."""
    side = np.linspace(-extent, extent, resolution)
    xs, ys = np.meshgrid(side, side)
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    values = {name: {method: normality(model, grid).reshape(xs.shape) for method, model in by_method.items()}
              for name, by_method in toy_models.items()}
    return dict(side=side, xs=xs, ys=ys, values=values)


def far_gradient_norms(toy: dict, surfaces: dict) -> dict:
    """{set: {method: median gradient norm}} over the grid points farther than 1 from every fourth
    training point (finite differences on the grid; a signed distance has 1)."""
    side, xs, ys = surfaces["side"], surfaces["xs"], surfaces["ys"]
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    norms = {}
    for name, x in toy.items():
        nearest = np.min(np.linalg.norm(grid[:, None, :] - x[None, ::4, :], axis=2), axis=1)
        far = nearest.reshape(xs.shape) > 1.0
        norms[name] = {}
        for method, values in surfaces["values"][name].items():
            d_rows, d_cols = np.gradient(values, side[1] - side[0])
            norms[name][method] = np.median(np.hypot(d_rows, d_cols)[far])
    return norms


def algorithm1_walks(model: OneClassHKR, seed: int = 0, n: int = 400) -> dict:
    """Algorithm 1 on a toy classifier from ``n`` points of uniform noise: the noise, the negatives training
    sees (random rate, f = -m, T = 4) and the synthesis setting (rate 1, f = 2m, T = 64)."""
    noise = np.random.default_rng(seed).uniform(-5, 5, (n, 2)).astype(np.float32)
    return {
        "uniform noise $z_0$": noise,
        "negatives: $f = -m$, random $\\eta$, T = 4": model.generate(
            start=noise, level=-model.margin_, steps=4, random_rate=True, seed=seed),
        "synthesis: $f = 2m$, $\\eta = 1$, T = 64": model.generate(start=noise, steps=64),
    }


def main(argv=None) -> int:
    """``python -m adlip.studies.hkr --profile quick [--classes 0 1] [--seed 0] [--activation groupsort2]``:
    write the missing MNIST records."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--classes", type=int, nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--activation", choices=ACTIVATIONS, help="replace the budget's activation")
    args = parser.parse_args(argv)
    for normal_class in get_profile(args.profile).classes if args.classes is None else args.classes:
        [record] = mnist_records(args.profile, args.seed, [normal_class], args.results_dir, run=True,
                                 activation=args.activation)
        print(f"class {record['normal_class']}: AUC {100 * record['auc']:.2f} "
              f"(paper {PAPER_MNIST_TABLE['hkr_auc'][record['normal_class']]:.2f}), "
              f"lower bound {record['lip_lower_bound']:.3f}, gradient ascent {record['lip_gradient_ascent']:.3f}, "
              f"{record['train_seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
